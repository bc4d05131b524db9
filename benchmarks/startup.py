"""Startup: process start to the main window shown and taking input, and memory at rest.

Folio (``python -m desktop``, a fresh FOLIO_HOME, offscreen) is timed against the least a Qt
app can do: a process that imports PySide6 and shows an empty QMainWindow, interleaved. Memory
is the resident set when the window first takes input (no model yet) and once the starter chat
model and embedder have loaded.

With ``--frozen dist/folio/folio`` the frozen program (``packaging/build.py``) is timed against
this same checkout's Python install instead, interleaved: the ratio says what freezing costs
or saves at startup.

    python -m benchmarks.startup [--rounds 5] [--frozen PROGRAM] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, BenchResult, Goal, interleaved, median

BARE_QT = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.show()
def ready():
    print(time.time(), flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""

READY_GOAL_S = 1.0
IDLE_MEMORY_GOAL_MB = 250.0
FROZEN_RATIO_GOAL = 1.2
PYTHON_INSTALL = (sys.executable, "-m", "desktop")


def _environment(home: Path) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FOLIO_HOME": str(home)}


def folio_start(scratch: Path, command: tuple[str, ...] = PYTHON_INSTALL) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(dir=scratch))
    report = home / "startup.json"
    started = time.time()
    subprocess.run(
        list(command),
        env=_environment(home) | {"FOLIO_STARTUP_REPORT": str(report)},
        cwd=REPO,
        check=True,
        timeout=300,
        capture_output=True,
    )
    figures: dict[str, float] = json.loads(report.read_text(encoding="utf-8"))
    return {
        "ready_s": figures["ready_at"] - started,
        "loaded_s": figures["loaded_at"] - started,
        "rss_idle_mb": figures["rss_idle_bytes"] / 1e6,
        "rss_loaded_mb": figures["rss_loaded_bytes"] / 1e6,
    }


def bare_start(scratch: Path) -> float:
    started = time.time()
    shown = subprocess.run(
        [sys.executable, "-c", BARE_QT],
        env=_environment(scratch),
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return float(shown.stdout.split()[-1]) - started


def run(rounds: int = 5) -> BenchResult:
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        # The first start converts the starter embedder into the shared cache of that home;
        # each round has its own home, so warm the file system once, untimed.
        folio_start(scratch)
        samples: list[dict[str, float]] = []

        def folio() -> float:
            samples.append(folio_start(scratch))
            return samples[-1]["ready_s"]

        folio_ready, bare_ready = interleaved(rounds, folio, lambda: bare_start(scratch))
    ready = median(folio_ready)
    bare = median(bare_ready)
    idle = median([sample["rss_idle_mb"] for sample in samples])
    loaded = median([sample["rss_loaded_mb"] for sample in samples])
    result = BenchResult("startup")
    result.figures = {
        "folio_ready_s": round(ready, 3),
        "bare_qt_ready_s": round(bare, 3),
        "folio_models_loaded_s": round(median([s["loaded_s"] for s in samples]), 3),
        "rss_idle_mb": round(idle, 1),
        "rss_with_starter_models_mb": round(loaded, 1),
        "rounds": rounds,
    }
    result.ratios = {"ready_vs_bare_qt": ready / bare}
    result.goals = {
        "ready_s": Goal(READY_GOAL_S, ready, "at_most"),
        "rss_idle_mb": Goal(IDLE_MEMORY_GOAL_MB, idle, "at_most"),
    }
    result.notes.append(
        "Each start uses a fresh FOLIO_HOME (the first start of a new home converts the "
        "starter embedder, which the models-loaded time includes)."
    )
    return result


def run_frozen(program: Path, rounds: int = 5) -> BenchResult:
    """The frozen program's start against the Python install's, interleaved in one run."""
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        frozen_command = (str(program.resolve()),)
        # Untimed: the first start of each reads its files from disk into the page cache.
        folio_start(scratch, frozen_command)
        folio_start(scratch)
        frozen: list[dict[str, float]] = []
        python: list[dict[str, float]] = []

        def start_frozen() -> float:
            frozen.append(folio_start(scratch, frozen_command))
            return frozen[-1]["ready_s"]

        def start_python() -> float:
            python.append(folio_start(scratch))
            return python[-1]["ready_s"]

        frozen_ready, python_ready = interleaved(rounds, start_frozen, start_python)
    ratio = median(frozen_ready) / median(python_ready)
    result = BenchResult("startup-frozen")
    result.figures = {
        "frozen_ready_s": round(median(frozen_ready), 3),
        "python_ready_s": round(median(python_ready), 3),
        "frozen_models_loaded_s": round(median([s["loaded_s"] for s in frozen]), 3),
        "python_models_loaded_s": round(median([s["loaded_s"] for s in python]), 3),
        "frozen_rss_idle_mb": round(median([s["rss_idle_mb"] for s in frozen]), 1),
        "python_rss_idle_mb": round(median([s["rss_idle_mb"] for s in python]), 1),
        "rounds": rounds,
    }
    result.ratios = {"frozen_ready_vs_python": ratio}
    result.goals = {"frozen_ready_vs_python": Goal(FROZEN_RATIO_GOAL, ratio, "at_most")}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--frozen", type=Path, default=None, help="A frozen Folio to time against this install."
    )
    args = parser.parse_args(argv)
    if args.frozen is not None:
        result = run_frozen(args.frozen, args.rounds)
        print(json.dumps(result.to_json(), indent=2))
        return 0
    result = run(args.rounds)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        figures = result.figures
        print(
            f"window ready in {figures['folio_ready_s']} s "
            f"(bare Qt {figures['bare_qt_ready_s']} s);"
            f" {figures['rss_idle_mb']} MB at rest, {figures['rss_with_starter_models_mb']} MB "
            "with the starter models"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
