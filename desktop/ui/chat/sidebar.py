"""The sidebar: search, new chat, and the list of chats (a list model over the store)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.chat.messages import ConversationSummary
from desktop.core.chat.store import ConversationStore
from desktop.ui.appearance import colors

ConversationIdRole = Qt.ItemDataRole.UserRole + 1
SnippetRole = Qt.ItemDataRole.UserRole + 2

_Index = QModelIndex | QPersistentModelIndex


def describe_age(timestamp: float, now: float | None = None) -> str:
    now = time.time() if now is None else now
    moment = datetime.fromtimestamp(timestamp)
    today = datetime.fromtimestamp(now).date()
    if moment.date() == today:
        return moment.strftime("%H:%M")
    if (today - moment.date()).days < 7:
        return moment.strftime("%a %H:%M")
    return moment.strftime("%d %b %Y")


class ConversationListModel(QAbstractListModel):
    """Rows are conversation summaries; renaming in place writes through to the store."""

    rename_requested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ConversationSummary] = []

    def set_rows(self, rows: list[ConversationSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def conversation_at(self, row: int) -> ConversationSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, conversation_id: int) -> int:
        for row, summary in enumerate(self._rows):
            if summary.id == conversation_id:
                return row
        return -1

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        summary = self.conversation_at(index.row()) if index.isValid() else None
        if summary is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return summary.title
        if role == Qt.ItemDataRole.ToolTipRole:
            count = summary.message_count
            return (
                f"{summary.title}\n{count} message{'s' if count != 1 else ''} · "
                f"last active {describe_age(summary.updated_at)}"
            )
        if role == ConversationIdRole:
            return summary.id
        if role == SnippetRole:
            return summary.snippet
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        summary = self.conversation_at(index.row()) if index.isValid() else None
        if summary is None or role != Qt.ItemDataRole.EditRole:
            return False
        title = str(value).strip()
        if not title or title == summary.title:
            return False
        self.rename_requested.emit(summary.id, title)
        return True


class ConversationDelegate(QStyledItemDelegate):
    """The title, and under a search hit the matching words in smaller grey text."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        if index.data(SnippetRole):
            size.setHeight(size.height() + option.fontMetrics.lineSpacing() + 2)
        return size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        snippet = index.data(SnippetRole)
        if not snippet:
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""
        style = item.widget.style() if item.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, item.widget)
        area = option.rect.adjusted(8, 5, -6, -5)
        metrics = option.fontMetrics
        title = metrics.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, area.width())
        painter.save()
        painter.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title)
        small = QFont(option.font)
        small.setPointSizeF(max(option.font.pointSizeF() * 0.88, 7.0))
        painter.setFont(small)
        painter.setPen(QColor(colors()["muted"]))
        below = area.adjusted(0, metrics.lineSpacing() + 1, 0, 0)
        elided = QFontMetrics(small).elidedText(
            str(snippet), Qt.TextElideMode.ElideRight, below.width()
        )
        painter.drawText(below, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elided)
        painter.restore()


class ConversationSidebar(QWidget):
    """Search box, New chat button and the chat list with its context menu."""

    conversation_selected = Signal(int)
    new_requested = Signal()
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)
    export_requested = Signal(int, str)  # conversation id, "markdown" | "json"

    def __init__(self, store: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self._store = store
        self._selected: int | None = None

        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("newChatButton")
        self.new_button.setToolTip("Start a new chat (Ctrl+N)")
        self.new_button.clicked.connect(self.new_requested)

        self.search_box = QLineEdit()
        self.search_box.setObjectName("searchBox")
        self.search_box.setPlaceholderText("Search chats")
        self.search_box.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.refresh)
        self.search_box.textChanged.connect(self._search_timer.start)

        self.model = ConversationListModel(self)
        self.model.rename_requested.connect(self.rename_requested)
        self.list_view = QListView()
        self.list_view.setObjectName("conversationList")
        self.list_view.setModel(self.model)
        self.list_view.setItemDelegate(ConversationDelegate(self.list_view))
        self.empty_label = QLabel()
        self.empty_label.setObjectName("emptyLabel")
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        self.list_view.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.setWordWrap(True)
        # Titles wrap to the sidebar's width; sideways scrolling would only hide them.
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.list_view.setUniformItemSizes(False)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(self._on_context_menu)
        self.list_view.selectionModel().currentChanged.connect(self._on_current_changed)

        delete_action = QAction("Delete chat", self.list_view)
        delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete_action.triggered.connect(self._on_delete_current)
        self.list_view.addAction(delete_action)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search_box)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list_view, 1)

    @Slot()
    def refresh(self) -> None:
        query = self.search_box.text().strip()
        rows = self._store.search(query) if query else self._store.list_conversations()
        self.model.set_rows(rows)
        self.empty_label.setText(
            f"No chats match “{query}”." if query else "Your chats will appear here."
        )
        self.empty_label.setVisible(not rows)
        self._restore_selection()

    def select(self, conversation_id: int | None) -> None:
        self._selected = conversation_id
        self._restore_selection()

    def start_rename(self, conversation_id: int) -> None:
        row = self.model.row_of(conversation_id)
        if row >= 0:
            self.list_view.edit(self.model.index(row))

    def _restore_selection(self) -> None:
        selection = self.list_view.selectionModel()
        row = self.model.row_of(self._selected) if self._selected is not None else -1
        selection.blockSignals(True)
        if row >= 0:
            self.list_view.setCurrentIndex(self.model.index(row))
        else:
            selection.clearSelection()
            selection.clearCurrentIndex()
        selection.blockSignals(False)
        self.list_view.viewport().update()

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        summary = self.model.conversation_at(current.row()) if current.isValid() else None
        if summary is not None and summary.id != self._selected:
            self._selected = summary.id
            self.conversation_selected.emit(summary.id)

    @Slot()
    def _on_delete_current(self) -> None:
        summary = self.model.conversation_at(self.list_view.currentIndex().row())
        if summary is not None:
            self.delete_requested.emit(summary.id)

    @Slot(QPoint)
    def _on_context_menu(self, point: QPoint) -> None:
        index = self.list_view.indexAt(point)
        summary = self.model.conversation_at(index.row()) if index.isValid() else None
        if summary is None:
            return
        menu = QMenu(self)
        menu.addAction("Rename", lambda: self.list_view.edit(index))
        export = menu.addMenu("Export")
        export.addAction("As Markdown…", lambda: self.export_requested.emit(summary.id, "markdown"))
        export.addAction("As JSON…", lambda: self.export_requested.emit(summary.id, "json"))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_requested.emit(summary.id))
        menu.exec(self.list_view.viewport().mapToGlobal(point))
