"""The chat engine seen from the GUI thread: a model being loaded, an answer being written.

The engine runs its work on its own owner thread; what it reports (the prompt fitted, each piece
of text, the result or the error) comes back through ``Tasks`` to slots here, which turn it into
signals of objects that live in the GUI thread. Nothing here touches a widget.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.core.errors import EngineError
from desktop.core.llm.engine import (
    ChatEngine,
    ChatRequest,
    GenerationResult,
    GenerationSink,
    ModelInfo,
)
from desktop.core.llm.prompting import FittedPrompt, QuestionTooLongError, TemplateError
from desktop.core.settings.schema import ModelSettings
from desktop.ui.errors import describe_failure
from desktop.ui.tasks import Channel, Tasks


class ModelLoader(QObject):
    """Loads a model on the engine's owner thread and reports back with signals."""

    loaded = Signal(object)  # ModelInfo
    failed = Signal(str)

    def __init__(self, engine: ChatEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = Tasks(self)

    def load(self, path: Path, options: ModelSettings) -> None:
        self._tasks.follow(
            self._engine.load(path, options), done=self._on_loaded, failed=self._on_failed
        )

    def _on_loaded(self, info: ModelInfo) -> None:
        self.loaded.emit(info)

    def _on_failed(self, error: BaseException) -> None:
        if isinstance(error, EngineError):
            self.failed.emit(str(error))
        else:
            reason = describe_failure(error, "loading the model")
            self.failed.emit(f"The model could not be loaded: {reason}")


class _RelayedSink(GenerationSink):
    """Hands what the engine reports to the GUI thread, through the generation's channel."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def prompt_prepared(self, fitted: FittedPrompt) -> None:
        self._channel(fitted)

    def text_received(self, text: str) -> None:
        self._channel(text)

    def prefill_progressed(self, done: int, total: int) -> None:
        self._channel(_PrefillProgress(done, total))


@dataclass(frozen=True)
class _PrefillProgress:
    done: int
    total: int


class GenerationBridge(QObject):
    """One generation at a time: start it, stop it, hear about it through signals."""

    prompt_prepared = Signal(int, int)  # dropped messages, prompt tokens
    # Tokens of the prompt read so far, of all (long prompts only, per slice).
    prefill_progressed = Signal(int, int)
    text_received = Signal(str)
    finished = Signal(object)  # GenerationResult
    failed = Signal(str)

    def __init__(self, engine: ChatEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = Tasks(self)
        self._cancel = threading.Event()
        self._future: Future[GenerationResult] | None = None

    @property
    def running(self) -> bool:
        return self._future is not None and not self._future.done()

    def start(self, request: ChatRequest) -> None:
        if self.running:
            raise RuntimeError("a generation is already running")
        self._cancel = threading.Event()
        number, channel = self._tasks.channel(self._on_reported)
        self._future = self._engine.generate(request, self._cancel, _RelayedSink(channel))
        self._tasks.follow_number(number, self._future, done=self._on_done, failed=self._on_failed)

    def stop(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float = 30.0) -> GenerationResult | None:
        """Block until the running generation ends (used when the window closes)."""
        future = self._future
        if future is None:
            return None
        try:
            return future.result(timeout=timeout)
        except Exception:
            return None

    # -- on the GUI thread ----------------------------------------------------------------------

    def _on_reported(self, report: FittedPrompt | str | _PrefillProgress) -> None:
        if isinstance(report, str):
            self.text_received.emit(report)
        elif isinstance(report, _PrefillProgress):
            self.prefill_progressed.emit(report.done, report.total)
        else:
            self.prompt_prepared.emit(report.dropped_messages, report.prompt_tokens)

    def _on_done(self, result: GenerationResult) -> None:
        self.finished.emit(result)

    def _on_failed(self, error: BaseException) -> None:
        if isinstance(error, EngineError | QuestionTooLongError | TemplateError):
            self.failed.emit(str(error))
        else:
            reason = describe_failure(error, "generating an answer")
            self.failed.emit(f"The answer could not be generated: {reason}")
