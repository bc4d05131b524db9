"""“Documents: automatic ▾” under the message box: where the chat's answers come from."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from desktop.core.chat.scope import DocumentScope, ScopeMode
from desktop.core.documents.records import DocumentRecord


class ScopeButton(QToolButton):
    scope_chosen = Signal(object)  # DocumentScope

    def __init__(
        self,
        selected: Callable[[], list[DocumentRecord]],
        name_of: Callable[[str], str],
        parent: QWidget | None = None,
    ) -> None:
        """``selected``: the documents selected in the library now; ``name_of``: a document's
        name by its id, as the library last reported it."""
        super().__init__(parent)
        self._selected = selected
        self._name_of = name_of
        self.setObjectName("scopeButton")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        menu = QMenu(self)
        group = QActionGroup(menu)
        self.auto_action = menu.addAction("Automatic: documents when they cover the question")
        self.off_action = menu.addAction("Chat without documents")
        self.all_action = menu.addAction("Answer only from all documents")
        self.selected_action = menu.addAction("Answer only from the selected documents")
        actions = (self.auto_action, self.off_action, self.all_action, self.selected_action)
        for action in actions:
            action.setCheckable(True)
            group.addAction(action)
        self.auto_action.triggered.connect(self._on_auto)
        self.off_action.triggered.connect(self._on_off)
        self.all_action.triggered.connect(self._on_all)
        self.selected_action.triggered.connect(self._on_selected)
        menu.aboutToShow.connect(self.refresh_menu)
        self.setMenu(menu)
        self.show_scope(DocumentScope.automatic())

    def show_scope(self, scope: DocumentScope) -> None:
        if scope.mode is ScopeMode.AUTO:
            text = "Documents: automatic"
            tip = (
                "Questions your library covers are answered from it, with sources; anything "
                "else is answered by the model and marked “not from your documents”."
            )
            self.auto_action.setChecked(True)
        elif scope.mode is ScopeMode.OFF:
            text, tip = "Documents: off", "Answers come from the model alone."
            self.off_action.setChecked(True)
        elif scope.mode is ScopeMode.ALL:
            text = "Documents: all"
            tip = (
                "Answers come only from your whole library, with sources you can open; a "
                "question it does not cover is not guessed at."
            )
            self.all_action.setChecked(True)
        else:
            ids = scope.document_ids or ()
            names = [self._name_of(document_id) for document_id in ids]
            count = len(ids)
            text = f"Documents: {count:,} chosen" if count != 1 else f"{names[0]}"
            tip = "Answers come only from:\n" + "\n".join(names[:20])
            self.selected_action.setChecked(True)
        self.setText(text + " ▾")
        self.setToolTip(tip + "\nClick to change.")

    @Slot()
    def refresh_menu(self) -> None:
        """The selected documents may have changed since the menu was last shown."""
        selected = self._selected()
        self.selected_action.setEnabled(bool(selected))
        self.selected_action.setText(
            f"Answer from the {len(selected):,} selected document"
            f"{'s' if len(selected) != 1 else ''}"
            if selected
            else "Answer from the documents selected in the library"
        )

    @Slot()
    def _on_auto(self) -> None:
        self.scope_chosen.emit(DocumentScope.automatic())

    @Slot()
    def _on_off(self) -> None:
        self.scope_chosen.emit(DocumentScope.off())

    @Slot()
    def _on_all(self) -> None:
        self.scope_chosen.emit(DocumentScope.whole_library())

    @Slot()
    def _on_selected(self) -> None:
        selected = self._selected()
        if selected:
            self.scope_chosen.emit(DocumentScope.only(tuple(record.id for record in selected)))
