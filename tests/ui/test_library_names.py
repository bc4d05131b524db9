"""What the library pane calls its documents and how it tells the end of indexing: titles
with file names under them, one count of searchable pages, what needs the user."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.core.documents.library import Library
from desktop.core.documents.records import DocumentStatus
from desktop.core.embedding.embedder import Embedder
from desktop.core.paths import app_paths
from desktop.ui.library.table import DocumentTableModel
from tests.support.documents import (
    LEASE_PAGES,
    REPORT_PAGES,
    Line,
    encrypt_pdf,
    forget_headings,
    make_pdf,
)
from tests.ui.conftest import WindowFactory
from tests.ui.test_library_window import INDEXING_TIMEOUT, add_and_wait, table_rows
from tests.ui.test_library_window import no_modal_boxes as no_modal_boxes

HASHED = "a4f3ced0696009fec3179f493e4f28c4.pdf"


def test_documents_are_called_by_their_titles_with_the_file_name_under_them(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    pane = window.library_pane
    library = window.library
    assert pane is not None and library is not None
    window.show_library()
    opinion = make_pdf(
        docs / HASHED,
        [[Line("United States Court of Appeals", 24), Line("No. 21-13199", 12)], "Opinion"],
        title="Microsoft Word - 21-13199.docx",
    )
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES, title="Residential Lease, Flat 3")
    report = make_pdf(docs / "report_2017.pdf", REPORT_PAGES)

    add_and_wait(qtbot, window, [opinion, lease, report])

    # One count of searchable pages, the same above the documents and below them.
    assert pane.summary_label.text() == "3 documents · 6 pages searchable"
    assert pane.progress_box.shown_text() == (
        "✓  Indexing finished: 3 documents, 6 pages searchable"
    )
    # Sorted by what they are called, the junk metadata title passed over for the heading.
    rows = table_rows(window)
    assert [cells[DocumentTableModel.NAME] for cells in rows.values()] == [
        "ANNUAL REPORT 2017",
        "Residential Lease, Flat 3",
        "United States Court of Appeals",
    ]
    assert list(rows) == ["report_2017.pdf", "lease.pdf", HASHED]
    # Each row shows the file name under the title.
    assert pane.table.rowHeight(0) >= 2 * pane.table.fontMetrics().height()
    record = next(d for d in library.documents() if d.name == HASHED)
    tooltip = pane.proxy.index(2, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.splitlines()[:2] == ["United States Court of Appeals", str(record.path)]
    pane.select_document(record.id)
    assert "<b>United States Court of Appeals</b>" in pane.detail_label.text()
    assert "2 pages · " in pane.detail_label.text()

    # The filter finds a document by its title or by its file name.
    qtbot.keyClicks(pane.filter_box, "court")
    assert list(table_rows(window)) == [HASHED]
    pane.filter_box.clear()
    qtbot.keyClicks(pane.filter_box, "REPORT_20")
    assert list(table_rows(window)) == ["report_2017.pdf"]
    pane.filter_box.clear()
    assert len(table_rows(window)) == 3


def test_a_library_from_before_titles_shows_them_without_indexing_again(
    qtbot: QtBot, make_window: WindowFactory, docs: Path, embedder: Embedder
) -> None:
    folder = app_paths().ensure().data / "library"
    make_pdf(
        docs / HASHED,
        [[Line("United States Court of Appeals", 24), Line("No. 21-13199", 12)], "Opinion"],
        title="Microsoft Word - 21-13199.docx",
    )
    old = Library(folder, embedder)
    old.add([docs])
    old.index_queued()
    old.close()
    forget_headings(folder)

    window = make_window(with_library=True)
    pane = window.library_pane
    library = window.library
    assert pane is not None and library is not None
    runs: list[bool] = []
    library.indexing_started.connect(lambda: runs.append(True))

    qtbot.waitUntil(
        lambda: (
            table_rows(window)[HASHED][DocumentTableModel.NAME] == "United States Court of Appeals"
        ),
        timeout=INDEXING_TIMEOUT,
    )
    assert table_rows(window)[HASHED][DocumentTableModel.STATUS] == "Ready"
    assert runs == [] and not library.is_indexing(), "its title was read, nothing indexed again"
    assert pane.summary_label.text() == "1 document · 2 pages searchable"


def test_the_end_of_indexing_points_to_what_needs_the_user(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    pane = window.library_pane
    library = window.library
    assert pane is not None and library is not None
    window.show_library()
    locked = encrypt_pdf(make_pdf(docs / "statement.pdf", LEASE_PAGES), "secret")
    scan = make_pdf(docs / "scan.pdf", ["", ""])
    fake = docs / "fake.pdf"
    fake.write_text("not a pdf at all")

    add_and_wait(qtbot, window, [make_pdf(docs / "report.pdf", REPORT_PAGES), locked, scan, fake])

    assert pane.summary_label.text() == (
        "4 documents · 2 pages searchable · 1 failed · 2 need attention"
    )
    assert pane.progress_box.shown_text() == (
        "✓  Indexing finished: 1 of 4 documents indexed, 2 pages searchable\n"
        "1 could not be read and 2 need attention. Select one to see why and what to do. "
        "Show them"
    )
    # The link selects the first of them, and the detail box says what to do.
    pane.progress_label.linkActivated.emit("show-problems")
    (selected,) = pane.selected_records()
    assert selected.status in (DocumentStatus.FAILED, DocumentStatus.NEEDS_ATTENTION)
    assert pane.detail_label.isVisible() and selected.message

    # Once the documents change, that news is old.
    library.remove([record.id for record in library.documents() if record.name != "report.pdf"])
    qtbot.waitUntil(lambda: list(table_rows(window)) == ["report.pdf"])
    assert not pane.progress_box.isVisible()
    assert pane.summary_label.text() == "1 document · 2 pages searchable"
