"""The transcript view on its own: rendering, coalesced streaming, copy links."""

from __future__ import annotations

import time
from dataclasses import replace

from PySide6.QtCore import QPoint, QUrl
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from desktop.core.chat.messages import Message, MessageStatus, Role
from desktop.ui.chat.view import ChatView


def message(
    message_id: int,
    role: Role,
    content: str,
    status: MessageStatus = MessageStatus.COMPLETE,
    **meta: object,
) -> Message:
    return Message(
        id=message_id,
        conversation_id=1,
        position=message_id,
        role=role,
        content=content,
        status=status,
        created_at=time.time(),
        meta=dict(meta),
    )


def make_view(qtbot: QtBot) -> ChatView:
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    return view


def test_an_empty_chat_invites_a_question(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_messages([])
    assert "Ask anything" in view.toPlainText()
    view.add_message(message(1, Role.USER, "Hello"))
    assert "Ask anything" not in view.toPlainText()
    assert "Hello" in view.toPlainText()


def test_code_blocks_render_and_copy_verbatim(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    answer = "Here you go:\n\n```python\nif a < b:\n    print('<ok>')\n```\n"
    view.show_messages([message(1, Role.USER, "Code?"), message(2, Role.ASSISTANT, answer)])
    text = view.toPlainText()
    assert "Copy code" in text
    assert "```" not in text  # rendered, not shown as Markdown source
    with qtbot.waitSignal(view.copied):
        view.anchorClicked.emit(QUrl("folio:code/2/0"))
    assert QGuiApplication.clipboard().text() == "if a < b:\n    print('<ok>')"


def test_model_output_cannot_inject_markup(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_messages([message(1, Role.ASSISTANT, "<b>bold?</b> <a href='folio:edit/1'>x</a>")])
    assert "<b>bold?</b>" in view.toPlainText()


def test_streamed_text_is_coalesced_then_rendered_once_complete(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_messages([message(1, Role.USER, "Count")])
    view.begin_stream(message(2, Role.ASSISTANT, "", MessageStatus.STREAMING))
    inserted: list[int] = []
    view.document().contentsChange.connect(lambda _pos, _removed, added: inserted.append(added))
    for piece in ["**one", "**", ", two", ", three"]:
        view.append_stream_text(piece)
    # Nothing touches the document until the flush timer fires, then one insert carries it all.
    assert inserted == []
    qtbot.waitUntil(lambda: "**one**, two, three" in view.toPlainText(), timeout=2000)
    assert len(inserted) == 1

    view.finish_stream(message(2, Role.ASSISTANT, "**one**, two, three", completion_tokens=4))
    text = view.toPlainText()
    assert "one, two, three" in text and "**" not in text
    assert "4 tokens" in text
    assert "Regenerate" in text


def test_only_the_last_answer_offers_regenerate(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    chat = []
    for turn in range(10):
        chat += [message(2 * turn, Role.USER, "q"), message(2 * turn + 1, Role.ASSISTANT, "a")]
    view.show_messages(chat)
    assert view.toPlainText().count("Regenerate") == 1
    assert "folio:regenerate/19" in view.toHtml()
    view.add_message(message(20, Role.USER, "c"))
    view.begin_stream(message(21, Role.ASSISTANT, "", MessageStatus.STREAMING))
    assert view.toPlainText().count("Regenerate") == 0
    view.finish_stream(message(21, Role.ASSISTANT, "third"))
    assert view.toPlainText().count("Regenerate") == 1
    assert "folio:regenerate/21" in view.toHtml()
    assert view.message_ids() == list(range(22))


def test_interrupted_answers_say_so(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_messages([message(1, Role.ASSISTANT, "Once upon", MessageStatus.INTERRUPTED)])
    assert "Stopped before the end" in view.toPlainText()


def _alternative(message_id: int, content: str, index: int, count: int) -> Message:
    return replace(
        message(message_id, Role.ASSISTANT, content),
        alternative_index=index,
        alternative_count=count,
    )


def test_an_answer_cut_short_offers_continue_under_the_last_answer_only(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_messages(
        [
            message(1, Role.USER, "q"),
            message(2, Role.ASSISTANT, "Once upon", finish_reason="length"),
            message(3, Role.USER, "q"),
            message(4, Role.ASSISTANT, "a time", finish_reason="length"),
        ]
    )
    assert view.toPlainText().count("Continue") == 1
    assert "folio:continue/4" in view.toHtml()
    with qtbot.waitSignal(view.continue_requested) as clicked:
        view.anchorClicked.emit(QUrl("folio:continue/4"))
    assert clicked.args == [4]

    view.show_messages([message(1, Role.USER, "q"), message(2, Role.ASSISTANT, "Done.")])
    assert "Continue" not in view.toPlainText()


def test_a_continued_answer_streams_on_after_its_text_so_far(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_messages([message(1, Role.USER, "Tell me a story")])
    view.begin_stream(message(2, Role.ASSISTANT, "Once upon a", MessageStatus.STREAMING))
    assert "Once upon a" in view.toPlainText()
    view.append_stream_text(" time")
    qtbot.waitUntil(lambda: "Once upon a time" in view.toPlainText(), timeout=2000)
    view.finish_stream(message(2, Role.ASSISTANT, "Once upon a time, a dragon."))
    assert view.toPlainText().count("Once upon a time") == 1


def test_an_answer_with_alternatives_shows_which_and_switches(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_messages([message(1, Role.USER, "q"), _alternative(2, "Second answer", 1, 3)])
    text = view.toPlainText()
    assert "‹ 2/3 ›" in text.replace("\xa0", " ")
    html = view.toHtml()
    assert "folio:alternative/2/0" in html and "folio:alternative/2/2" in html
    with qtbot.waitSignal(view.alternative_requested) as clicked:
        view.anchorClicked.emit(QUrl("folio:alternative/2/0"))
    assert clicked.args == [2, 0]

    view.replace_message(_alternative(2, "First answer", 0, 3))
    text = view.toPlainText()
    assert "First answer" in text and "Second answer" not in text
    assert "1/3" in text
    # The first has no previous one to go to.
    assert "folio:alternative/2/-1" not in view.toHtml()
    assert view.message_ids() == [1, 2]
    # Still the last answer: Regenerate stays under it.
    assert "Regenerate" in text
    # A single answer shows no switcher.
    view.show_messages([message(1, Role.USER, "q"), message(2, Role.ASSISTANT, "Only one")])
    assert "1/1" not in view.toPlainText()


def _long_chat(view: ChatView) -> None:
    chat = []
    for turn in range(30):
        chat.append(message(2 * turn, Role.USER, f"Question {turn}"))
        chat.append(message(2 * turn + 1, Role.ASSISTANT, f"Answer {turn}. " + "Words " * 60))
    view.show_messages(chat)


def _at_bottom(view: ChatView) -> bool:
    bar = view.verticalScrollBar()
    return bar.maximum() > 0 and bar.value() == bar.maximum()


def test_a_narrower_or_wider_view_stays_at_the_newest_message(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    _long_chat(view)
    assert _at_bottom(view)
    for width in (380, 900, 520):
        view.resize(width, 500)
        qtbot.waitUntil(lambda w=width: view.width() == w, timeout=2000)  # type: ignore[misc]
        assert _at_bottom(view), width
    # Shorter too, as when a banner appears above it.
    view.resize(520, 300)
    qtbot.waitUntil(lambda: view.height() == 300, timeout=2000)
    assert _at_bottom(view)


def test_a_reader_who_scrolled_up_keeps_their_place_when_the_view_is_resized(
    qtbot: QtBot,
) -> None:
    view = make_view(qtbot)
    _long_chat(view)
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 3)
    before = view.cursorForPosition(QPoint(0, 0)).position()
    view.resize(420, 500)
    qtbot.waitUntil(lambda: view.width() == 420, timeout=2000)
    assert not _at_bottom(view)
    after = view.cursorForPosition(QPoint(0, 0)).position()
    # The same text is at the top, give or take a line of the new wrapping.
    assert abs(after - before) < 200, (before, after)
    # And an answer being written below does not pull them down.
    view.begin_stream(message(100, Role.ASSISTANT, "", MessageStatus.STREAMING))
    bar.setValue(bar.maximum() // 3)
    position = bar.value()
    view.append_stream_text("More words. " * 50)
    qtbot.waitUntil(lambda: "More words." in view.toPlainText(), timeout=2000)
    assert bar.value() == position
