"""Hostile documents: every file of a generated corpus ends with a status and a message a
person can act on, one file never stops the others, and reading is bounded in the worker."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.documents import extract
from desktop.core.documents.extraction_process import ExtractJob, probe_documents
from desktop.core.documents.indexer import IndexRun
from desktop.core.documents.library import Library
from desktop.core.documents.records import AddOutcome, DocumentStatus
from desktop.core.embedding.embedder import Embedder
from tests.support.documents import make_pdf
from tests.support.hostile import (
    GOOD_TEXT,
    corpus,
    decompression_bomb,
    latin1_name,
    many_pages,
    zero_tail,
)

# Human messages say what happened in words; a bare exception name is a bug leaking through.
_NOT_HUMAN = ("Traceback", "Error:", "Exception", "errno")


@pytest.fixture
def library(tmp_path: Path, embedder: Embedder) -> Iterator[Library]:
    opened = Library(tmp_path / "library", embedder)
    yield opened
    opened.close()


def test_every_hostile_file_ends_with_a_status_and_a_reason(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "hostile"
    corpus(folder)
    entries = len(list(folder.iterdir()))

    added = library.add([folder])
    library.index_queued()

    # Every entry is accounted for: the folder named like a PDF by the file inside it.
    assert len(added) == entries
    final = {d.id: d for d in library.documents()}
    for result in added:
        if result.document is None:
            assert result.outcome == AddOutcome.SKIPPED, result
            message = result.message
        else:
            record = final[result.document.id]
            assert record.status in (
                DocumentStatus.READY,
                DocumentStatus.FAILED,
                DocumentStatus.NEEDS_ATTENTION,
            ), record
            message = record.message
            if record.status == DocumentStatus.READY:
                continue
        assert message and not any(mark in message for mark in _NOT_HUMAN), (result, message)
    ready = sorted(d.name for d in final.values() if d.status == DocumentStatus.READY)
    assert "good.pdf" in ready and "Ünïcödé 文書 📄.pdf" in ready and "inside.txt" in ready
    # The good file is searchable, whatever else the folder held.
    assert any(hit.document.name == "good.pdf" for hit in library.search("harbour budget"))


def test_each_hostile_file_is_told_apart(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    corpus(folder)
    added = {result.path.name: result for result in library.add([folder])}
    library.index_queued()
    final = {d.name: d for d in library.documents()}

    def said(name: str) -> str:
        result = added[name]
        return result.message if result.document is None else final[name].message

    assert "not valid text (UTF-8)" in said(os.fsdecode(b"caf\xe9-latin1.pdf"))
    assert "loop of links" in said("loop-a.pdf")
    assert "not there" in said("dangling.pdf")
    assert "not a regular file" in said("pipe.pdf")
    assert "unfinished download" in said("unfinished-download.pdf")
    assert "expands to far more data" in said("decompression-bomb.pdf")
    assert "scanned" not in said("decompression-bomb.pdf")
    assert "password" in said("encrypted-known.pdf")
    assert "0 bytes" in said("zero-bytes.pdf")
    assert "web page" in said("html-saved-as.pdf")
    # Shown as written, never acted on: no line break in a table row, no text turned around.
    assert "line\\nbreak.txt" in final and "right-to-left-\\u202eftp.txt" in final


def test_a_name_that_is_not_utf8_does_not_stop_the_others(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    make_pdf(folder / "fine.pdf", [GOOD_TEXT])
    bad = latin1_name(folder, b"r\xe9sum\xe9.pdf")
    make_pdf(bad, ["Another page about the ferry."])

    results = library.add([folder])
    direct = library.add([bad])
    library.index_queued()

    assert [r.outcome for r in direct] == [AddOutcome.FAILED]
    assert "Rename the file" in direct[0].message
    assert "r\ufffdsum\ufffd.pdf" in direct[0].message, "the name is shown, not its bytes"
    assert sorted(r.outcome for r in results) == [AddOutcome.ADDED, AddOutcome.SKIPPED]
    assert [d.status for d in library.documents()] == [DocumentStatus.READY]


def test_a_huge_file_is_refused_by_its_size_before_it_is_read(
    library: Library, tmp_path: Path
) -> None:
    huge = tmp_path / "preallocated.pdf"
    with huge.open("wb") as stream:
        stream.write(b"%PDF-1.7\n")
        stream.truncate(2 * 1024**3)  # sparse: costs no disk
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()

    [result] = library.add([huge])

    assert result.outcome == AddOutcome.FAILED
    assert "2.15 GB" in result.message and "larger than Folio reads" in result.message
    assert library.documents() == []
    # Not hashed, not opened: no time nor memory went into it.
    assert time.process_time() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50_000


def test_pages_are_counted_in_the_worker_not_in_this_process(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a user's file was opened in the library's own process")

    monkeypatch.setattr(extract, "open_document", not_here)
    make_pdf(tmp_path / "three.pdf", ["one " * 20, "two " * 20, "three " * 20])

    [result] = library.add([tmp_path / "three.pdf"])

    assert result.document is not None and result.document.pages == 3


def test_an_unfinished_download_fails_fast_in_the_worker(tmp_path: Path) -> None:
    path = tmp_path / "partial.pdf"
    path.write_bytes(zero_tail(50_000_000))
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(decompression_bomb())

    found = probe_documents(
        [
            ExtractJob("partial", path, path.name, max_pages=None),
            ExtractJob("bomb", bomb, bomb.name, max_pages=None),
        ]
    )

    assert "unfinished download" in found["partial"].problem
    assert found["bomb"].page_count == 1 and not found["bomb"].problem


def test_a_reader_that_stalls_is_given_up_and_the_next_file_is_read(tmp_path: Path) -> None:
    slow = tmp_path / "slow.pdf"
    os.mkfifo(slow)  # opening a pipe blocks forever
    fine = make_pdf(tmp_path / "fine.pdf", [GOOD_TEXT])

    found = probe_documents(
        [ExtractJob("slow", slow, "slow.pdf", max_pages=0), ExtractJob("fine", fine, "fine.pdf")],
        stall_seconds=3.0,
    )

    assert found["slow"].problem == "took too long to read"
    assert found["fine"].page_count == 1 and found["fine"].pages


def test_a_pipe_given_by_name_is_refused_without_blocking(library: Library, tmp_path: Path) -> None:
    pipe = tmp_path / "notes.txt"
    os.mkfifo(pipe)  # opening it to read would wait forever for a writer

    [result] = library.add([pipe])

    assert result.outcome == AddOutcome.FAILED
    assert "not a regular file" in result.message


def test_a_file_that_stalls_the_reader_fails_and_the_others_are_indexed(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stalling = make_pdf(tmp_path / "stalling.pdf", [GOOD_TEXT])
    make_pdf(tmp_path / "fine.pdf", ["The ferry timetable changes in May, with more sailings."])
    library.add([stalling, tmp_path / "fine.pdf"])
    # Between adding and indexing the file became one the reader waits on for ever.
    stalling.unlink()
    os.mkfifo(stalling)
    monkeypatch.setattr(IndexRun, "STALL_SECONDS", 3.0)

    library.index_queued()

    final = {d.name: d for d in library.documents()}
    assert final["fine.pdf"].status == DocumentStatus.READY
    assert final["stalling.pdf"].status == DocumentStatus.FAILED
    assert "took over 3 s" in final["stalling.pdf"].message


def test_a_book_of_three_thousand_pages_is_read_whole_in_the_worker(tmp_path: Path) -> None:
    book = tmp_path / "book.pdf"
    book.write_bytes(many_pages(3_000))

    found = probe_documents([ExtractJob("book", book, book.name, max_pages=None)])

    assert not found["book"].problem
    assert found["book"].page_count == 3_000
    assert len(found["book"].pages) == 3_000
    assert "Page 3000:" in found["book"].pages[-1].text
