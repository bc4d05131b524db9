"""Where answers come from, in the window: the automatic documents mode, the documents-only
mode, one-click ways out of each, quoted evidence, and what the answer area says while it waits.
Real embedder, real model; nothing here depends on the model's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from desktop.core.chat.messages import MessageStatus
from desktop.core.chat.rag import NOT_FROM_DOCUMENTS, NOT_IN_LIBRARY, sources_from_meta
from desktop.core.chat.scope import DocumentScope
from desktop.ui.chat.answer_html import FROM_DOCUMENTS, FROM_MODEL_NOT_COVERED, NOT_COVERED
from desktop.ui.chat.prompt_inspector import PromptInspector, inspection_of
from desktop.ui.main_window import MainWindow
from tests.support.documents import LEASE_PAGES, REPORT_PAGES, make_pdf
from tests.ui.conftest import WindowFactory
from tests.ui.test_chat_window import send
from tests.ui.test_library_window import add_and_wait, last_answer
from tests.ui.test_library_window import no_modal_boxes as no_modal_boxes


@pytest.fixture
def window(qtbot: QtBot, make_window: WindowFactory, docs: Path) -> MainWindow:
    window = make_window(with_library=True)
    add_and_wait(
        qtbot,
        window,
        [make_pdf(docs / "lease.pdf", LEASE_PAGES), make_pdf(docs / "report.pdf", REPORT_PAGES)],
    )
    return window


def test_adding_documents_leaves_the_chat_automatic(window: MainWindow) -> None:
    assert window.controller.document_scope == DocumentScope.automatic()
    assert window.scope_button.text().startswith("Documents: automatic")


def test_an_ordinary_request_is_answered_by_the_model_and_marked(
    qtbot: QtBot, window: MainWindow
) -> None:
    send(qtbot, window, "Write a haiku about autumn.")

    answer = last_answer(window)
    assert answer.status == MessageStatus.COMPLETE and answer.content.strip()
    assert answer.meta["origin"] == FROM_MODEL_NOT_COVERED
    assert "sources" not in answer.meta
    assert answer.meta["completion_tokens"] > 0, "the model wrote it"
    shown = window.chat_view.toPlainText()
    assert NOT_FROM_DOCUMENTS in shown and "Search the documents anyway" in shown

    # One click: the same question from the documents, whatever their relevance; the poem is
    # kept as the other answer.
    with qtbot.waitSignal(
        window.controller.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy
    ):
        window.chat_view.anchorClicked.emit(QUrl(f"folio:search-anyway/{answer.id}"))

    again = last_answer(window)
    assert again.id == answer.id and again.alternative_count == 2
    assert again.meta["origin"] == FROM_DOCUMENTS and sources_from_meta(again.meta)
    # The chat itself stays automatic.
    assert window.controller.document_scope == DocumentScope.automatic()


def test_a_library_question_is_answered_from_it_with_quoted_evidence(
    qtbot: QtBot, window: MainWindow
) -> None:
    statuses: list[str] = []
    window.controller.stream_status.connect(statuses.append)

    send(qtbot, window, "How much rent does the tenant pay each month?")

    answer = last_answer(window)
    assert answer.meta["origin"] == FROM_DOCUMENTS
    sources = sources_from_meta(answer.meta)
    assert sources[0].file == "lease.pdf" and sources[0].page_start == 1
    quotes = answer.meta["quotes"]
    assert quotes and "1,200 dollars" in quotes[0]["text"] and quotes[0]["n"] == sources[0].number
    shown = window.chat_view.toPlainText()
    assert "From your documents" in shown and "1,200 dollars" in shown
    assert "relevance 0." in shown or "relevance 1." in shown
    # Every wait said what it was: searching, then reading the sources, then nothing.
    assert statuses[0] == "Searching your documents…"
    assert any(status.startswith("Reading ") and "tokens)" in status for status in statuses)
    assert statuses[-1] == ""
    # The prompt inspector shows what the model read: the passages inside the question.
    window.chat_view.anchorClicked.emit(QUrl(f"folio:prompt/{answer.id}"))
    inspector = window.chat_view.findChild(PromptInspector)
    assert inspector is not None and inspector.isVisible()
    inspection = inspection_of(answer)
    assert inspection is not None
    assert "1,200 dollars" in inspection.text and "1,200 dollars" in inspector.text.toPlainText()
    assert sum(part.tokens for part in inspection.parts) == inspection.tokens
    assert "lease.pdf" in inspector.sources.text() and "relevance" in inspector.sources.text()


def test_documents_only_declines_and_offers_the_model_in_one_click(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.scope_button.all_action.trigger()
    assert window.controller.document_scope == DocumentScope.whole_library()

    send(qtbot, window, "Write a haiku about autumn.")

    answer = last_answer(window)
    assert answer.content == NOT_IN_LIBRARY and answer.meta["origin"] == NOT_COVERED
    assert "completion_tokens" not in answer.meta, "the model was not asked"
    assert "Answer without documents" in window.chat_view.toPlainText()

    with qtbot.waitSignal(
        window.controller.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy
    ):
        window.chat_view.anchorClicked.emit(QUrl(f"folio:answer-plain/{answer.id}"))

    again = last_answer(window)
    assert again.id == answer.id and again.content != NOT_IN_LIBRARY
    assert again.meta.get("completion_tokens", 0) > 0 and "sources" not in again.meta
    assert window.controller.document_scope == DocumentScope.whole_library()


def test_a_chat_with_an_empty_library_is_plain_chat(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(with_library=True)

    send(qtbot, window, "Say hello.")

    answer = last_answer(window)
    assert "origin" not in answer.meta and "sources" not in answer.meta
    assert NOT_FROM_DOCUMENTS not in window.chat_view.toPlainText()


def test_a_quote_opens_its_page_with_the_quoted_sentence_highlighted(
    qtbot: QtBot, window: MainWindow
) -> None:
    send(qtbot, window, "How much rent does the tenant pay each month?")
    answer = last_answer(window)
    quote = answer.meta["quotes"][0]

    window.chat_view.anchorClicked.emit(QUrl(f"folio:quote/{answer.id}/0"))

    viewer = window.viewer
    assert viewer is not None and viewer.isVisible()
    source = next(s for s in sources_from_meta(answer.meta) if s.number == quote["n"])
    assert viewer.page_box.value() == source.page_start
    assert viewer.highlighted_phrase and viewer.highlighted_phrase in quote["text"]
    viewer.close()
