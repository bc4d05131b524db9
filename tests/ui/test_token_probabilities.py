"""Show token probabilities in the chat: kept with the answer, opened from it after a restart,
and an alternative continued as a new version of the answer."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from desktop.ui.chat.probabilities import PROBABILITIES_KEY, ProbabilityWindow, steps_of
from tests.ui.conftest import WindowFactory
from tests.ui.test_chat_window import messages, send
from tests.ui.test_continue_and_alternatives import reopen


def test_probabilities_are_kept_opened_and_branched_from(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(max_tokens=24, temperature=0.7)
    window.menus.probabilities_action.setChecked(True)
    send(qtbot, window, "The sky is")
    answer = messages(window)[-1]
    steps = steps_of(answer)
    assert len(steps) == answer.meta["completion_tokens"]
    assert all(step.top and step.logprob <= 0 for step in steps)
    assert "Probabilities" in window.chat_view.toPlainText()

    window = reopen(window, make_window)
    answer = messages(window)[-1]
    assert steps_of(answer), "kept with the answer across a restart"
    window.chat_view.anchorClicked.emit(QUrl(f"folio:probabilities/{answer.id}"))
    dialog = window.chat_view.findChild(ProbabilityWindow)
    assert dialog is not None and dialog.isVisible()
    assert "perplexity" in dialog.summary.text()
    # The second token's runner-up: the answer's first token, then that word instead.
    dialog._select(1)
    second = steps_of(answer)[1]
    other = next(i for i, alt in enumerate(second.top) if alt.text != second.text)
    dialog._on_alternative_chosen(other)
    assert dialog.branch_button.isEnabled()
    expected = (steps_of(answer)[0].text + second.top[other].text).lstrip()
    with qtbot.waitSignal(
        window.controller.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy
    ):
        dialog.branch_button.click()
    branched = messages(window)[-1]
    assert branched.content.startswith(expected)
    assert branched.alternative_count == 2, "the original answer stays a version"


def test_without_the_switch_answers_carry_no_probabilities(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(max_tokens=16)
    send(qtbot, window, "Hello")
    assert PROBABILITIES_KEY not in messages(window)[-1].meta
    assert "Probabilities" not in window.chat_view.toPlainText()
