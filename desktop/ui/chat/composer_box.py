"""The message box and what goes around it: where answers come from, Send / Stop, and a
message being edited."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.core.chat.store import ConversationStore
from desktop.core.formatting import count_text
from desktop.ui.chat.composer import Composer
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.scope_button import ScopeButton


class ComposerBox(QWidget):
    # A message was sent, or an edited one sent again.
    sent = Signal()
    stop_requested = Signal()
    notice = Signal(str)

    def __init__(
        self,
        controller: ChatController,
        store: ConversationStore,
        scope_button: ScopeButton,
        not_ready: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        """``not_ready``: why a message cannot be sent now ("" when it can)."""
        super().__init__(parent)
        self.setObjectName("composerBox")
        # A QWidget subclass paints its style-sheet background only when asked to.
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._controller = controller
        self._store = store
        self._not_ready = not_ready
        self._editing: int | None = None
        # What the user had typed before starting an edit, given back when the edit ends.
        self._draft = ""
        self.scope_button = scope_button
        self.edit_notice = QLabel(
            "Editing a message: Enter resends it and replaces what followed; Esc cancels."
        )
        self.edit_notice.setObjectName("editNotice")
        self.edit_notice.hide()
        self.composer = Composer()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        composer_row = QHBoxLayout()
        composer_row.setContentsMargins(0, 0, 0, 0)
        composer_row.addWidget(self.composer, 1)
        composer_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        scope_row = QHBoxLayout()
        scope_row.setContentsMargins(0, 0, 0, 4)
        scope_row.addWidget(scope_button)
        scope_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 12)
        layout.addWidget(self.edit_notice)
        layout.addLayout(scope_row)
        layout.addLayout(composer_row)
        self.composer.submitted.connect(self._on_submitted)
        self.composer.escape_pressed.connect(self._on_escape)
        self.send_button.clicked.connect(self._on_send_button)

    @property
    def editing(self) -> int | None:
        return self._editing

    def set_busy(self, busy: bool, can_send: bool) -> None:
        """While an answer is written the button stops it; otherwise it sends, if it can."""
        button = self.send_button
        button.setText("Stop" if busy else "Send")
        button.setToolTip("Stop the answer (Esc)" if busy else "Send (Enter)")
        button.setProperty("stop", busy)
        button.style().unpolish(button)
        button.style().polish(button)
        button.setEnabled(busy or can_send)

    def give_back(self, text: str) -> None:
        """A question that got no answer comes back into the box, unless something is typed."""
        if not self.composer.toPlainText().strip():
            self.composer.setPlainText(text)
            self.composer.setFocus()

    def start_edit(self, message_id: int) -> None:
        if self._controller.busy:
            self.notice.emit("Stop the answer before editing.")
            return
        message = self._store.message(message_id)
        if message is None:
            return
        if self._editing is None:
            self._draft = self.composer.toPlainText()
        self._editing = message_id
        later = [
            m
            for m in self._store.messages(message.conversation_id)
            if m.position > message.position
        ]
        replaced = f"; sending it replaces the {count_text(len(later), 'message')} after it"
        self.edit_notice.setText(f"Editing your message{replaced if later else ''}. Esc cancels.")
        self.edit_notice.show()
        self.composer.setPlainText(message.content)
        self.composer.setFocus()
        self.composer.moveCursor(self.composer.textCursor().MoveOperation.End)

    def end_edit(self, restore_draft: bool = False) -> None:
        if self._editing is not None and restore_draft:
            self.composer.setPlainText(self._draft)
        self._editing = None
        self._draft = ""
        self.edit_notice.hide()

    @Slot(str)
    def _on_submitted(self, text: str) -> None:
        if self._controller.busy:
            return
        reason = self._not_ready()
        if reason:
            self.notice.emit(reason)
            return
        if self._editing is not None:
            accepted = self._controller.edit_and_resend(self._editing, text)
        else:
            accepted = self._controller.send(text)
        if accepted:
            self.composer.clear()
            self.end_edit(restore_draft=True)
            self.sent.emit()

    @Slot()
    def _on_send_button(self) -> None:
        if self._controller.busy:
            self.stop_requested.emit()
        else:
            self.composer.submit()
        self.composer.setFocus()

    @Slot()
    def _on_escape(self) -> None:
        if self._controller.busy:
            self.stop_requested.emit()
        elif self._editing is not None:
            self.end_edit(restore_draft=True)
