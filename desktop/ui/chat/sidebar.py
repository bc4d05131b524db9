"""The sidebar: search, new chat, and the list of chats (a list model over the store).

Under a search hit the list shows a snippet of where the chat matched, the query's words in it
in bold (``desktop.core.chat.search`` says where they are).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QColor, QFont, QFontMetricsF, QKeySequence, QPainter
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
from desktop.core.chat.search import Span, snippet_marks
from desktop.core.chat.store import ConversationStore
from desktop.ui.appearance import colors

ConversationIdRole = Qt.ItemDataRole.UserRole + 1
SnippetRole = Qt.ItemDataRole.UserRole + 2
# Where the query's words are in the snippet: (start, end) offsets.
SnippetMarksRole = Qt.ItemDataRole.UserRole + 3
ELLIPSIS = "…"
# Above the title and below the snippet of a search hit.
_PADDING = 5
# When the first marked word would fall past the right edge, the snippet is cut at the left so
# that the words before it take at most this share of the width.
_CONTEXT_SHARE = 1 / 3

# A piece of a snippet, and whether it is one of the query's words.
Run = tuple[str, bool]
# How wide a piece is drawn, in its own font (bold when marked).
Measure = Callable[[str, bool], float]

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
        self._marks: dict[int, list[Span]] = {}

    def set_rows(self, rows: list[ConversationSummary], query: str = "") -> None:
        """``query``: the search that found ``rows``, whose words their snippets mark."""
        self.beginResetModel()
        self._rows = list(rows)
        self._marks = {
            row.id: snippet_marks(row.snippet, query) for row in self._rows if row.snippet
        }
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
        if role == SnippetMarksRole:
            return self._marks.get(summary.id, [])
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


def snippet_runs(text: str, marks: Sequence[Span], width: float, measure: Measure) -> list[Run]:
    """The snippet as pieces, marked or not, that fit in ``width``: cut at the left when its
    first marked word would otherwise be out of sight, and ended with “…” where it is cut at
    the right."""
    if marks and _runs_width(_runs(text[: marks[0][1]], marks[:1]), measure) > width:
        text, marks = _cut_before(text, marks, width * _CONTEXT_SHARE, measure)
    fitted: list[Run] = []
    used = 0.0
    for piece, is_marked in _runs(text, marks):
        piece_width = measure(piece, is_marked)
        if used + piece_width <= width:
            fitted.append((piece, is_marked))
            used += piece_width
            continue
        room = width - used - measure(ELLIPSIS, is_marked)
        kept = piece[: _longest_prefix(piece, is_marked, room, measure)]
        fitted.append((kept.rstrip() + ELLIPSIS, is_marked))
        break
    return fitted


def _runs(text: str, marks: Sequence[Span]) -> list[Run]:
    """``text`` split at ``marks`` (sorted, not overlapping) into marked and unmarked runs."""
    runs: list[Run] = []
    position = 0
    for start, end in marks:
        runs.append((text[position:start], False))
        runs.append((text[start:end], True))
        position = end
    runs.append((text[position:], False))
    return [run for run in runs if run[0]]


def _runs_width(runs: Sequence[Run], measure: Measure) -> float:
    return sum(measure(piece, is_marked) for piece, is_marked in runs)


def _cut_before(
    text: str, marks: Sequence[Span], context_width: float, measure: Measure
) -> tuple[str, list[Span]]:
    """``text`` from a word start before its first mark, as many words back as fit in
    ``context_width``, after a “…”; the marks moved with it."""
    first = marks[0][0]
    start = first
    while start > 0:
        space = text.rfind(" ", 0, start - 1)
        candidate = space + 1
        if measure(ELLIPSIS + text[candidate:first], False) > context_width:
            break
        start = candidate
    if start == 0:
        return text, list(marks)
    shift = len(ELLIPSIS) - start
    return ELLIPSIS + text[start:], [(begin + shift, end + shift) for begin, end in marks]


def _longest_prefix(text: str, is_marked: bool, room: float, measure: Measure) -> int:
    """How many characters of ``text`` fit in ``room``."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle], is_marked) <= room:
            low = middle
        else:
            high = middle - 1
    return low


class ConversationDelegate(QStyledItemDelegate):
    """The title, and under a search hit the matching words in smaller grey text, the query's
    words among them in bold."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        if index.data(SnippetRole):
            # One line of title (elided, as painted) over one line of snippet, whatever the
            # title would wrap to: every hit of a search is as tall as the next.
            snippet_line = QFontMetricsF(_snippet_font(option.font)).lineSpacing()
            size.setHeight(
                _PADDING * 2 + option.fontMetrics.lineSpacing() + 1 + int(snippet_line + 0.999)
            )
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
        area = option.rect.adjusted(8, _PADDING, -6, -_PADDING)
        metrics = option.fontMetrics
        title = metrics.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, area.width())
        painter.save()
        painter.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title)
        self._paint_snippet(
            painter,
            option,
            str(snippet),
            index.data(SnippetMarksRole) or [],
            area.adjusted(0, metrics.lineSpacing() + 1, 0, 0).topLeft(),
            area.width(),
        )
        painter.restore()

    def _paint_snippet(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        snippet: str,
        marks: Sequence[Span],
        top_left: QPoint,
        width: int,
    ) -> None:
        small = _snippet_font(option.font)
        bold = QFont(small)
        bold.setWeight(QFont.Weight.Bold)
        fonts = {False: small, True: bold}
        metrics = {False: QFontMetricsF(small), True: QFontMetricsF(bold)}
        theme = colors()
        pens = {False: QColor(theme["muted"]), True: QColor(theme["text"])}
        x = float(top_left.x())
        baseline = top_left.y() + metrics[False].ascent()
        for piece, is_marked in snippet_runs(
            snippet, marks, width, lambda text, marked: metrics[marked].horizontalAdvance(text)
        ):
            painter.setFont(fonts[is_marked])
            painter.setPen(pens[is_marked])
            painter.drawText(QPointF(x, baseline), piece)
            x += metrics[is_marked].horizontalAdvance(piece)


def _snippet_font(font: QFont) -> QFont:
    small = QFont(font)
    small.setPointSizeF(max(font.pointSizeF() * 0.88, 7.0))
    return small


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
        self.model.set_rows(rows, query)
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
