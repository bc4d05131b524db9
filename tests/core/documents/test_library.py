"""The document library as a user meets it: add a folder, let it index, search, fix problems."""

from __future__ import annotations

import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest

from desktop.core.documents.library import EmbedderMismatchError, Library, embedder_for
from desktop.core.documents.records import (
    AddResult,
    DocumentRecord,
    DocumentStatus,
    IndexControl,
    IndexProgress,
    LibraryHit,
)
from desktop.core.embedding.embedder import Embedder, TextKind, Vectors
from desktop.core.settings.schema import DocumentSettings
from tests.support.documents import (
    LEASE_PAGES,
    NOTES_TEXT,
    REPORT_PAGES,
    TRAVEL_PAGES,
    by_name,
    encrypt_pdf,
    make_pdf,
)


@pytest.fixture
def library(tmp_path: Path, embedder: Embedder) -> Iterator[Library]:
    opened = Library(tmp_path / "library", embedder)
    yield opened
    opened.close()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


def outcomes(results: list[AddResult]) -> dict[str, str]:
    return {result.path.name: result.outcome for result in results}


def add_and_index(library: Library, *paths: Path) -> dict[str, DocumentRecord]:
    results = library.add(paths)
    assert all(result.outcome != "failed" for result in results), results
    library.index_queued()
    return by_name(library.documents())


def top_hit(library: Library, question: str) -> LibraryHit:
    hits = library.search(question, k=5)
    assert hits, f"nothing found for {question!r}"
    return hits[0]


def count_chunks(library: Library, document_id: str) -> int:
    return library.keywords.count(document_id)


# Adding a folder


def test_a_folder_of_mixed_files_indexes_the_good_ones_and_explains_the_rest(
    library: Library, docs: Path
) -> None:
    make_pdf(docs / "lease.pdf", LEASE_PAGES, title="Residential Lease")
    make_pdf(docs / "report.pdf", REPORT_PAGES)
    (docs / "notes.txt").write_text(NOTES_TEXT, encoding="utf-8")
    (docs / "memo.docx").write_bytes(b"PK\x03\x04" + bytes(200))
    (docs / "empty.pdf").write_bytes(b"")
    (docs / "fake.pdf").write_bytes(random.Random(7).randbytes(4096))
    encrypt_pdf(make_pdf(docs / "secret.pdf", ["Savings balance 10,000 dollars"]), "hunter2")
    make_pdf(docs / "scan.pdf", ["", ""])

    added = library.add([docs])

    registered = {result.path.name for result in added if result.outcome == "added"}
    assert registered == {
        "empty.pdf",
        "fake.pdf",
        "lease.pdf",
        "notes.txt",
        "report.pdf",
        "scan.pdf",
        "secret.pdf",
    }
    assert all(result.outcome == "skipped" for result in added if result.path.name == "memo.docx")
    queued = [result.document for result in added if result.outcome == "added"]
    assert all(record is not None and record.status == "queued" for record in queued)

    finished = library.index_queued()

    assert len(finished) == 7, "every file was tried, the bad ones did not stop the rest"
    documents = by_name(library.documents())
    assert "memo.docx" not in documents
    for name, pages in (("lease.pdf", 2), ("report.pdf", 2), ("notes.txt", 1)):
        record = documents[name]
        assert record.status == DocumentStatus.READY, record.message
        assert record.pages == pages
        assert record.chunks == count_chunks(library, record.id) >= pages
        assert record.message == ""
        assert record.indexed_at is not None
    assert documents["lease.pdf"].title == "Residential Lease"
    assert documents["report.pdf"].title == "report"
    for name in ("empty.pdf", "fake.pdf"):
        record = documents[name]
        assert record.status == DocumentStatus.FAILED
        assert name in record.message
        assert record.chunks == count_chunks(library, record.id) == 0
    assert "empty" in documents["empty.pdf"].message
    assert "isn't a PDF" in documents["fake.pdf"].message
    secret = documents["secret.pdf"]
    assert secret.status == DocumentStatus.NEEDS_ATTENTION
    assert "secret.pdf" in secret.message and "password" in secret.message
    scan = documents["scan.pdf"]
    assert scan.status == DocumentStatus.NEEDS_ATTENTION
    assert "scan.pdf" in scan.message and "no text layer" in scan.message
    assert scan.pages == 2 and count_chunks(library, scan.id) == 0

    hit = top_hit(library, "When do I have to pay the rent?")
    assert (hit.document.name, hit.chunk.page_start) == ("lease.pdf", 1)


def test_an_unsupported_file_is_reported_and_never_registered(library: Library, docs: Path) -> None:
    memo = docs / "memo.docx"
    memo.write_bytes(b"PK\x03\x04" + bytes(200))

    (result,) = library.add([memo])

    assert result.outcome == "failed"
    assert result.document is None
    assert "memo.docx" in result.message
    assert library.documents() == []


def test_a_folder_is_searched_for_documents_in_its_subfolders(library: Library, docs: Path) -> None:
    make_pdf(docs / "lease.pdf", LEASE_PAGES)
    (docs / "memo.docx").write_bytes(b"PK\x03\x04" + bytes(200))
    (docs / "photo.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
    (docs / "sub").mkdir()
    (docs / "sub" / "notes.md").write_text("# Field Notes\n\n" + NOTES_TEXT, encoding="utf-8")

    added = library.add([docs])

    assert {r.path.name for r in added if r.outcome == "added"} == {"lease.pdf", "notes.md"}
    library.index_queued()
    documents = by_name(library.documents())
    assert sorted(documents) == ["lease.pdf", "notes.md"]
    assert documents["notes.md"].status == DocumentStatus.READY
    assert documents["notes.md"].title == "Field Notes"


def test_adding_a_folder_reports_the_unsupported_files_in_it(library: Library, docs: Path) -> None:
    make_pdf(docs / "lease.pdf", LEASE_PAGES)
    (docs / "memo.docx").write_bytes(b"PK\x03\x04" + bytes(200))

    results = {result.path.name: result for result in library.add([docs])}

    assert results["lease.pdf"].outcome == "added"
    assert results["memo.docx"].outcome == "skipped"
    assert results["memo.docx"].document is None
    assert "memo.docx" in results["memo.docx"].message


def test_a_file_that_is_not_there_is_reported_failed(library: Library, tmp_path: Path) -> None:
    (result,) = library.add([tmp_path / "gone.pdf"])

    assert result.outcome == "failed"
    assert "gone.pdf" in result.message
    assert library.documents() == []


# Adding again, copies and edits


def test_adding_the_same_file_again_does_not_index_it_again(library: Library, docs: Path) -> None:
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    first = add_and_index(library, lease)["lease.pdf"]

    (again,) = library.add([lease])

    assert again.outcome == "unchanged"
    assert again.document is not None and again.document.id == first.id
    assert library.index_queued() == []
    assert library.documents() == [first]
    assert count_chunks(library, first.id) == first.chunks


def test_identical_content_under_another_name_is_indexed_once(library: Library, docs: Path) -> None:
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    original = add_and_index(library, lease)["lease.pdf"]
    copy = docs / "lease (copy).pdf"
    shutil.copyfile(lease, copy)

    (result,) = library.add([copy])

    assert result.outcome == "unchanged"
    assert result.document is not None and result.document.path == lease
    assert library.index_queued() == []
    assert [record.id for record in library.documents()] == [original.id]
    assert len(library.vectors.search("rent", 50)) == original.chunks


def test_identical_files_in_one_folder_are_indexed_once(library: Library, docs: Path) -> None:
    make_pdf(docs / "a.pdf", LEASE_PAGES)
    shutil.copyfile(docs / "a.pdf", docs / "b.pdf")

    assert outcomes(library.add([docs])) == {"a.pdf": "added", "b.pdf": "unchanged"}
    assert len(library.index_queued()) == 1
    assert [record.name for record in library.documents()] == ["a.pdf"]


def test_a_moved_file_is_found_at_its_new_place_without_indexing_again(
    library: Library, docs: Path
) -> None:
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    first = add_and_index(library, lease)["lease.pdf"]
    moved = lease.rename(docs / "lease-2024.pdf")

    (result,) = library.add([moved])

    assert result.outcome == "unchanged"
    assert library.index_queued() == []
    (record,) = library.documents()
    assert (record.id, record.path, record.name) == (first.id, moved, "lease-2024.pdf")
    assert record.status == DocumentStatus.READY
    assert top_hit(library, "rent due date").document.path == moved


def test_an_edited_file_is_indexed_again_and_its_old_text_is_forgotten(
    library: Library, docs: Path
) -> None:
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    old = add_and_index(library, lease)["lease.pdf"]
    assert top_hit(library, "heating repairs landlord").document.id == old.id

    make_pdf(
        lease,
        [
            "AMENDED LEASE\nThe tenant shall pay rent of 1,350 dollars every quarter.",
            "PETS\nOne cat or one small dog is allowed in the apartment.",
        ],
    )
    (result,) = library.add([lease])

    assert result.outcome == "changed"
    assert result.document is not None and result.document.id != old.id
    assert count_chunks(library, old.id) == 0
    assert [record.id for record in library.index_queued()] == [result.document.id]
    (record,) = library.documents()
    assert record.status == DocumentStatus.READY
    assert record.chunks == count_chunks(library, record.id) > 0
    hits = library.search("heating repairs landlord", k=10)
    assert all("heating" not in hit.chunk.text for hit in hits)
    assert all(hit.chunk.document_id == record.id for hit in hits)
    assert len(library.vectors.search("heating", 50)) == record.chunks
    pets = top_hit(library, "Can I keep a dog?")
    assert (pets.document.id, pets.chunk.page_start) == (record.id, 2)


# Searching


def test_a_question_finds_its_page_with_document_and_text(library: Library, docs: Path) -> None:
    add_and_index(
        library,
        make_pdf(docs / "salzburg trip.pdf", TRAVEL_PAGES),
        make_pdf(docs / "lease.pdf", LEASE_PAGES),
        make_pdf(docs / "report.pdf", REPORT_PAGES),
    )

    for question, name, page, words in [
        # "depart" finds "departs" by its stem.
        ("When does the boat on the lake depart?", "salzburg trip.pdf", 3, "lake cruise"),
        ("How much did revenue grow in 2017?", "report.pdf", 1, "$4.2 billion"),
        ("Who fixes the heating?", "lease.pdf", 2, "heating system"),
        ("Where will the company hire engineers?", "report.pdf", 2, "Dublin"),
    ]:
        hit = top_hit(library, question)
        assert isinstance(hit, LibraryHit)
        assert (hit.document.name, hit.chunk.page_start, hit.chunk.page_end) == (name, page, page)
        assert words in hit.chunk.text
        assert hit.document.status == DocumentStatus.READY
        assert isinstance(hit.score, float) and hit.score > 0


def test_search_results_are_ranked_and_limited(library: Library, docs: Path) -> None:
    add_and_index(
        library,
        make_pdf(docs / "salzburg trip.pdf", TRAVEL_PAGES),
        make_pdf(docs / "lease.pdf", LEASE_PAGES),
    )

    hits = library.search("train to Salzburg", k=3)

    assert len(hits) == 3
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert len({hit.chunk.id for hit in hits}) == 3
    assert hits[0].chunk.page_start == 1 and hits[0].document.name == "salzburg trip.pdf"


def test_search_can_be_limited_to_some_documents(library: Library, docs: Path) -> None:
    documents = add_and_index(
        library,
        make_pdf(docs / "lease.pdf", LEASE_PAGES),
        make_pdf(docs / "report.pdf", REPORT_PAGES),
    )
    report = documents["report.pdf"]

    hits = library.search("When is the rent due?", k=5, documents=[report.id])

    assert hits and {hit.document.id for hit in hits} == {report.id}


def test_an_empty_library_finds_nothing(library: Library) -> None:
    assert library.search("anything", k=5) == []
    assert library.index_queued() == []
    assert library.documents() == []


# Missing and removed documents


def test_a_file_deleted_after_indexing_shows_as_missing(library: Library, docs: Path) -> None:
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    add_and_index(library, lease)

    lease.unlink()

    (record,) = library.documents()
    assert record.status == DocumentStatus.MISSING
    assert "lease.pdf" in record.message
    assert library.document(record.id) == record
    hit = top_hit(library, "When is the rent due?")
    assert hit.document.status == DocumentStatus.MISSING, "still found, but shown as missing"


def test_removing_a_document_drops_its_passages_from_search(library: Library, docs: Path) -> None:
    documents = add_and_index(
        library,
        make_pdf(docs / "lease.pdf", LEASE_PAGES),
        make_pdf(docs / "report.pdf", REPORT_PAGES),
    )
    lease, report = documents["lease.pdf"], documents["report.pdf"]

    library.remove(lease.id)

    assert [record.id for record in library.documents()] == [report.id]
    assert library.document(lease.id) is None
    assert count_chunks(library, lease.id) == 0
    assert library.vectors.count() == report.chunks
    hits = library.search("When is the rent due? tenant landlord heating", k=10)
    assert hits and all(hit.document.id == report.id for hit in hits)


# Interruptions


@pytest.mark.parametrize("crashed_in", ["extracting", "embedding"])
def test_indexing_interrupted_by_a_crash_starts_again_without_duplicates(
    tmp_path: Path, embedder: Embedder, docs: Path, crashed_in: str
) -> None:
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    library = Library(tmp_path / "library", embedder)
    try:
        first = add_and_index(library, lease)["lease.pdf"]
    finally:
        library.close()
    # The process died while indexing this document again: its status says so, and a passage
    # from the half-finished run is left behind.
    stray = f"{first.id[:16]}:9:0"
    with sqlite3.connect(tmp_path / "library" / "library.sqlite3") as connection:
        connection.execute("UPDATE documents SET status = ? WHERE id = ?", (crashed_in, first.id))
        connection.execute(
            "INSERT INTO chunks (id, document_id, page_start, page_end, page_label, char_start,"
            " char_end, section, text, context) VALUES (?, ?, 9, 9, '9', 0, 30, '', ?, 'lease')",
            (stray, first.id, "half written zeppelin passage"),
        )
    connection.close()

    library = Library(tmp_path / "library", embedder)
    try:
        (resumed,) = library.documents()
        assert resumed.status == DocumentStatus.QUEUED
        assert "interrupted" in resumed.message

        (record,) = library.index_queued()

        assert record.status == DocumentStatus.READY
        assert record.chunks == first.chunks == count_chunks(library, first.id)
        assert library.vectors.count() == first.chunks
        assert library.keywords.chunks([stray]) == {}
        assert all("zeppelin" not in hit.chunk.text for hit in library.search("zeppelin", k=5))
        texts = [hit.chunk.text for hit in library.search("rent tenant landlord", k=20)]
        assert len(texts) == len(set(texts)) == first.chunks, "one set of passages, no copies"
    finally:
        library.close()


def test_cancelling_from_the_progress_callback_leaves_the_document_queued(
    library: Library, docs: Path
) -> None:
    library.add(
        [
            make_pdf(docs / "a-trip.pdf", TRAVEL_PAGES),
            make_pdf(docs / "b-lease.pdf", LEASE_PAGES),
        ]
    )
    control = IndexControl()
    seen: list[IndexProgress] = []

    def stop_after_first_page(progress: IndexProgress) -> None:
        seen.append(progress)
        if progress.page == 1:
            control.cancel()

    finished = library.index_queued(progress=stop_after_first_page, control=control)

    assert [record.name for record in finished] == ["a-trip.pdf"]
    assert seen[0].document.name == "a-trip.pdf" and seen[0].page == 1
    assert all(progress.document.name == "a-trip.pdf" for progress in seen)
    documents = by_name(library.documents())
    assert documents["a-trip.pdf"].status == DocumentStatus.QUEUED
    assert "stopped" in documents["a-trip.pdf"].message
    assert documents["b-lease.pdf"].status == DocumentStatus.QUEUED

    # The next run finishes both, with one set of passages each.
    assert len(library.index_queued()) == 2
    documents = by_name(library.documents())
    for record in documents.values():
        assert record.status == DocumentStatus.READY
        assert record.chunks == count_chunks(library, record.id)
    assert library.vectors.count() == sum(record.chunks for record in documents.values())


def test_pausing_holds_the_run_between_pages_and_resuming_goes_on(
    library: Library, docs: Path
) -> None:
    library.add([make_pdf(docs / "a-trip.pdf", TRAVEL_PAGES)])
    control = IndexControl()
    pages_seen: list[int] = []
    paused_at_page: list[int] = []

    def pause_after_first_page(progress: IndexProgress) -> None:
        pages_seen.append(progress.page)
        if progress.page == 1:
            control.pause()
            # Resumed from another thread, as the window does; the run must wait for it.
            threading.Timer(0.3, resume).start()

    def resume() -> None:
        paused_at_page.append(len(pages_seen))
        control.resume()

    finished = library.index_queued(progress=pause_after_first_page, control=control)

    assert paused_at_page == [1], "no page was indexed while paused"
    assert pages_seen == [1, 2, 3]
    assert [record.status for record in finished] == [DocumentStatus.READY]


def test_cancelling_a_paused_run_ends_it(library: Library, docs: Path) -> None:
    library.add([make_pdf(docs / "a-trip.pdf", TRAVEL_PAGES)])
    control = IndexControl()
    control.pause()
    threading.Timer(0.2, control.cancel).start()

    assert library.index_queued(control=control) == []
    assert by_name(library.documents())["a-trip.pdf"].status == DocumentStatus.QUEUED


def test_documents_added_during_a_run_are_indexed_by_it(library: Library, docs: Path) -> None:
    library.add([make_pdf(docs / "a-trip.pdf", TRAVEL_PAGES)])
    lease = make_pdf(docs / "b-lease.pdf", LEASE_PAGES)
    totals: list[int] = []

    def add_more(progress: IndexProgress) -> None:
        totals.append(progress.library_pages_total)
        if progress.document.name == "a-trip.pdf" and progress.page == 1:
            library.add([lease])
            assert [d.name for d in library.pending()] == ["a-trip.pdf", "b-lease.pdf"]

    finished = library.index_queued(progress=add_more)

    assert [record.name for record in finished] == ["a-trip.pdf", "b-lease.pdf"]
    assert totals[0] == 3 and totals[-1] == 5, "the total grows with what was added"
    assert library.pending() == []


def test_a_document_removed_while_queued_is_skipped(library: Library, docs: Path) -> None:
    library.add(
        [make_pdf(docs / "a-trip.pdf", TRAVEL_PAGES), make_pdf(docs / "b-lease.pdf", LEASE_PAGES)]
    )
    lease = by_name(library.documents())["b-lease.pdf"]

    def remove_lease(progress: IndexProgress) -> None:
        if progress.page == 1 and library.document(lease.id) is not None:
            library.remove(lease.id)

    finished = library.index_queued(progress=remove_lease)

    assert [record.name for record in finished] == ["a-trip.pdf"]
    assert [d.name for d in library.documents()] == ["a-trip.pdf"]


def test_progress_reports_each_page_and_the_library_total(library: Library, docs: Path) -> None:
    library.add(
        [
            make_pdf(docs / "a-trip.pdf", TRAVEL_PAGES),
            make_pdf(docs / "b-report.pdf", REPORT_PAGES),
        ]
    )
    seen: list[IndexProgress] = []

    library.index_queued(progress=seen.append)

    assert [(p.document.name, p.page, p.pages) for p in seen] == [
        ("a-trip.pdf", 1, 3),
        ("a-trip.pdf", 2, 3),
        ("a-trip.pdf", 3, 3),
        ("b-report.pdf", 1, 2),
        ("b-report.pdf", 2, 2),
    ]
    done = [progress.library_pages_done for progress in seen]
    assert done == [1, 2, 3, 4, 5]
    assert all(p.library_pages_done <= p.library_pages_total for p in seen)
    assert seen[-1].library_pages_total == 5
    assert all(p.pages_per_second >= 0 for p in seen)
    assert seen[-1].seconds_left in (0.0, None)


def test_progress_reaches_the_last_page_even_when_it_is_blank(library: Library, docs: Path) -> None:
    library.add([make_pdf(docs / "trip.pdf", [*TRAVEL_PAGES, ""])])
    seen: list[IndexProgress] = []

    library.index_queued(progress=seen.append)

    assert seen[-1].page == seen[-1].pages == 4
    assert seen[-1].library_pages_done == seen[-1].library_pages_total == 4


# Names and restarts


def test_a_unicode_file_name_is_indexed_and_found(library: Library, docs: Path) -> None:
    contract = make_pdf(
        docs / "契約書 — Ünïcödé.pdf",
        ["SERVICE CONTRACT\nThe supplier delivers fresh flowers to the hotel every Friday."],
    )

    (result,) = library.add([contract])
    library.index_queued()

    assert result.outcome == "added"
    (record,) = library.documents()
    assert record.name == "契約書 — Ünïcödé.pdf"
    assert record.status == DocumentStatus.READY
    hit = top_hit(library, "How often are flowers delivered?")
    assert hit.document.path == contract
    assert hit.chunk.context.startswith("契約書 — Ünïcödé")


def test_the_library_is_still_there_after_a_restart(
    tmp_path: Path, embedder: Embedder, docs: Path
) -> None:
    library = Library(tmp_path / "library", embedder)
    try:
        before = add_and_index(library, make_pdf(docs / "lease.pdf", LEASE_PAGES))
    finally:
        library.close()

    library = Library(tmp_path / "library", embedder)
    try:
        assert by_name(library.documents()) == before
        hit = top_hit(library, "When is the rent due?")
        assert (hit.document.name, hit.chunk.page_start) == ("lease.pdf", 1)
        assert hit.similarity is not None, "the vectors were kept too"
    finally:
        library.close()


def test_page_counts_are_known_as_soon_as_files_are_added(library: Library, docs: Path) -> None:
    lease = make_pdf(docs / "lease.pdf", LEASE_PAGES)
    (result,) = library.add([lease])
    assert result.document is not None
    assert result.document.status == DocumentStatus.QUEUED
    assert result.document.pages == len(LEASE_PAGES)


class GatedEmbedder(Embedder):
    """The real embedder, holding every batch of document vectors until the gate opens."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def embed_later(self, texts: Sequence[str], kind: TextKind = "document") -> Future[Vectors]:
        if kind == "document":
            self.gate.wait(timeout=60)
        return super().embed_later(texts, kind)


def test_pages_are_searchable_by_keyword_before_their_vectors_exist(
    tmp_path: Path, docs: Path, starter_embedder_file: Path
) -> None:
    embedder = GatedEmbedder()
    embedder.load(starter_embedder_file).result()
    library = Library(tmp_path / "gated", embedder)
    try:
        pages = [f"Chapter {n}. The warehouse in town {n} stores spare parts." for n in range(40)]
        pages[-1] = "Appendix. The zeppelin hangar is inspected every spring."
        library.add([make_pdf(docs / "long.pdf", pages)])
        document = library.documents()[0]
        run = threading.Thread(target=library.index_queued)
        run.start()
        deadline = time.monotonic() + 60
        while library.keywords.count(document.id) < 40:
            assert time.monotonic() < deadline, "extraction did not run ahead of embedding"
            time.sleep(0.05)

        # Every page is in the keyword index while no vector exists yet.
        assert library.vectors.count() == 0
        assert by_name(library.documents())["long.pdf"].status == DocumentStatus.EMBEDDING
        found = library.keywords.search("zeppelin hangar", limit=5)
        assert found and library.keywords.chunks(found)[found[0]].page_start == 40

        embedder.gate.set()
        run.join(timeout=60)
        assert by_name(library.documents())["long.pdf"].status == DocumentStatus.READY
        assert library.vectors.count() == library.keywords.count(document.id)
    finally:
        embedder.gate.set()
        library.close()
        embedder.close()


def test_a_password_protected_pdf_is_indexed_once_unlocked(library: Library, docs: Path) -> None:
    locked = encrypt_pdf(make_pdf(docs / "statement.pdf", LEASE_PAGES), "secret")
    library.add([locked])
    library.index_queued()
    (record,) = library.documents()
    assert record.status == DocumentStatus.NEEDS_ATTENTION
    assert record.needs_password

    library.unlock(record.id, "wrong")
    library.index_queued()
    (record,) = library.documents()
    assert record.status == DocumentStatus.NEEDS_ATTENTION and "wrong" in record.message

    library.unlock(record.id, "secret")
    library.index_queued()
    (record,) = library.documents()
    assert record.status == DocumentStatus.READY and not record.needs_password
    assert library.search("When is the rent due?", k=1)[0].document.name == "statement.pdf"


def test_a_folder_of_thousands_of_files_is_taken_in_whole(library: Library, docs: Path) -> None:
    for number in range(1000):
        folder = docs / f"year {number % 10}"
        folder.mkdir(exist_ok=True)
        (folder / f"note {number}.txt").write_text(f"Meeting note {number}: budget {number * 7}.")
        (folder / f"photo {number}.jpg").write_bytes(b"\xff\xd8\xff" + bytes(64))

    added = library.add([docs])

    assert sum(result.outcome == "added" for result in added) == 1000
    assert sum(result.outcome == "skipped" for result in added) == 1000
    records = library.documents()
    assert len(records) == 1000
    assert all(record.status == DocumentStatus.QUEUED and record.pages == 1 for record in records)
    # Adding the same folder again finds nothing new.
    again = library.add([docs])
    assert not any(result.outcome == "added" for result in again)
    assert len(library.documents()) == 1000


# Following the Documents settings


def test_another_embedding_model_rebuilds_the_vectors_only_when_asked(
    tmp_path: Path, embedder: Embedder, starter_embedder_file: Path, docs: Path
) -> None:
    folder = tmp_path / "library"
    library = Library(folder, embedder)
    try:
        add_and_index(
            library,
            make_pdf(docs / "lease.pdf", LEASE_PAGES),
            make_pdf(docs / "report.pdf", REPORT_PAGES),
        )
        assert not library.embedder_changed
        vectors = library.vectors.count()
    finally:
        library.close()
    # The report's file goes away: it cannot be read again for new vectors.
    (docs / "report.pdf").unlink()

    # The same weights under another name stand for any other model: the library cannot tell
    # them apart from their vectors, so it goes by the file.
    other_file = tmp_path / "other-embedder.gguf"
    shutil.copyfile(starter_embedder_file, other_file)
    # Asked for the other model (settings that lost their value, a CLI run elsewhere), the
    # library keeps the one it was indexed with while that file exists.
    assert embedder_for(folder, other_file) == (starter_embedder_file.resolve(), False)
    other = Embedder()
    other.load(other_file).result()
    try:
        with pytest.raises(EmbedderMismatchError, match="another embedding model"):
            Library(folder, other)
        library = Library(folder, embedder)
        try:
            assert library.vectors.count() == vectors, "nothing was lost"
        finally:
            library.close()

        # The user chose the other model: the vectors are rebuilt.
        library = Library(folder, other, rebuild_vectors=True)
        try:
            assert library.embedder_changed
            assert library.vectors.count() == 0
            records = by_name(library.documents())
            assert records["lease.pdf"].status == DocumentStatus.QUEUED
            assert "new embedding model" in records["lease.pdf"].message
            # The one whose file is gone keeps its passages, found by their words.
            assert records["report.pdf"].status == DocumentStatus.MISSING
            assert count_chunks(library, records["report.pdf"].id) > 0
            library.index_queued()
            assert library.vectors.count() == count_chunks(library, records["lease.pdf"].id)
            hit = top_hit(library, "When is the rent due?")
            assert hit.similarity is not None and hit.chunk.page_start == 1
            assert library.search("data centers in Europe", k=3)
        finally:
            library.close()
        # From now on the library goes with the new model.
        assert embedder_for(folder, starter_embedder_file) == (other_file.resolve(), False)
        library = Library(folder, other)
        try:
            assert not library.embedder_changed
        finally:
            library.close()
    finally:
        other.close()

    # When the model it was indexed with is gone, the one asked for is used, and indexes.
    other_file.unlink()
    assert embedder_for(folder, starter_embedder_file) == (starter_embedder_file, True)


def test_passage_size_applies_to_what_is_indexed_next(library: Library, docs: Path) -> None:
    long_page = "\n".join(
        f"Clause {number}. The tenant keeps the shared stairwell number {number} clean and lit."
        for number in range(1, 40)
    )
    records = add_and_index(library, make_pdf(docs / "rules.pdf", [long_page]))
    default_chunks = count_chunks(library, records["rules.pdf"].id)
    library.configure(DocumentSettings(chunk_size=1500, chunk_overlap=0))
    assert library.reindex_all() == 1
    library.index_queued()
    larger_chunks = count_chunks(library, records["rules.pdf"].id)
    assert 0 < larger_chunks < default_chunks
    longest = max(len(hit.chunk.text) for hit in library.search("stairwell clean", k=10))
    assert longest > 1000


def test_the_balance_moves_search_between_keywords_and_meaning(
    library: Library, docs: Path
) -> None:
    add_and_index(
        library,
        make_pdf(docs / "lease.pdf", LEASE_PAGES),
        make_pdf(docs / "report.pdf", REPORT_PAGES),
    )
    library.configure(DocumentSettings(keyword_share=1.0))
    assert library.hybrid.vector_weight == 0.0
    # Keywords only: a question with none of the page's words finds nothing from it first.
    keyword_only = library.search("what does my landlord fix", k=3)
    library.configure(DocumentSettings(keyword_share=0.0))
    assert library.hybrid.keyword_weight == 0.0
    meaning_only = library.search("who fixes things in my flat", k=3)
    assert meaning_only and meaning_only[0].document.name == "lease.pdf"
    assert meaning_only[0].chunk.page_start == 2
    assert [h.chunk.id for h in keyword_only] != [h.chunk.id for h in meaning_only]
