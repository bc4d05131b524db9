"""Undo for a deleted chat: a button in the status bar for a few seconds after the delete."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QPushButton, QStatusBar

UNDO_SECONDS = 10


class DeleteUndo(QObject):
    # Undo was clicked: the chat comes back.
    restore_requested = Signal(int)

    def __init__(self, status_bar: QStatusBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status_bar = status_bar
        self._pending: int | None = None
        self.button = QPushButton("Undo")
        self.button.setObjectName("undoButton")
        self.button.hide()
        self.button.clicked.connect(self._on_undo_clicked)
        status_bar.addPermanentWidget(self.button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(UNDO_SECONDS * 1000)
        self._timer.timeout.connect(self._on_expired)

    def offer(self, conversation_id: int, title: str) -> None:
        """A chat was deleted: offer to bring it back (a previous offer ends)."""
        self._finish()
        self._pending = conversation_id
        self.button.show()
        self._timer.start()
        self._status_bar.showMessage(f"Deleted “{title}”.", UNDO_SECONDS * 1000)

    @Slot()
    def _on_undo_clicked(self) -> None:
        conversation_id = self._pending
        self._timer.stop()
        self._pending = None
        self.button.hide()
        if conversation_id is not None:
            self.restore_requested.emit(conversation_id)

    @Slot()
    def _on_expired(self) -> None:
        self._finish()

    def _finish(self) -> None:
        # A deleted chat stays recoverable until the next start, when the store purges it.
        self._pending = None
        self.button.hide()
        self._status_bar.clearMessage()
