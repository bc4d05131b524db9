"""What the library calls its documents and how it counts them, as indexing finds them out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from desktop.core.documents.library import Library
from desktop.core.documents.records import (
    DocumentRecord,
    DocumentStatus,
    IndexProgress,
    LibraryCounts,
)
from desktop.core.embedding.embedder import Embedder
from tests.core.documents.test_library import docs as docs
from tests.core.documents.test_library import library as library
from tests.support.documents import (
    LEASE_PAGES,
    REPORT_PAGES,
    Line,
    by_name,
    forget_headings,
    make_pdf,
)

HASHED = "a4f3ced0696009fec3179f493e4f28c4.pdf"
OPINION: list[str | list[Line]] = [
    [
        Line("[PUBLISH]", 12),
        Line("United States Court of Appeals", 24),
        Line("No. 21-13199", 12),
        Line("MARTIN COWEN, an individual, and others, Plaintiffs-Appellees,", 12),
        Line("versus SECRETARY OF STATE OF THE STATE OF GEORGIA, Defendant.", 12),
    ],
    "Opinion of the Court\nThe district court held that the petition requirement was valid.",
]


def test_a_file_named_by_a_hash_is_called_by_its_first_heading(
    library: Library, docs: Path
) -> None:
    make_pdf(docs / HASHED, OPINION, title="Microsoft Word - 21-13199.docx")
    library.add([docs / HASHED])
    found: list[DocumentRecord] = []

    library.index_queued(heading_found=found.append)

    record = library.documents()[0]
    assert record.heading == "United States Court of Appeals"
    assert record.display_title == "United States Court of Appeals"
    assert record.name == HASHED, "the file name stays beside it"
    # Known as soon as the first pages were read, before the document was ready.
    assert [(r.heading, r.status) for r in found] == [
        ("United States Court of Appeals", DocumentStatus.EXTRACTING)
    ]


def test_a_real_metadata_title_wins_over_the_heading(library: Library, docs: Path) -> None:
    make_pdf(docs / "lease.pdf", LEASE_PAGES, title="Residential Lease, Flat 3")
    make_pdf(docs / "report.pdf", REPORT_PAGES)
    library.add([docs])

    library.index_queued()

    documents = by_name(library.documents())
    lease, report = documents["lease.pdf"], documents["report.pdf"]
    assert lease.heading == "RESIDENTIAL LEASE AGREEMENT"
    assert lease.display_title == "Residential Lease, Flat 3"
    assert report.display_title == "ANNUAL REPORT 2017"


def test_a_document_without_a_heading_is_called_by_its_file_name(
    library: Library, docs: Path
) -> None:
    make_pdf(docs / "budget_2024-final.pdf", ["the numbers for next year, line by line."])
    library.add([docs])
    found: list[DocumentRecord] = []

    library.index_queued(heading_found=found.append)

    record = library.documents()[0]
    assert (record.heading, record.display_title) == ("", "budget 2024 final")
    assert found == [], "nothing was found to tell"


def test_a_document_is_ready_before_the_next_ones_pages_are_reported_done(
    library: Library, docs: Path
) -> None:
    for number in range(3):
        # Different content, so that each is a document of its own.
        make_pdf(docs / f"report {number}.pdf", [*REPORT_PAGES, f"Appendix {number}"])
        make_pdf(docs / f"lease {number}.pdf", [*LEASE_PAGES, f"Annex {number}"])
    library.add([docs])
    seen: list[str] = []
    early: list[str] = []

    def progressed(progress: IndexProgress) -> None:
        if progress.document.id not in seen:
            for earlier in seen:
                record = library.document(earlier)
                if record is None or record.status != DocumentStatus.READY:
                    early.append(progress.document.name)
            seen.append(progress.document.id)

    library.index_queued(progress=progressed)

    assert len(seen) == 6
    assert early == [], "a page was reported done while the document before was not ready"


def test_the_counts_say_how_many_pages_are_searchable_and_what_went_wrong(
    library: Library, docs: Path
) -> None:
    make_pdf(docs / "lease.pdf", LEASE_PAGES)
    make_pdf(docs / "scan.pdf", ["", ""])
    (docs / "fake.pdf").write_bytes(b"not a pdf")
    library.add([docs])
    library.index_queued()
    make_pdf(docs / "report.pdf", [*REPORT_PAGES, "APPENDIX\nThe tables."])
    library.add([docs / "report.pdf"])
    records = library.documents()
    report = by_name(records)["report.pdf"]

    waiting = LibraryCounts.of(records)
    being_indexed = dataclasses.replace(report, status=DocumentStatus.EMBEDDING)
    progress = IndexProgress(being_indexed, "embedding", 2, 3, 2, 3, 1.0)
    midway = LibraryCounts.of(
        [being_indexed if r.id == report.id else r for r in records], progress
    )
    library.index_queued()
    done = LibraryCounts.of(library.documents())

    assert waiting == LibraryCounts(4, 5, 2, waiting=1, failed=1, needs_attention=1)
    assert not waiting.all_searchable
    assert (midway.searchable_pages, midway.pages) == (4, 5)
    assert done == LibraryCounts(4, 5, 5, waiting=0, failed=1, needs_attention=1)
    assert done.all_searchable


def test_a_library_from_before_headings_gets_them_without_indexing_again(
    tmp_path: Path, embedder: Embedder, docs: Path
) -> None:
    folder = tmp_path / "library"
    make_pdf(docs / HASHED, OPINION, title="Microsoft Word - 21-13199.docx")
    make_pdf(docs / "letter.pdf", ["Dear tenant,\nThe rent for May is due on Monday the 3rd."])
    (docs / "notes.md").write_text("# Boiler notes\n\nServiced every October by the landlord.\n")
    first = Library(folder, embedder)
    first.add([docs])
    first.index_queued()
    indexed = {record.name: record for record in first.documents()}
    first.close()
    forget_headings(folder)

    library = Library(folder, embedder)
    try:
        before = by_name(library.documents())
        # Opened as it was: ready, its passages kept, called by its file name for now.
        assert {r.name: (r.status, r.chunks) for r in before.values()} == {
            name: (r.status, r.chunks) for name, r in indexed.items()
        }
        assert {r.status for r in before.values()} == {DocumentStatus.READY}
        assert all(record.heading is None for record in before.values())
        assert before[HASHED].display_title == HASHED.removesuffix(".pdf")
        assert before["notes.md"].display_title == "Boiler notes", "its title is its own"
        assert len(library.without_heading()) == 3

        assert library.read_headings() is False, "nothing more to read"

        after = by_name(library.documents())
        assert after[HASHED].display_title == "United States Court of Appeals"
        assert (after["letter.pdf"].heading, after["letter.pdf"].display_title) == ("", "letter")
        assert after["notes.md"].heading == ""
        # Nothing was indexed again: the same passages, still ready, found as before.
        assert {r.name: (r.status, r.chunks, r.indexed_at) for r in after.values()} == {
            r.name: (r.status, r.chunks, r.indexed_at) for r in before.values()
        }
        assert library.search("petition requirement", k=1)[0].document.name == HASHED
        # A document whose pages have no heading is not read again.
        assert library.without_heading() == []
    finally:
        library.close()


def test_old_headings_are_read_a_few_documents_at_a_time(
    tmp_path: Path, embedder: Embedder, docs: Path
) -> None:
    folder = tmp_path / "library"
    make_pdf(docs / "lease.pdf", LEASE_PAGES)
    make_pdf(docs / "report.pdf", REPORT_PAGES)
    first = Library(folder, embedder)
    first.add([docs])
    first.index_queued()
    first.close()
    forget_headings(folder)

    library = Library(folder, embedder)
    try:
        assert library.read_headings(limit=1) is True
        assert len(library.without_heading()) == 1
        assert library.read_headings(limit=1) is False
        assert {r.name: r.display_title for r in library.documents()} == {
            "lease.pdf": "RESIDENTIAL LEASE AGREEMENT",
            "report.pdf": "ANNUAL REPORT 2017",
        }
    finally:
        library.close()


def test_indexing_again_reads_the_heading_of_an_old_document(
    tmp_path: Path, embedder: Embedder, docs: Path
) -> None:
    folder = tmp_path / "library"
    make_pdf(docs / "lease.pdf", LEASE_PAGES)
    first = Library(folder, embedder)
    first.add([docs])
    first.index_queued()
    first.close()
    forget_headings(folder)

    library = Library(folder, embedder)
    try:
        (record,) = library.documents()
        library.reindex(record.id)
        library.index_queued()
        (record,) = library.documents()
        assert (record.status, record.heading) == (
            DocumentStatus.READY,
            "RESIDENTIAL LEASE AGREEMENT",
        )
        assert library.without_heading() == []
    finally:
        library.close()


def test_a_changed_or_missing_file_gives_no_heading_and_is_not_read_again(
    tmp_path: Path, embedder: Embedder, docs: Path
) -> None:
    folder = tmp_path / "library"
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    report = make_pdf(docs / "report.pdf", REPORT_PAGES)
    first = Library(folder, embedder)
    first.add([docs])
    first.index_queued()
    first.close()
    forget_headings(folder)
    # Another content at the lease's path, and the report moved away.
    make_pdf(lease, ["SUBLETTING AGREEMENT\nThe subtenant pays the tenant."])
    report.rename(tmp_path / "report.pdf")

    library = Library(folder, embedder)
    try:
        library.read_headings()
        documents = by_name(library.documents())
        assert documents["lease.pdf"].heading == "", "not the heading of what it indexed"
        assert documents["lease.pdf"].display_title == "lease"
        # The missing one keeps waiting: once its file is back, its heading is read.
        assert documents["report.pdf"].status == DocumentStatus.MISSING
        assert documents["report.pdf"].heading is None
        (tmp_path / "report.pdf").rename(report)
        assert [r.name for r in library.without_heading()] == ["report.pdf"]
        library.read_headings()
        assert library.without_heading() == []
        assert by_name(library.documents())["report.pdf"].display_title == "ANNUAL REPORT 2017"
    finally:
        library.close()
