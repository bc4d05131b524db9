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
from desktop.ui.models.lora_box import LoraBox, LoraState

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
        apply_settings: Callable[[Settings, list[str]], None] = lambda _s, _k: None,
    ) -> None:
        """``apply_settings`` takes the settings edited here (the LoRA adapter) and their
        keys, as the settings dialog's Apply does."""
        super().__init__(parent)
        self._apply_settings = apply_settings
        self._loading = False
        self.lora_box: LoraBox | None = None
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
        self.lora_box = LoraBox(self._lora_state)
        self.lora_box.lora_chosen.connect(self._on_lora_chosen)
        manager.add_box(self.lora_box)
        self._manager = manager
        manager.show()
        return manager

    @Slot()
    def update_in_use(self) -> None:
        """The chat or documents model changed: the window moves its “In use” marks."""
        if self._manager is not None:
            self._manager.update_in_use()
        if self.lora_box is not None:
            self.lora_box.refresh()

    def shutdown(self) -> None:
        """When Folio quits: a running download is paused (its partial kept, to resume)."""
        if self._manager is not None:
            self._manager.shutdown()

    @Slot(bool)
    def model_loading(self, loading: bool) -> None:
        """A chat model load started or ended (with the adapter, or refusing it)."""
        self._loading = loading
        if self.lora_box is not None:
            self.lora_box.refresh()

    @Slot(str, float)
    def _on_lora_chosen(self, path: str, scale: float) -> None:
        edited = self._settings().with_values({"lora_path": path, "lora_scale": scale})
        self._apply_settings(edited, ["lora_path", "lora_scale"])
        if self.lora_box is not None:
            self.lora_box.refresh()

    def _lora_state(self) -> LoraState:
        model = self._settings().model
        info = self._engine.info
        return LoraState(
            path=model.lora_path,
            scale=model.lora_scale,
            model=info.name if info is not None else None,
            architecture=info.architecture if info is not None else None,
            applied=info.lora if info is not None else "",
            applied_scale=info.lora_scale if info is not None else 0.0,
            problem=info.lora_problem if info is not None else "",
            loading=self._loading,
        )

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
