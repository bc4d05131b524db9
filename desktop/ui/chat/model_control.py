"""Which chat model the window uses: loading it when asked or when its settings change, and
saying what it is like (the header, the notice above the conversation, the error banner)."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.core.llm.engine import ChatEngine, ModelInfo
from desktop.core.models.starter import is_starter_model, starter_model_path
from desktop.ui.chat.generation import ModelLoader
from desktop.ui.chat.header import ChatHeader
from desktop.ui.chat.notices import NO_MODEL_NOTICE, STARTER_DISMISSED, model_notice
from desktop.ui.errors import show_error
from desktop.ui.settings_session import SettingsSession
from desktop.ui.widgets.banner import Banner


class ChatModelControl(QObject):
    # A load started or ended: what the window can do now changed.
    loading_changed = Signal(bool)
    # The model in use is another one now.
    model_changed = Signal(object)  # ModelInfo
    notice = Signal(str, int)

    def __init__(
        self,
        window: QWidget,
        engine: ChatEngine,
        session: SettingsSession,
        header: ChatHeader,
        banner: Banner,
        error_banner: Banner,
        busy: Callable[[], bool],
    ) -> None:
        """``busy``: whether an answer is being written (a model is not switched then)."""
        super().__init__(window)
        self._window = window
        self._engine = engine
        self._session = session
        self._header = header
        self._banner = banner
        self._error_banner = error_banner
        self._busy = busy
        # Another part of the window may hold the model (the prompt lab's batch): its reason.
        self.refusal: Callable[[], str] = lambda: ""
        self._loading: Path | None = None
        self._starter_notice_shown = False
        self._reload_after_answer = False
        self.loader = ModelLoader(engine, self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        banner.dismissed.connect(self._on_banner_dismissed)
        error_banner.action_button.clicked.connect(self.choose_file)
        session.reload_requested.connect(self._on_reload_requested)

    @property
    def loading(self) -> bool:
        return self._loading is not None

    def load_configured(self) -> None:
        """The model the settings name (empty: the starter model, as its help says)."""
        configured = self._session.settings.model.model_path
        path = Path(configured).expanduser() if configured else starter_model_path()
        if path is None:
            self._header.show_model(None)
            self._banner.show_notice(NO_MODEL_NOTICE, "warning", "Open model file…")
            return
        self.load(path)

    def load(self, path: Path) -> None:
        if self._busy():
            show_error(self._window, "Stop the current answer before switching models.")
            return
        refusal = self.refusal()
        if refusal:
            show_error(self._window, refusal)
            return
        self._loading = path
        self._header.show_model(None, loading=path.stem)
        self.loading_changed.emit(True)
        self.loader.load(path, self._session.settings.model)

    @Slot()
    def choose_file(self) -> None:
        configured = self._session.settings.model.model_path
        start = str(Path(configured).parent) if configured else str(Path.home())
        filename, _ = QFileDialog.getOpenFileName(
            self._window, "Open a GGUF model", start, "GGUF models (*.gguf);;All files (*)"
        )
        if filename:
            self.load(Path(filename))

    def answer_ended(self) -> None:
        """Model settings changed while an answer was written take effect now."""
        if self._reload_after_answer:
            self._reload_after_answer = False
            self.load_configured()

    @Slot(object)
    def _on_reload_requested(self, _model: object) -> None:
        if self._busy():
            self._reload_after_answer = True
            self.notice.emit("The model reloads with the new settings when this answer ends.", 8000)
        else:
            self.load_configured()

    @Slot(object)
    def _on_loaded(self, info: ModelInfo) -> None:
        self._loading = None
        self._error_banner.hide()
        self._header.show_model(info)
        notice = model_notice(info, bool(QSettings().value(STARTER_DISMISSED, False, bool)))
        self._starter_notice_shown = notice is not None and is_starter_model(info.path)
        if info.lora_problem:
            # The model works; the adapter asked for does not, and the user should know why.
            self._banner.show_notice(
                html.escape(info.lora_problem) + " The model answers without it.", "warning"
            )
        elif notice is None:
            self._banner.hide()
        else:
            self._banner.show_notice(*notice)
        self._session.model_loaded()
        self._session.set_value("model_path", "" if is_starter_model(info.path) else str(info.path))
        self.loading_changed.emit(False)
        self.model_changed.emit(info)
        self.notice.emit(f"{info.name} is ready.", 5000)

    @Slot()
    def _on_banner_dismissed(self) -> None:
        # The starter notice is advice, read once; other model notices return with the model.
        if self._starter_notice_shown:
            QSettings().setValue(STARTER_DISMISSED, True)

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        self._loading = None
        if self._session.model_failed():
            reason += " The previous model settings were put back."
        loaded = self._engine.info
        self._header.show_model(loaded)
        self.loading_changed.emit(False)
        if loaded is not None and "still loaded" not in reason:
            reason += f" {loaded.name} is still loaded."
        self._error_banner.show_notice(
            f"<b>The model could not be loaded.</b> {html.escape(reason)}",
            "error",
            "Open another file…",
        )
