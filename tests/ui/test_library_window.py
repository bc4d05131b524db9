"""The document library in the window, driven as a user would: real embedder, real model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.core.chat.messages import Message, MessageStatus, Role
from desktop.core.chat.rag import NOT_IN_LIBRARY, sources_from_meta
from desktop.core.chat.scope import DocumentScope
from desktop.core.documents.records import DocumentStatus
from desktop.ui.library.table import DocumentTableModel
from desktop.ui.library.viewer import Passage
from desktop.ui.main_window import MainWindow
from desktop.ui.widgets.record_table import RECORD_ROLE
from tests.support.documents import (
    LEASE_PAGES,
    REPORT_PAGES,
    encrypt_pdf,
    make_pdf,
)
from tests.ui.conftest import WindowFactory, quit_window
from tests.ui.test_chat_window import send

INDEXING_TIMEOUT = 120_000


@pytest.fixture(autouse=True)
def no_modal_boxes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Message boxes answer Yes and are recorded, so that no test waits on a modal dialog."""
    shown: list[tuple[str, str]] = []

    def record(_parent: Any, title: str, text: str, *_args: Any) -> QMessageBox.StandardButton:
        shown.append((title, text))
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "warning", record)
    monkeypatch.setattr(QMessageBox, "question", record)
    return shown


def drop(window: MainWindow, paths: list[Path]) -> None:
    """What dropping files from a file manager onto the window delivers."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(
        QPointF(200, 200),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert event.isAccepted()


def add_and_wait(qtbot: QtBot, window: MainWindow, paths: list[Path]) -> None:
    library = window.library
    assert library is not None
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        window.add_documents(paths)


def wait_for_progress(qtbot: QtBot, window: MainWindow) -> None:
    """Until the progress line shows pages being indexed.

    Frequent signals from worker threads are not waited on with ``waitSignal``: deliveries
    still queued when its temporary receiver is gone would reach a freed Python object.
    """
    pane = window.library_pane
    assert pane is not None
    qtbot.waitUntil(lambda: "pages/s" in pane.progress_label.text(), timeout=INDEXING_TIMEOUT)


def table_rows(window: MainWindow) -> dict[str, list[str]]:
    """The cells of each row as shown, in the order shown, by the document's file name."""
    pane = window.library_pane
    assert pane is not None
    model = pane.proxy
    rows: dict[str, list[str]] = {}
    for row in range(model.rowCount()):
        cells = [model.index(row, column).data() for column in range(model.columnCount())]
        rows[model.index(row, 0).data(RECORD_ROLE).name] = cells
    return rows


def last_answer(window: MainWindow) -> Message:
    conversation = window.controller.current_conversation
    assert conversation is not None
    answer = window.store.messages(conversation)[-1]
    assert answer.role == Role.ASSISTANT
    return answer


def long_report(pages: int) -> list[str]:
    return [
        f"CHAPTER {n}\nThe quarterly review of warehouse {n} covers inventory, staffing and "
        f"the delivery fleet. Section {n} lists the suppliers and their contract terms."
        for n in range(1, pages + 1)
    ]


def test_dropped_files_are_indexed_with_their_status_in_the_table(
    qtbot: QtBot, make_window: WindowFactory, docs: Path, no_modal_boxes: list[tuple[str, str]]
) -> None:
    window = make_window(with_library=True)
    pane = window.library_pane
    assert pane is not None and not pane.isVisible()
    assert pane.stack.currentWidget() is pane.empty_label
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    fake = docs / "fake.pdf"
    fake.write_text("not a pdf at all")
    notes = docs / "notes ü.md"
    notes.write_text("# Notes\n\nThe boiler is serviced every October by the landlord.\n")
    spreadsheet = docs / "budget.xlsx"
    spreadsheet.write_bytes(b"PK\x03\x04")

    library = window.library
    assert library is not None
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        drop(window, [lease, fake, notes, spreadsheet])

    assert pane.isVisible(), "dropping documents shows the library"
    rows = table_rows(window)
    assert set(rows) == {"lease.pdf", "fake.pdf", "notes ü.md"}
    assert rows["lease.pdf"][DocumentTableModel.NAME] == "RESIDENTIAL LEASE AGREEMENT"
    assert rows["lease.pdf"][DocumentTableModel.PAGES] == "2"
    assert rows["lease.pdf"][DocumentTableModel.STATUS] == "Ready"
    assert rows["notes ü.md"][DocumentTableModel.NAME] == "Notes"
    assert rows["notes ü.md"][DocumentTableModel.STATUS] == "Ready"
    assert rows["fake.pdf"][DocumentTableModel.STATUS] == "Failed"
    # The file that is not a document was refused with its reason, and the rest went on.
    assert len(no_modal_boxes) == 1 and "budget.xlsx" in no_modal_boxes[0][1]
    assert pane.summary_label.text() == "3 documents · 3 pages searchable · 1 failed"
    # The end of the run is told where the user looks, with what needs them.
    assert pane.progress_box.isVisible() and not pane.progress_bar.isVisible()
    assert pane.progress_box.shown_text() == (
        "✓  Indexing finished: 2 of 3 documents indexed, 3 pages searchable\n"
        "1 could not be read. Select it to see why and what to do. Show it"
    )

    # Selecting the failed file tells why.
    failed = next(d for d in library.documents() if d.name == "fake.pdf")
    pane.select_document(failed.id)
    assert pane.detail_label.isVisible()
    assert "isn't a PDF, although its name ends in .pdf" in pane.detail_label.text()

    # Adding the same file again indexes nothing new.
    window.add_documents([lease])
    qtbot.waitUntil(lambda: "already in the library" in window.statusBar().currentMessage())
    assert len(library.documents()) == 3


def test_progress_can_be_paused_resumed_and_stopped(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    pane = window.library_pane
    library = window.library
    assert pane is not None and library is not None
    big = make_pdf(docs / "warehouses.pdf", long_report(200))

    window.add_documents([big])
    wait_for_progress(qtbot, window)
    # The page being indexed when Pause is pressed is finished (with its batch of vectors);
    # the run then holds, and says so.
    with qtbot.waitSignal(library.indexing_held, timeout=INDEXING_TIMEOUT):
        qtbot.mouseClick(pane.pause_button, Qt.MouseButton.LeftButton)
        assert library.is_paused() and pane.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: pane.progress_label.text().startswith("Paused · "))
    done = pane.progress_bar.value()
    qtbot.wait(300)  # an observation window: the run is held, nothing may move
    assert pane.progress_bar.value() == done, "no page is indexed while paused"
    assert pane.progress_label.text() == f"Paused · {done:,} of 200 pages searchable"
    # The line under the pane's title counts the same pages.
    assert pane.summary_label.text() == f"1 document · {done:,} of 200 pages searchable"

    qtbot.mouseClick(pane.pause_button, Qt.MouseButton.LeftButton)
    assert not library.is_paused() and pane.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: "pages/s" in pane.progress_label.text(), timeout=30_000)

    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT) as stopped:
        qtbot.mouseClick(pane.cancel_button, Qt.MouseButton.LeftButton)
    assert stopped.args == [True]
    assert library.documents()[0].status == DocumentStatus.QUEUED
    assert pane.progress_box.isVisible()
    assert pane.progress_label.text() == "Indexing stopped: 1 document waits."

    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        qtbot.mouseClick(pane.pause_button, Qt.MouseButton.LeftButton)  # “Resume”
    assert library.documents()[0].status == DocumentStatus.READY
    assert table_rows(window)["warehouses.pdf"][DocumentTableModel.STATUS] == "Ready"
    assert pane.progress_box.shown_text() == (
        "✓  Indexing finished: 1 document, 200 pages searchable"
    )
    assert pane.summary_label.text() == "1 document · 200 pages searchable"
    # It stays told while nothing happens to the library: reading it again changes nothing.
    with qtbot.waitSignal(library.documents_changed, timeout=INDEXING_TIMEOUT):
        library.refresh()
    assert pane.progress_box.isVisible() and pane.progress_box.showing_done
    # The next thing done to the library makes it old news.
    with qtbot.waitSignal(library.documents_changed, timeout=INDEXING_TIMEOUT):
        library.remove([library.documents()[0].id])
    assert not pane.progress_box.isVisible()


def test_an_answer_from_the_documents_cites_sources_that_open_the_page(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    add_and_wait(
        qtbot,
        window,
        [make_pdf(docs / "lease.pdf", LEASE_PAGES), make_pdf(docs / "report.pdf", REPORT_PAGES)],
    )
    # A chat answers from the documents when they cover the question; adding them changes
    # no chat's mode.
    assert window.controller.document_scope == DocumentScope.automatic()
    assert window.scope_button.text().startswith("Documents: automatic")

    send(qtbot, window, "Who mows the lawn and keeps the garden tidy?")

    answer = last_answer(window)
    assert answer.status == MessageStatus.COMPLETE and answer.content.strip()
    sources = sources_from_meta(answer.meta)
    assert sources and sources[0].file == "lease.pdf" and sources[0].page_start == 2
    shown = window.chat_view.toPlainText()
    assert "Sources" in shown and "[1] lease.pdf, page 2" in shown
    # The question itself was saved as typed, not with the sources pasted in.
    assert window.store.messages(answer.conversation_id)[0].content.startswith("Who mows")

    window.chat_view.anchorClicked.emit(QUrl(f"folio:source/{answer.id}/1"))
    viewer = window.viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.stack.currentWidget() is viewer.pdf_view
    assert viewer.page_box.value() == 2
    assert "garden" in viewer.highlighted_phrase or "lawn" in viewer.highlighted_phrase
    assert "highlighted" in viewer.caption_label.text()
    assert viewer.system_button.isEnabled()

    # Checked, it goes away with Esc.
    viewer.activateWindow()
    qtbot.waitUntil(viewer.isActiveWindow)
    qtbot.keyClick(viewer.pdf_view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not viewer.isVisible())


def test_an_inline_citation_is_a_link_to_its_source(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    add_and_wait(qtbot, window, [make_pdf(docs / "lease.pdf", LEASE_PAGES)])
    send(qtbot, window, "How much is the rent?")
    answer = last_answer(window)
    # Whatever the tiny model wrote, an answer citing [1] renders it as a link to source 1.
    window.store.finish_message(answer.id, "Rent is 1,200 dollars [1].", MessageStatus.COMPLETE)
    window.controller.open_conversation(answer.conversation_id)

    html = window.chat_view.toHtml()
    # In the answer's text and in the list of sources; the quoted evidence links to its quote.
    assert html.count(f'href="folio:source/{answer.id}/1"') == 2
    assert f'href="folio:quote/{answer.id}/0"' in html
    assert "[1] written by the model" in window.chat_view.toPlainText()


def test_a_question_the_library_cannot_answer_is_not_invented(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    add_and_wait(qtbot, window, [make_pdf(docs / "lease.pdf", LEASE_PAGES)])
    # Documents only: the automatic mode would let the model answer (test_documents_mode.py).
    window.scope_button.all_action.trigger()

    send(qtbot, window, "What is the best recipe for sourdough bread?")

    answer = last_answer(window)
    assert answer.content == NOT_IN_LIBRARY
    assert answer.meta.get("finish_reason") == "not_in_library"
    assert "completion_tokens" not in answer.meta, "the model was not asked"


def test_a_question_asked_while_indexing_says_what_is_not_indexed_yet(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    library = window.library
    assert library is not None
    add_and_wait(qtbot, window, [make_pdf(docs / "lease.pdf", LEASE_PAGES)])
    window.add_documents([make_pdf(docs / "warehouses.pdf", long_report(200))])
    wait_for_progress(qtbot, window)
    library.pause()

    send(qtbot, window, "When is the rent paid?")

    answer = last_answer(window)
    assert answer.meta.get("not_indexed") == ["warehouses.pdf"]
    assert (
        "Still being indexed, so passages may be missing: warehouses.pdf."
        in window.chat_view.toPlainText()
    )
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        library.resume()


def test_each_chat_keeps_its_own_documents(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    pane = window.library_pane
    library = window.library
    assert pane is not None and library is not None
    add_and_wait(
        qtbot,
        window,
        [make_pdf(docs / "lease.pdf", LEASE_PAGES), make_pdf(docs / "report.pdf", REPORT_PAGES)],
    )
    report = next(d for d in library.documents() if d.name == "report.pdf")
    pane.select_document(report.id)
    window.scope_button.refresh_menu()
    assert window.scope_button.selected_action.text() == "Answer from the 1 selected document"
    window.scope_button.selected_action.trigger()
    assert window.controller.document_scope == DocumentScope.only((report.id,))
    assert window.scope_button.text().startswith("report.pdf")

    send(qtbot, window, "Who repairs the heating and the roof?")
    first_chat = window.controller.current_conversation
    assert {s.file for s in sources_from_meta(last_answer(window).meta)} <= {"report.pdf"}

    window.controller.new_conversation()
    window.scope_button.off_action.trigger()
    send(qtbot, window, "Say hello.")
    assert "sources" not in last_answer(window).meta

    assert first_chat is not None
    window.controller.open_conversation(first_chat)
    assert window.controller.document_scope == DocumentScope.only((report.id,))


def test_removing_a_document_and_opening_one_that_moved(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    pane = window.library_pane
    library = window.library
    assert pane is not None and library is not None
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    notes = docs / "notes.txt"
    notes.write_text("Pick up the keys from the agency on Friday.\nThe deposit is 2,400 euros.\n")
    add_and_wait(qtbot, window, [lease, notes])

    # A text file opens as text, with the passage marked.
    record = next(d for d in library.documents() if d.name == "notes.txt")
    viewer = window.open_passage(
        Passage(record.path, record.name, 1, "The deposit is 2,400 euros.")
    )
    assert viewer.stack.currentWidget() is viewer.text_view
    assert viewer.highlighted_phrase == "The deposit is 2,400 euros"
    assert len(viewer.text_view.extraSelections()) == 1

    # A file moved after indexing: the table says so and the viewer explains.
    lease.rename(docs / "lease-moved.pdf")
    library.refresh()  # as coming back to the window, or showing the library, does
    qtbot.waitUntil(lambda: table_rows(window)["lease.pdf"][-1] == "File missing")
    moved = next(d for d in library.documents() if d.name == "lease.pdf")
    viewer = window.open_passage(Passage(moved.path, moved.name, 1, "The tenant shall pay rent"))
    assert viewer.stack.currentWidget() is viewer.message_label
    assert "moved or deleted" in viewer.message_label.text()
    assert not viewer.system_button.isEnabled()

    pane.select_document(record.id)
    pane.remove_action.trigger()
    qtbot.waitUntil(lambda: set(table_rows(window)) == {"lease.pdf"})


def test_a_password_protected_pdf_can_be_unlocked_from_the_table(
    qtbot: QtBot, make_window: WindowFactory, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(with_library=True)
    pane = window.library_pane
    library = window.library
    assert pane is not None and library is not None
    locked = encrypt_pdf(make_pdf(docs / "statement.pdf", LEASE_PAGES), "secret")
    add_and_wait(qtbot, window, [locked])
    assert table_rows(window)["statement.pdf"][DocumentTableModel.STATUS] == "Needs attention"

    record = library.documents()[0]
    pane.select_document(record.id)
    assert pane.password_action.isEnabled()
    assert "password" in pane.detail_label.text()
    asked: list[str] = []

    def answer(_parent: Any, _title: str, label: str, *_args: Any) -> tuple[str, bool]:
        asked.append(label)
        return "secret", True

    monkeypatch.setattr(QInputDialog, "getText", answer)
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        pane.password_action.trigger()

    assert asked and "statement.pdf" in asked[0]
    qtbot.waitUntil(lambda: table_rows(window)["statement.pdf"][-1] == "Ready")


def test_a_new_embedding_model_is_offered_and_everything_is_indexed_again(
    qtbot: QtBot,
    make_window: WindowFactory,
    docs: Path,
    tmp_path: Path,
    starter_embedder_file: Path,
    no_modal_boxes: list[tuple[str, str]],
) -> None:
    window = make_window(with_library=True)
    library = window.library
    assert library is not None
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        window.add_documents([make_pdf(docs / "lease.pdf", LEASE_PAGES)])

    other = tmp_path / "models" / "another-embedder.gguf"
    other.parent.mkdir()
    other.write_bytes(starter_embedder_file.read_bytes())
    with (
        qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT),
        qtbot.waitSignal(library.embedder_switched, timeout=60_000),
    ):
        window.choose_embedding_model(other)
    # The switch was explained and agreed to before anything changed.
    assert any("embedding model" in title.lower() for title, _ in no_modal_boxes)
    assert window.settings.documents.embedding_model == str(other)
    assert library.library is not None and library.library.embedder_changed
    (record,) = library.documents()
    assert record.status == DocumentStatus.READY
    hits = library.library.search("When is the rent due?", k=3)
    assert hits and hits[0].similarity is not None


def test_an_embedding_model_that_cannot_serve_leaves_the_library_as_it_was(
    qtbot: QtBot,
    make_window: WindowFactory,
    docs: Path,
    templateless_model: Path,
    no_modal_boxes: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_window(with_library=True)
    library = window.library
    assert library is not None
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        window.add_documents([make_pdf(docs / "lease.pdf", LEASE_PAGES)])
    errors: list[str] = []
    monkeypatch.setattr(
        "desktop.ui.library.settings_link.show_error",
        lambda _parent, message: errors.append(message),
    )
    # A chat model is not an embedding model: refused, and nothing changes.
    with qtbot.waitSignal(library.embedder_switch_failed, timeout=60_000):
        window.choose_embedding_model(templateless_model)
    assert errors and "chat model" in errors[0]
    assert window.settings.documents.embedding_model == ""
    (record,) = library.documents()
    assert record.status == DocumentStatus.READY
    assert library.library is not None
    hits = library.library.search("When is the rent due?", k=3)
    assert hits and hits[0].similarity is not None


def test_a_new_passage_size_offers_to_index_again(
    qtbot: QtBot, make_window: WindowFactory, docs: Path, no_modal_boxes: list[tuple[str, str]]
) -> None:
    window = make_window(with_library=True)
    library = window.library
    assert library is not None and library.library is not None
    long_page = "\n".join(
        f"Rule {n}. Bicycles are kept in the courtyard rack number {n}, never in the hall."
        for n in range(1, 30)
    )
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        window.add_documents([make_pdf(docs / "house rules.pdf", [long_page])])
    (record,) = library.documents()
    before = record.chunks
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        dialog = window.open_settings()
        dialog.editor("chunk_size").set_value(2000)
        assert dialog.apply()
    assert any("index your documents again" in title.lower() for title, _ in no_modal_boxes)
    (record,) = library.documents()
    assert record.status == DocumentStatus.READY
    assert 0 < record.chunks < before
    dialog.reject()


def test_the_documents_pane_reopens_as_it_was_left(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    def reopen(window: MainWindow) -> MainWindow:
        library = window.library
        assert library is not None
        quit_window(window)
        library.close()
        return make_window(with_library=True)

    window = make_window(with_library=True)
    assert window.library_pane is not None and not window.library_pane.isVisible()
    window.show_library()

    window = reopen(window)
    assert window.library_pane is not None and window.library_pane.isVisible()
    assert window.header.library_button.isChecked()

    window.menus.show_library_action.trigger()
    assert not window.library_pane.isVisible()
    window = reopen(window)
    assert window.library_pane is not None and not window.library_pane.isVisible()
