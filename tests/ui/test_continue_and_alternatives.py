"""What a new user met in the chat window, on the real starter model: Continue under an answer
cut short, Regenerate keeping the earlier answer, the window reopening as it was left, and a
conversation that keeps its title and its newest message in view when the documents open."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from pytestqt.qtbot import QtBot

from desktop.core.chat.messages import Message, MessageStatus, Role
from desktop.core.llm.engine import ChatRequest
from desktop.ui.chat.header import TITLE_MIN_WIDTH
from desktop.ui.main_window import MainWindow
from desktop.ui.panes import CHAT_MIN_WIDTH
from tests.ui.conftest import WindowFactory, quit_window
from tests.ui.test_chat_window import LONG_ANSWER, current, messages, send, start_long_answer


def click_and_wait(qtbot: QtBot, window: MainWindow, url: str) -> None:
    """Click a link in the chat and wait until the answer it starts is written."""
    with qtbot.waitSignal(
        window.controller.busy_changed, timeout=60_000, check_params_cb=lambda busy: busy is False
    ):
        window.chat_view.anchorClicked.emit(QUrl(url))


def plain(window: MainWindow) -> str:
    return window.chat_view.toPlainText().replace("\xa0", " ")


def reopen(window: MainWindow, make_window: WindowFactory) -> MainWindow:
    """Quit and start again on the same FOLIO_HOME."""
    library = window.library
    quit_window(window)
    if library is not None:
        library.close()
    return make_window(with_library=library is not None)


# -- Continue -----------------------------------------------------------------------------------


def test_an_answer_cut_at_the_length_limit_is_continued_in_place(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(max_tokens=16)
    send(qtbot, window, LONG_ANSWER)
    cut = messages(window)[-1]
    assert cut.meta["finish_reason"] == "length"
    assert "Cut off at the answer length limit" in plain(window)
    assert "Continue" in plain(window)
    requests: list[ChatRequest] = []
    window.controller.request_sent.connect(requests.append)

    click_and_wait(qtbot, window, f"folio:continue/{cut.id}")

    after = messages(window)
    assert [m.role for m in after] == [Role.USER, Role.ASSISTANT]
    longer = after[-1]
    # The same answer, written on: its first part kept as it was, more after it.
    assert longer.id == cut.id
    assert longer.content.startswith(cut.content.rstrip())
    assert len(longer.content) > len(cut.content.rstrip())
    assert longer.meta["completion_tokens"] > cut.meta["completion_tokens"]
    assert longer.meta["continued"] == 1
    # The model was shown the answer so far, not asked to answer again from scratch.
    assert requests[-1].continue_from == cut.content.rstrip()
    assert requests[-1].question == cut_question(window).content
    # One answer on screen, the whole of it.
    assert window.chat_view.message_ids() == [after[0].id, cut.id]
    assert plain(window).count(longer.content.split()[0]) >= 1
    if longer.meta["finish_reason"] == "length":
        assert "Continue" in plain(window)


def cut_question(window: MainWindow) -> Message:
    return messages(window)[0]


def test_a_stopped_answer_can_be_continued(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window(max_tokens=400, temperature=0.8)
    start_long_answer(qtbot, window)
    with qtbot.waitSignal(window.controller.busy_changed, timeout=10_000):
        qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    stopped = messages(window)[-1]
    assert stopped.status is MessageStatus.INTERRUPTED
    assert "Continue" in plain(window)

    with qtbot.waitSignal(window.controller.stream_text, timeout=60_000):
        window.chat_view.anchorClicked.emit(QUrl(f"folio:continue/{stopped.id}"))
    # No Regenerate or Continue while it is being written.
    assert "Continue" not in plain(window)
    with qtbot.waitSignal(window.controller.busy_changed, timeout=10_000):
        qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)

    again = messages(window)[-1]
    assert again.id == stopped.id
    assert again.status is MessageStatus.INTERRUPTED
    assert again.content.startswith(stopped.content.rstrip())
    assert len(again.content) > len(stopped.content.rstrip())


def test_only_the_last_answer_cut_short_can_be_continued(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(max_tokens=16)
    send(qtbot, window, LONG_ANSWER)
    send(qtbot, window, "And another one?")
    first_answer = messages(window)[1]
    assert not window.controller.continue_answer(first_answer.id)
    assert plain(window).count("Continue") <= 1


# -- Regenerate keeps the earlier answer --------------------------------------------------------


def test_regenerate_keeps_the_earlier_answer_to_switch_back_to(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(temperature=0.9, seed=-1)
    send(qtbot, window, "Name a colour.")
    first = messages(window)[-1]
    assert "1/1" not in plain(window)

    click_and_wait(qtbot, window, f"folio:regenerate/{first.id}")
    second = messages(window)[-1]
    assert second.id == first.id
    assert (second.alternative_index, second.alternative_count) == (1, 2)
    assert "‹ 2/2 ›" in plain(window)

    window.chat_view.anchorClicked.emit(QUrl(f"folio:alternative/{first.id}/0"))
    shown = messages(window)[-1]
    assert shown.content == first.content and shown.meta == first.meta
    assert "‹ 1/2 ›" in plain(window)
    assert first.content.split()[0] in plain(window)
    # The answer chosen is the one the next question follows.
    requests: list[ChatRequest] = []
    window.controller.request_sent.connect(requests.append)
    send(qtbot, window, "Why that one?")
    assert requests[-1].history[-1]["content"] == first.content

    # The choice is kept: the chat reopens with it.
    chat = current(window)
    window = reopen(window, make_window)
    window.controller.open_conversation(chat)
    assert window.store.messages(chat)[1].content == first.content
    assert "1/2" in plain(window)


def test_the_chat_menu_continues_and_switches_the_last_answer(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(max_tokens=16, temperature=0.9, seed=-1)
    send(qtbot, window, LONG_ANSWER)
    cut = messages(window)[-1]
    assert cut.meta["finish_reason"] == "length"

    with qtbot.waitSignal(
        window.controller.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy
    ):
        window.menus.continue_action.trigger()
    assert messages(window)[-1].id == cut.id
    assert len(messages(window)[-1].content) > len(cut.content.rstrip())

    click_and_wait(qtbot, window, f"folio:regenerate/{cut.id}")
    assert messages(window)[-1].alternative_index == 1
    window.menus.previous_answer_action.trigger()
    assert messages(window)[-1].alternative_index == 0
    window.menus.previous_answer_action.trigger()  # already the first: nothing happens
    assert messages(window)[-1].alternative_index == 0
    window.menus.next_answer_action.trigger()
    assert messages(window)[-1].alternative_index == 1


# -- The window reopens as it was left ----------------------------------------------------------


def test_the_window_reopens_on_the_chat_it_was_left_on(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    send(qtbot, window, "What is the capital of France?")
    france = current(window)
    window.menus.new_action.trigger()
    send(qtbot, window, "Name a colour.")
    sidebar = window.sidebar
    sidebar.list_view.setCurrentIndex(sidebar.model.index(sidebar.model.row_of(france)))
    assert window.controller.current_conversation == france

    window = reopen(window, make_window)
    assert window.controller.current_conversation == france
    assert "What is the capital of France?" in plain(window)
    assert window.header.title_label.full_text().startswith("What is the capital of France")
    selected = window.sidebar.list_view.currentIndex()
    assert window.sidebar.model.conversation_at(selected.row()).id == france  # type: ignore[union-attr]

    # Left on a new chat, it opens on a new chat.
    window.menus.new_action.trigger()
    window = reopen(window, make_window)
    assert window.controller.current_conversation is None
    assert "Ask anything" in plain(window)


def test_the_panes_reopen_at_the_widths_they_were_left_at(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    def widen(window: MainWindow) -> None:
        # The test screen is narrower than a desktop's; the widths come once there is room.
        window.resize(1300, 800)
        qtbot.waitUntil(lambda: window.width() == 1300)

    window = make_window(with_library=True)
    widen(window)
    window.show_library()
    splitter = window.splitter
    total = sum(splitter.sizes())
    splitter.setSizes([230, total - 230 - 450, 450])
    assert splitter.sizes()[0] == 230 and splitter.sizes()[2] == 450

    window = reopen(window, make_window)
    pane = window.library_pane
    assert pane is not None and pane.isVisible()
    assert window.header.library_button.isChecked()
    assert window.menus.show_library_action.isChecked()
    widen(window)
    qtbot.waitUntil(lambda: window.splitter.sizes()[0] == 230 and window.splitter.sizes()[2] == 450)

    # Hidden, it reopens hidden, and opens at the width it had.
    window.menus.show_library_action.trigger()
    assert not pane.isVisible()
    window = reopen(window, make_window)
    pane = window.library_pane
    assert pane is not None and not pane.isVisible()
    widen(window)
    qtbot.waitUntil(lambda: window.splitter.sizes()[0] == 230)
    window.show_library()
    assert window.splitter.sizes()[2] == 450, window.splitter.sizes()


# -- The documents pane beside the conversation -------------------------------------------------


def _long_chat(window: MainWindow) -> int:
    store = window.store
    chat = store.create_conversation()
    for turn in range(25):
        store.add_message(chat, Role.USER, f"What is the capital of country number {turn}?")
        store.add_message(chat, Role.ASSISTANT, f"Answer {turn}. " + "Words of an answer. " * 30)
    window.sidebar.refresh()
    window.controller.open_conversation(chat)
    return chat


def _at_newest(window: MainWindow) -> bool:
    bar = window.chat_view.verticalScrollBar()
    return bar.maximum() > 0 and bar.value() == bar.maximum()


def test_opening_the_documents_leaves_the_title_readable_and_the_newest_message_in_view(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(with_library=True)
    _long_chat(window)
    assert _at_newest(window)
    title = window.header.title_label
    assert title.full_text().startswith("What is the capital of country number 0")

    window.show_library()
    # The window grows to make room for the pane (the test screen is narrow).
    qtbot.waitUntil(lambda: window.splitter.sizes()[1] >= CHAT_MIN_WIDTH)
    chat_width = window.splitter.sizes()[1]
    header = window.header
    # The title keeps most of the header's width, the buttons their whole size.
    assert title.width() >= max(TITLE_MIN_WIDTH, chat_width // 2)
    assert title.text().startswith("What is the capital of country")
    for button in (header.library_button, header.tuning_button, header.open_model_button):
        assert button.width() >= button.minimumSizeHint().width()
    assert _at_newest(window)

    for width in (window.width() + 200, window.minimumSizeHint().width()):
        window.resize(width, window.height())
        qtbot.waitUntil(lambda w=width: window.width() == w, timeout=5000)  # type: ignore[misc]
        assert _at_newest(window), width

    window.show_library()
    window.menus.show_library_action.trigger()
    assert _at_newest(window)
