"""The transcript view on its own: rendering, coalesced streaming, copy links."""

from __future__ import annotations

import time

from PySide6.QtCore import QUrl
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
