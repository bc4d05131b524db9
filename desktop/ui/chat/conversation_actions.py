"""What can be done to a whole chat from the window: rename it, delete it (with Undo), export it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMainWindow

from desktop.core.chat.store import ConversationStore
from desktop.ui.chat import export
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.sidebar import ConversationSidebar
from desktop.ui.chat.undo import DeleteUndo
from desktop.ui.errors import show_error


class ConversationActions(QObject):
    # A passing line for the status bar, and how long it stays (ms).
    notice = Signal(str, int)

    def __init__(
        self,
        window: QMainWindow,
        store: ConversationStore,
        controller: ChatController,
        sidebar: ConversationSidebar,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._store = store
        self._controller = controller
        self._sidebar = sidebar
        self.undo = DeleteUndo(window.statusBar(), self)
        self.undo.restore_requested.connect(self._on_restore_requested)
        sidebar.rename_requested.connect(self.rename)
        sidebar.delete_requested.connect(self.delete)
        sidebar.export_requested.connect(self.export)

    @Slot(int, str)
    def rename(self, conversation_id: int, title: str) -> None:
        try:
            self._controller.rename_conversation(conversation_id, title)
        except (ValueError, LookupError) as exc:
            self.notice.emit(str(exc), 5000)

    @Slot()
    def rename_current(self) -> None:
        current = self._controller.current_conversation
        if current is not None:
            self._sidebar.start_rename(current)

    @Slot(int)
    def delete(self, conversation_id: int) -> None:
        """Delete a chat, with Undo offered for a few seconds."""
        summary = self._store.conversation(conversation_id)
        if summary is None:
            return
        self._controller.delete_conversation(conversation_id)
        self.undo.offer(conversation_id, summary.title)

    @Slot()
    def delete_current(self) -> None:
        current = self._controller.current_conversation
        if current is not None:
            self.delete(current)

    @Slot(int)
    def _on_restore_requested(self, conversation_id: int) -> None:
        self._controller.restore_conversation(conversation_id)
        self._controller.open_conversation(conversation_id)
        self.notice.emit("Chat restored.", 3000)

    @Slot()
    def export_current_markdown(self) -> None:
        self._export_current("markdown")

    @Slot()
    def export_current_json(self) -> None:
        self._export_current("json")

    def _export_current(self, kind: str) -> None:
        current = self._controller.current_conversation
        if current is None:
            self.notice.emit("There is nothing to export yet.", 4000)
            return
        self.export(current, kind)

    @Slot(int, str)
    def export(self, conversation_id: int, kind: str) -> None:
        """Ask where, then write the chat as ``kind`` ("markdown" or "json")."""
        summary = self._store.conversation(conversation_id)
        if summary is None:
            return
        target = export.ask_for_target(self._window, summary.title, kind)
        if target is not None:
            self.export_to(conversation_id, target, kind)

    def export_to(self, conversation_id: int, target: Path, kind: str) -> bool:
        problem = export.write_export(self._store, conversation_id, target, kind)
        if problem:
            show_error(self._window, problem)
            return False
        self.notice.emit(f"Exported to {target}", 5000)
        return True
