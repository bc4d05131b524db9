"""Bridges from the engine's owner thread to the GUI thread.

The engine runs callbacks on its own thread. These QObjects live in the GUI thread; emitting their
signals from the engine thread is safe and Qt delivers them queued to slots in the GUI thread. No
callback here touches a widget directly (doing so from a worker thread crashes PySide6).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
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

log = logging.getLogger(__name__)


class ModelLoader(QObject):
    """Loads a model on the engine thread and reports back with signals."""

    loaded = Signal(object)  # ModelInfo
    failed = Signal(str)

    def __init__(self, engine: ChatEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine

    def load(self, path: Path, options: ModelSettings) -> None:
        self._engine.load(path, options).add_done_callback(self._on_done)

    def _on_done(self, future: Future[ModelInfo]) -> None:
        error = future.exception()
        if error is None:
            self.loaded.emit(future.result())
        elif isinstance(error, EngineError):
            self.failed.emit(str(error))
        else:
            log.error("model load failed", exc_info=error)
            self.failed.emit(f"The model could not be loaded: {error}")


class _SignalSink(GenerationSink):
    def __init__(self, bridge: GenerationBridge) -> None:
        self._bridge = bridge

    def prompt_prepared(self, fitted: FittedPrompt) -> None:
        self._bridge.prompt_prepared.emit(fitted.dropped_messages, fitted.prompt_tokens)

    def text_received(self, text: str) -> None:
        self._bridge.text_received.emit(text)


class GenerationBridge(QObject):
    """One generation at a time: start it, stop it, hear about it through signals."""

    prompt_prepared = Signal(int, int)  # dropped messages, prompt tokens
    text_received = Signal(str)
    finished = Signal(object)  # GenerationResult
    failed = Signal(str)

    def __init__(self, engine: ChatEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._cancel = threading.Event()
        self._future: Future[GenerationResult] | None = None

    @property
    def running(self) -> bool:
        return self._future is not None and not self._future.done()

    def start(self, request: ChatRequest) -> None:
        if self.running:
            raise RuntimeError("a generation is already running")
        self._cancel = threading.Event()
        self._future = self._engine.generate(request, self._cancel, _SignalSink(self))
        self._future.add_done_callback(self._on_done)

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

    def _on_done(self, future: Future[GenerationResult]) -> None:
        error = future.exception()
        if error is None:
            self.finished.emit(future.result())
        elif isinstance(error, EngineError | QuestionTooLongError | TemplateError):
            self.failed.emit(str(error))
        else:
            log.error("generation failed", exc_info=error)
            self.failed.emit(f"The answer could not be generated: {error}")
