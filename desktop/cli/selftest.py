"""``folio self-test``: does this install work, whole, on this machine, offline?

Each check uses what a user would: the starter chat model and embedder that ship inside Folio, a
PDF indexed into a library, a question answered from it with its page cited, and the window,
opened offscreen in a process of its own (the command line never imports Qt) and closed again
once its models have loaded. Everything is done in a temporary folder: the user's chats, library
and settings are never read or written. The report is one JSON object on stdout, each check with
its time; progress and the reason for a failure go to stderr. Exit 0 when every check passed,
1 when one failed (those after it that depend on it are skipped, and say so).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop import __version__
from desktop.cli.errors import EXIT_FAILED
from desktop.core.chat.evidence import attribute
from desktop.core.chat.rag import evidence_source, ground_in_library, source_budget
from desktop.core.documents.library import Library
from desktop.core.documents.records import DocumentStatus
from desktop.core.documents.sample_pdf import text_pdf
from desktop.core.documents.session import LibrarySession
from desktop.core.llm.engine import ChatEngine, ChatRequest
from desktop.core.models.starter import starter_embedder_target, starter_model_path
from desktop.core.paths import HOME_ENV, AppPaths
from desktop.core.settings.schema import DocumentSettings, GenerationSettings, ModelSettings

# The fact the test library holds, on its second page, and the question that needs it.
FACT_PAGE = 2
SAMPLE_PAGES = (
    (
        "Harbour Office: visitor information.",
        "The harbour office is open on weekdays from nine in the morning.",
        "Tickets for the island ferry are sold at the kiosk by the pier.",
    ),
    (
        "Lighthouse.",
        "The lighthouse keeper has a grey cat named Biscuit.",
        "Biscuit sleeps in the lamp room on cold nights.",
    ),
    (
        "Fish market.",
        "The fish market opens at six and closes when the catch is sold.",
        "Mackerel and sardines are the most common fish sold there.",
    ),
)
QUESTION = "What is the name of the lighthouse keeper's cat?"
WINDOW_TIMEOUT_S = 240.0
STARTUP_REPORT_ENV = "FOLIO_STARTUP_REPORT"


class SelfTestError(Exception):
    """A check's own verdict: the message says what was wrong, for the user."""


@dataclass
class Check:
    name: str
    ok: bool = False
    skipped: bool = False
    seconds: float = 0.0
    detail: str = ""


@dataclass
class SelfTest:
    scratch: Path
    checks: list[Check] = dataclasses.field(default_factory=list)
    engine: ChatEngine = dataclasses.field(default_factory=ChatEngine)
    library: LibrarySession | None = None

    def run(self, name: str, check: Callable[[], str], needs: tuple[str, ...] = ()) -> None:
        result = Check(name)
        self.checks.append(result)
        failed = [c.name for c in self.checks if c.name in needs and not c.ok]
        if failed:
            result.skipped = True
            result.detail = f"skipped: {', '.join(failed)} did not pass"
            _say(f"skip {name}: {result.detail}")
            return
        started = time.perf_counter()
        try:
            result.detail = check()
            result.ok = True
        except SelfTestError as exc:
            result.detail = str(exc)
        except Exception as exc:
            result.detail = f"{type(exc).__name__}: {exc}"
        result.seconds = round(time.perf_counter() - started, 3)
        verdict = "ok  " if result.ok else "FAIL"
        _say(f"{verdict} {name} ({result.seconds:.1f} s): {result.detail}")

    # -- the checks ------------------------------------------------------------------------------

    def chat_model(self) -> str:
        path = starter_model_path()
        if path is None:
            raise SelfTestError("the starter chat model is not part of this install")
        info = self.engine.load(path, ModelSettings(context_length=2048)).result()
        stream = self.engine.stream(
            ChatRequest(question="Say hello.", params=_short_answers(12)), threading.Event()
        )
        text = "".join(stream)
        if not text.strip():
            raise SelfTestError(f"{info.name} loaded but wrote nothing")
        return f"{info.name} loaded from {path} and wrote {len(text.split())} words"

    def embedder(self) -> str:
        path = starter_embedder_target(self.scratch / "cache")
        if not path.is_file():
            raise SelfTestError("the starter embedding model is not part of this install")
        session = LibrarySession(self.scratch / "library", self.scratch / "cache")
        session.configure(DocumentSettings())
        session.open(None)
        self.library = session
        return f"{path.name} opened a library at {self.scratch / 'library'}"

    def index(self) -> str:
        library = self._library()
        pdf = self.scratch / "harbour-guide.pdf"
        pdf.write_bytes(text_pdf(SAMPLE_PAGES, title="Harbour Guide"))
        added = library.add([pdf])
        library.index_queued()
        document = library.document(added[0].document.id) if added[0].document else None
        if document is None or document.status is not DocumentStatus.READY:
            reason = document.message if document is not None else added[0].message
            raise SelfTestError(f"the sample PDF was not indexed: {reason}")
        return f"{document.pages} pages, {document.chunks} passages"

    def answer(self) -> str:
        library = self._library()
        generation = _short_answers(48)
        info = self.engine.info
        assert info is not None
        budget = source_budget(
            info.context_length, generation.max_tokens, self.engine.count_tokens("")
        )
        grounded = ground_in_library(
            library,
            QUESTION,
            documents=None,
            system_prompt="",
            count_tokens=self.engine.count_tokens,
            token_budget=budget,
        )
        if not grounded.relevant or not grounded.sources:
            raise SelfTestError(
                f"the library was not found to cover “{QUESTION}” "
                f"(best relevance {grounded.best_relevance:.2f})"
            )
        best = grounded.sources[0]
        if best.hit.chunk.page_start != FACT_PAGE:
            raise SelfTestError(
                f"the first source is page {best.hit.chunk.page_start}, not page {FACT_PAGE}"
            )
        request = ChatRequest(
            question=grounded.prompt, system_prompt=grounded.system_prompt, params=generation
        )
        text = "".join(self.engine.stream(request, threading.Event())).strip()
        if not text:
            raise SelfTestError("the model wrote no answer")
        attribution = attribute(text, [evidence_source(source) for source in grounded.sources])
        cited = sorted({*attribution.written, *attribution.matched})
        quoted = any(quote.source == best.number for quote in grounded.quotes)
        if best.number not in cited and not quoted:
            raise SelfTestError(
                f"the answer cites neither page {FACT_PAGE} nor quotes it: {text!r}"
            )
        return f"cited [{best.number}] {best.label}; answer: {text[:120]!r}"

    def window(self) -> str:
        home = self.scratch / "window"
        report = self.scratch / "window-report.json"
        environment = {
            **os.environ,
            HOME_ENV: str(home),
            STARTUP_REPORT_ENV: str(report),
            "QT_QPA_PLATFORM": "offscreen",
        }
        try:
            done = subprocess.run(
                _folio_command(),
                env=environment,
                capture_output=True,
                text=True,
                timeout=WINDOW_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SelfTestError(
                f"the window did not load its models within {WINDOW_TIMEOUT_S:.0f} s"
            ) from None
        if done.returncode != 0 or not report.is_file():
            last = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
            raise SelfTestError(f"the window ended with exit code {done.returncode}: {last}")
        figures = json.loads(report.read_text(encoding="utf-8"))
        failed = [part for part in ("model", "library") if figures.get(f"{part}_failed")]
        if failed:
            raise SelfTestError(f"the window opened but its {' and '.join(failed)} did not load")
        return (
            f"opened offscreen, models loaded, closed "
            f"({figures['loaded_at'] - figures['ready_at']:.1f} s after it took input)"
        )

    def _library(self) -> Library:
        assert self.library is not None and self.library.library is not None
        return self.library.library

    def close(self) -> None:
        if self.library is not None:
            self.library.close()
        self.engine.close()


def _short_answers(max_tokens: int) -> GenerationSettings:
    return dataclasses.replace(GenerationSettings(), max_tokens=max_tokens, temperature=0.0)


def _folio_command() -> list[str]:
    """This same Folio, as a new process: the frozen program itself, or this interpreter."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "desktop"]


def _say(line: str) -> None:
    print(f"folio self-test: {line}", file=sys.stderr, flush=True)


def run(_args: argparse.Namespace, _paths: AppPaths) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="folio-self-test-") as scratch:
        test = SelfTest(Path(scratch))
        try:
            test.run("chat model", test.chat_model)
            test.run("embedding model", test.embedder)
            test.run("index a PDF", test.index, needs=("embedding model",))
            test.run(
                "answer with a citation",
                test.answer,
                needs=("chat model", "index a PDF"),
            )
        finally:
            test.close()
        # After the models above are closed: the window loads its own.
        test.run("window", test.window)
    passed = all(check.ok for check in test.checks)
    report = {
        "folio": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "ok": passed,
        "seconds": round(time.perf_counter() - started, 3),
        "checks": [dataclasses.asdict(check) for check in test.checks],
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if not passed:
        failed = next(check for check in test.checks if not check.ok and not check.skipped)
        _say(f"failed: {failed.name}: {failed.detail}")
        return EXIT_FAILED
    _say(f"all {len(test.checks)} checks passed in {report['seconds']:.1f} s")
    return 0
