"""Between the settings and the library: a new passage size or embedding model reaches the
library, after asking when it costs an index, and a switch that fails puts the setting back."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from desktop.core.settings.schema import DOCUMENTS, SPECS, Settings
from desktop.ui.errors import show_error
from desktop.ui.library import prompts
from desktop.ui.library.service import LibraryService
from desktop.ui.settings_session import SettingsSession


class LibrarySettingsLink(QObject):
    # A passing line for the status bar, and how long it stays (ms).
    notice = Signal(str, int)
    # The embedding model in use is another one now.
    embedder_changed = Signal()

    def __init__(self, window: QWidget, session: SettingsSession, library: LibraryService) -> None:
        super().__init__(window)
        self._window = window
        self._session = session
        self._library = library
        library.configure(session.settings.documents)
        session.changed.connect(self._on_settings_changed)
        session.reindex_offered.connect(self._on_reindex_offered)
        session.embedder_switch_requested.connect(self._on_embedder_switch_requested)
        library.embedder_switched.connect(self._on_embedder_switched)
        library.embedder_switch_failed.connect(self._on_embedder_switch_failed)
        library.kept_embedder.connect(self._on_kept_embedder)

    def confirm_embedder_switch(self, chosen: Settings) -> bool:
        count = len(self._library.documents())
        if count == 0 and self._library.library is not None:
            return True  # an open, empty library has nothing to index again
        return prompts.confirm_embedder_change(
            self._window, count, chosen.documents.embedding_model
        )

    @Slot(object, object)
    def _on_settings_changed(self, settings: Settings, keys: list[str]) -> None:
        if any(SPECS[key].group == DOCUMENTS for key in keys):
            self._library.configure(settings.documents)

    @Slot()
    def _on_reindex_offered(self) -> None:
        count = len(self._library.documents())
        if count and prompts.offer_reindex(self._window, count):
            self._library.reindex_all()

    @Slot(object)
    def _on_embedder_switch_requested(self, path: Path | None) -> None:
        self._library.switch_embedder(path)

    @Slot()
    def _on_embedder_switched(self) -> None:
        self.notice.emit(
            "The new embedding model is in use; your documents are being indexed again.", 8000
        )
        self.embedder_changed.emit()

    @Slot(str)
    def _on_embedder_switch_failed(self, reason: str) -> None:
        self._session.embedder_switch_failed()
        show_error(self._window, f"The embedding model was not changed: {reason}")

    @Slot(str)
    def _on_kept_embedder(self, name: str) -> None:
        self.notice.emit(
            f"Your documents were indexed with {name}, so Folio searches them with it. To use "
            "another embedding model, choose it in Settings ▸ Documents.",
            12000,
        )
