"""The Models window as the main window sees it: opened once and brought forward after, told
when the models in use change, its choices handed on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from desktop.core.llm.engine import ChatEngine
from desktop.core.models.registry import known_model_files
from desktop.core.models.starter import starter_embedder_target
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import Settings

if TYPE_CHECKING:
    from desktop.ui.models.manager import ModelManager


class ModelsWindow(QObject):
    chat_model_chosen = Signal(object)  # Path
    embedding_model_chosen = Signal(object)  # Path

    def __init__(
        self,
        parent: QWidget,
        paths: AppPaths,
        engine: ChatEngine,
        settings: Callable[[], Settings],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._paths = paths
        self._engine = engine
        self._settings = settings
        self._manager: ModelManager | None = None

    def open(self) -> ModelManager:
        # Imported when first opened: the downloader's HTTP stack would otherwise delay the
        # main window's first appearance.
        from desktop.ui.models.manager import ModelManager

        if self._manager is not None:
            self._manager.show()
            self._manager.raise_()
            self._manager.activateWindow()
            return self._manager
        manager = ModelManager(
            self._paths.models,
            self._known_files,
            self._context_length,
            self._chat_model,
            self._embedding_model,
            self._parent,
        )
        manager.chat_model_chosen.connect(self.chat_model_chosen)
        manager.embedding_model_chosen.connect(self.embedding_model_chosen)
        self._manager = manager
        manager.show()
        return manager

    @Slot()
    def update_in_use(self) -> None:
        """The chat or documents model changed: the window moves its “In use” marks."""
        if self._manager is not None:
            self._manager.update_in_use()

    def shutdown(self) -> None:
        """When Folio quits: a running download is paused (its partial kept, to resume)."""
        if self._manager is not None:
            self._manager.shutdown()

    def _known_files(self) -> list[Path]:
        loaded = self._engine.info.path if self._engine.info is not None else None
        settings = self._settings()
        configured = (settings.model.model_path, settings.documents.embedding_model)
        return known_model_files(self._paths.cache, configured, loaded)

    def _context_length(self) -> int:
        return self._settings().model.context_length

    def _chat_model(self) -> Path | None:
        info = self._engine.info
        return info.path if info is not None else None

    def _embedding_model(self) -> Path:
        configured = self._settings().documents.embedding_model
        if configured:
            return Path(configured).expanduser()
        return starter_embedder_target(self._paths.cache)
