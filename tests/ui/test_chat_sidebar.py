"""The chat list's search: snippets that show, and mark, the words that matched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from desktop.core.chat.messages import Role
from desktop.core.chat.search import snippet_marks
from desktop.core.chat.store import ConversationStore
from desktop.ui.chat.sidebar import (
    ConversationIdRole,
    ConversationSidebar,
    Run,
    SnippetMarksRole,
    SnippetRole,
    snippet_runs,
)

FILLER = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 5


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    opened = ConversationStore(tmp_path / "chats.db")
    yield opened
    opened.close()


def by_characters(text: str, marked: bool) -> float:
    """A stand-in for a font: each character one unit wide, a bold one a little wider."""
    return len(text) * (1.25 if marked else 1.0)


def width_of(runs: list[Run]) -> float:
    return sum(by_characters(piece, marked) for piece, marked in runs)


def shown(runs: list[Run]) -> str:
    return "".join(piece for piece, _ in runs)


def marked_in(runs: list[Run]) -> list[str]:
    return [piece for piece, marked in runs if marked]


def test_a_short_snippet_is_drawn_whole_with_its_marks() -> None:
    text = "Start with a monthly budget."
    runs = snippet_runs(text, snippet_marks(text, "bud month"), 100, by_characters)
    assert shown(runs) == text
    assert marked_in(runs) == ["month", "bud"]


def test_a_mark_past_the_right_edge_is_brought_into_view() -> None:
    text = f"…{FILLER}and then a monthly budget follows, with more words after it…"
    marks = snippet_marks(text, "budget")
    assert marks and marks[0][0] > 200, "the mark starts far past the width"

    runs = snippet_runs(text, marks, 48, by_characters)

    assert marked_in(runs) == ["budget"]
    assert width_of(runs) <= 48
    visible = shown(runs)
    assert visible.startswith("…") and visible.endswith("…")
    assert visible[1:].startswith("then "), "cut at the start of a word, a few words back"
    assert len(visible[: visible.index("budget")]) <= 48 / 3 + len("then "), "context kept short"


def test_a_snippet_too_long_for_its_row_ends_in_an_ellipsis() -> None:
    text = "Budget planning starts with listing every expense you have."
    runs = snippet_runs(text, snippet_marks(text, "budget"), 20, by_characters)
    assert marked_in(runs)[0] == "Budget"
    assert shown(runs).endswith("…") and width_of(runs) <= 20

    # A marked word wider than the row is itself cut.
    tight = snippet_runs(text, snippet_marks(text, "budget"), 5, by_characters)
    assert shown(tight).endswith("…") and width_of(tight) <= 5


def test_no_marks_leave_the_snippet_as_it_was_but_elided() -> None:
    text = "Nothing here is marked at all, it is only long."
    runs = snippet_runs(text, [], 12, by_characters)
    assert marked_in(runs) == []
    assert shown(runs).endswith("…") and shown(runs)[:-1] == text[: len(shown(runs)) - 1]


def test_the_sidebar_marks_the_words_a_search_matched(
    qtbot: QtBot, store: ConversationStore
) -> None:
    chat = store.create_conversation("Money")
    store.add_message(chat, Role.USER, "How do I plan?")
    store.add_message(chat, Role.ASSISTANT, f"{FILLER}Start with a monthly budget. {FILLER}")
    other = store.create_conversation("Budapest trip")
    sidebar = ConversationSidebar(store)
    qtbot.addWidget(sidebar)
    sidebar.resize(260, 400)
    sidebar.show()
    sidebar.refresh()
    model = sidebar.model
    assert model.index(0).data(SnippetMarksRole) == []

    sidebar.search_box.setText("bud")
    # Both chats were listed before the search too: it has run once a snippet is shown.
    qtbot.waitUntil(
        lambda: any(model.index(row).data(SnippetRole) for row in range(model.rowCount())),
        timeout=3000,
    )
    assert model.rowCount() == 2
    rows = {model.index(row).data(ConversationIdRole): model.index(row) for row in range(2)}
    snippet = rows[chat].data(SnippetRole)
    marks = rows[chat].data(SnippetMarksRole)
    assert [snippet[start:end] for start, end in marks] == ["bud"]
    assert rows[other].data(SnippetRole) == "" and rows[other].data(SnippetMarksRole) == []

    # The marked word is drawn in its own (bold, stronger) ink, within the row.
    with_marks = paint_row(sidebar, rows[chat])
    model.set_rows(store.search("bud"))  # the same rows, drawn without a query to mark
    without = paint_row(sidebar, model.index(model.row_of(chat)))
    assert with_marks != without


def paint_row(sidebar: ConversationSidebar, index: QModelIndex) -> QImage:
    view = sidebar.list_view
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = QRect(0, 0, view.viewport().width(), 48)
    option.state |= QStyle.StateFlag.State_Enabled
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay
    option.displayAlignment = Qt.AlignmentFlag.AlignLeft
    image = QImage(option.rect.size(), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    view.itemDelegate().paint(painter, option, index)
    painter.end()
    return image
