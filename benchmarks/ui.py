"""UI: how long the real window's event loop stalls while an answer streams and while a
library is indexed, against the same window at rest.

A child process builds the window as ``folio`` does (offscreen, a fresh FOLIO_HOME, the
starter models), and a 5 ms precise timer beats in the GUI thread throughout. A beat's stall is
how late it came: its interval less 5 ms. Three phases, in order:
1. rest: the window with both models loaded and nothing to do (the reference: what the event
   loop and the machine cost on their own);
2. streaming: a question sent through the chat, until its answer has finished streaming;
3. indexing: the same share of the evaluation folder as the ingest benchmark, added to the
   library, until indexing finishes.

    python -m benchmarks.ui [--pages 160] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DEFAULT_PDFS,
    REPO,
    BenchResult,
    Goal,
    ReferenceUnavailableError,
    percentile,
    print_result,
)

BEAT_MS = 5
REST_S = 4.0
P99_GOAL_MS = 16.0
MAX_GOAL_MS = 50.0
SAMPLE_PAGES = 160
QUESTION = "Write a long story about a lighthouse keeper, a storm and a ship that lost its way."


def child(report: Path, pdfs: list[Path], vectors_apart: bool = True) -> int:
    """Runs in the child process: the window, the heartbeat, the three phases."""
    from PySide6.QtCore import QObject, Qt, QTimer, Slot
    from PySide6.QtWidgets import QApplication

    from desktop.core.chat.store import ConversationStore
    from desktop.core.llm.engine import ChatEngine
    from desktop.core.paths import app_paths
    from desktop.core.settings.schema import Settings
    from desktop.ui.appearance import apply_appearance
    from desktop.ui.application import configure_application
    from desktop.ui.library.service import LibraryService
    from desktop.ui.main_window import MainWindow

    paths = app_paths().ensure()
    app = QApplication(sys.argv)
    configure_application(app, paths)
    settings = Settings()
    apply_appearance(app, settings.appearance)
    store = ConversationStore(paths.conversations_db)
    engine = ChatEngine()
    library = LibraryService(paths, vectors_apart=vectors_apart)
    window = MainWindow(paths, settings, store, engine, library)
    window.resize(1200, 760)
    window.show()

    class Driver(QObject):
        def __init__(self) -> None:
            super().__init__(window)
            self.phase = "loading"
            self.stalls: dict[str, list[float]] = {"rest": [], "streaming": [], "indexing": []}
            self.seconds: dict[str, float] = {}
            self.answer_chars = 0
            self.waiting = {"model", "library"}
            self.last_beat = time.perf_counter()
            self.phase_started = self.last_beat
            self.heartbeat = QTimer(self)
            self.heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
            self.heartbeat.setInterval(BEAT_MS)
            self.heartbeat.timeout.connect(self._on_beat)
            window.loader.loaded.connect(self._on_model_loaded)
            window.loader.failed.connect(self._on_failed)
            library.opened.connect(self._on_library_opened)
            library.open_failed.connect(self._on_failed)
            window.controller.stream_finished.connect(self._on_answer_finished)
            window.controller.stream_text.connect(self._on_answer_text)
            library.indexing_finished.connect(self._on_indexing_finished)

        @Slot()
        def _on_beat(self) -> None:
            now = time.perf_counter()
            stall_ms = (now - self.last_beat) * 1000 - BEAT_MS
            self.last_beat = now
            if self.phase in self.stalls:
                self.stalls[self.phase].append(max(0.0, stall_ms))

        def _enter(self, phase: str) -> None:
            now = time.perf_counter()
            if self.phase in self.stalls:
                self.seconds[self.phase] = now - self.phase_started
            self.phase = phase
            self.phase_started = now
            self.last_beat = now

        @Slot()
        def _on_model_loaded(self) -> None:
            self._ready("model")

        @Slot()
        def _on_library_opened(self) -> None:
            self._ready("library")

        def _ready(self, part: str) -> None:
            self.waiting.discard(part)
            if not self.waiting:
                self._enter("rest")
                self.heartbeat.start()
                QTimer.singleShot(int(REST_S * 1000), self._on_rest_over)

        @Slot(str)
        def _on_failed(self, message: str) -> None:
            self._finish({"error": message})

        @Slot()
        def _on_rest_over(self) -> None:
            self._enter("streaming")
            if not window.controller.send(QUESTION):
                self._finish({"error": "the chat did not take the question"})

        @Slot(str)
        def _on_answer_text(self, text: str) -> None:
            self.answer_chars += len(text)

        @Slot(object)
        def _on_answer_finished(self, _message: object) -> None:
            if self.phase != "streaming":
                return
            self._enter("indexing")
            library.add(pdfs)

        @Slot(bool)
        def _on_indexing_finished(self, _completed: bool) -> None:
            if self.phase == "indexing":
                self._enter("done")
                self._finish({})

        def _finish(self, extra: dict[str, Any]) -> None:
            self.heartbeat.stop()
            figures = {
                "stalls_ms": self.stalls,
                "seconds": self.seconds,
                "answer_chars": self.answer_chars,
                **extra,
            }
            report.write_text(json.dumps(figures), encoding="utf-8")
            QApplication.quit()

    driver = Driver()
    QTimer.singleShot(0, window.load_initial_model)
    QTimer.singleShot(0, functools.partial(library.open, None))
    try:
        app.exec()
    finally:
        del driver
        library.close()
        engine.close()
        store.close()
    return 0


def summary(stalls: list[float]) -> dict[str, float]:
    return {
        "beats": len(stalls),
        "p50_ms": round(percentile(stalls, 0.50), 2),
        "p99_ms": round(percentile(stalls, 0.99), 2),
        "max_ms": round(max(stalls, default=0.0), 2),
    }


def run(pdf_folder: Path = DEFAULT_PDFS, pages: int = SAMPLE_PAGES) -> BenchResult:
    from benchmarks.ingest import chosen_pdfs

    if not pdf_folder.is_dir() or not any(pdf_folder.glob("*.pdf")):
        raise ReferenceUnavailableError(f"no PDFs to index in {pdf_folder}")
    pdfs = chosen_pdfs(pdf_folder, pages)
    figures = _window_run(pdfs, vectors_apart=True)
    # The reference, in the same run: the vector store in the window's own process, as it was
    # before it moved out.
    reference = _window_run(pdfs, vectors_apart=False)
    phases = {name: summary(values) for name, values in figures["stalls_ms"].items()}
    for name, seconds in figures["seconds"].items():
        phases[name]["seconds"] = round(seconds, 1)
    vectors_here = summary(reference["stalls_ms"]["indexing"])
    vectors_here["seconds"] = round(reference["seconds"]["indexing"], 1)
    result = BenchResult("ui")
    result.figures = {
        "beat_ms": BEAT_MS,
        "documents": [path.name for path in pdfs],
        "answer_chars": figures["answer_chars"],
        "phases": phases,
        "indexing_with_vectors_in_the_window_process": vectors_here,
    }
    busy = ("streaming", "indexing")
    worst_p99 = max(phases[name]["p99_ms"] for name in busy)
    worst_max = max(phases[name]["max_ms"] for name in busy)
    rest_p99 = max(phases["rest"]["p99_ms"], 0.01)
    result.ratios = {f"{name}_p99_vs_rest": phases[name]["p99_ms"] / rest_p99 for name in busy}
    result.ratios["indexing_max_vs_vectors_in_the_window_process"] = phases["indexing"][
        "max_ms"
    ] / max(vectors_here["max_ms"], 0.01)
    # What the separate process costs: the time to index the same documents.
    result.ratios["indexing_seconds_vs_vectors_in_the_window_process"] = phases["indexing"][
        "seconds"
    ] / max(vectors_here["seconds"], 0.01)
    result.goals = {
        "p99_stall_ms": Goal(P99_GOAL_MS, worst_p99, "at_most"),
        "max_stall_ms": Goal(MAX_GOAL_MS, worst_max, "at_most"),
    }
    return result


def _window_run(pdfs: list[Path], vectors_apart: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="folio-bench-ui-") as scratch:
        report = Path(scratch) / "ui.json"
        environment = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "FOLIO_HOME": str(Path(scratch) / "home"),
        }
        where = "--vectors-apart" if vectors_apart else "--vectors-here"
        subprocess.run(
            [sys.executable, "-m", "benchmarks.ui", "--child", str(report), where]
            + [str(path) for path in pdfs],
            env=environment,
            cwd=REPO,
            check=True,
            timeout=1800,
        )
        figures: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    if "error" in figures:
        raise ReferenceUnavailableError(f"the window could not run the phases: {figures['error']}")
    return figures


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--child"]:
        return child(Path(argv[1]), [Path(path) for path in argv[3:]], argv[2] == "--vectors-apart")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=Path, default=DEFAULT_PDFS)
    parser.add_argument("--pages", type=int, default=SAMPLE_PAGES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return print_result("ui", lambda: run(args.pdfs, args.pages), args.json)


if __name__ == "__main__":
    sys.exit(main())
