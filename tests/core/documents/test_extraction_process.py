"""The extraction process: documents in, pages and chunks out, in order, pausable, stoppable."""

from __future__ import annotations

import time
from pathlib import Path

from desktop.core.documents.extract import Problem
from desktop.core.documents.extraction_process import (
    ExtractionWorker,
    ExtractJob,
    Failed,
    Finished,
    Message,
    Opened,
    PageDone,
)
from tests.support.documents import LEASE_PAGES, TRAVEL_PAGES, make_pdf


def collect(worker: ExtractionWorker, until: int, timeout: float = 60.0) -> list[Message]:
    """Messages until ``until`` documents have ended (finished or failed)."""
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    while sum(isinstance(m, Finished | Failed) for m in messages) < until:
        assert time.monotonic() < deadline, f"only got {messages}"
        message = worker.next_message(0.1)
        if message is not None:
            messages.append(message)
    return messages


def test_documents_come_back_page_by_page_in_order(tmp_path: Path) -> None:
    lease = make_pdf(tmp_path / "lease.pdf", LEASE_PAGES, title="Lease")
    trip = make_pdf(tmp_path / "trip.pdf", TRAVEL_PAGES)
    with ExtractionWorker() as worker:
        worker.submit(ExtractJob("a" * 64, lease, "lease"))
        worker.submit(ExtractJob("b" * 64, trip, "trip"))
        messages = collect(worker, until=2)

    kinds = [(type(m).__name__, m.document_id[0]) for m in messages]
    assert kinds == [
        ("Opened", "a"),
        ("PageDone", "a"),
        ("PageDone", "a"),
        ("Finished", "a"),
        ("Opened", "b"),
        ("PageDone", "b"),
        ("PageDone", "b"),
        ("PageDone", "b"),
        ("Finished", "b"),
    ]
    opened = messages[0]
    assert isinstance(opened, Opened) and opened.page_count == 2 and opened.title == "Lease"
    pages = [m for m in messages if isinstance(m, PageDone)]
    assert [p.page.number for p in pages] == [1, 2, 1, 2, 3]
    assert all(p.chunks and {c.page_start for c in p.chunks} == {p.page.number} for p in pages)
    assert "rent of 1,200 dollars" in pages[0].chunks[0].text
    assert pages[0].chunks[0].context.startswith("lease")


def test_a_bad_file_fails_alone(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_text("not a pdf")
    trip = make_pdf(tmp_path / "trip.pdf", TRAVEL_PAGES)
    with ExtractionWorker() as worker:
        worker.submit(ExtractJob("a" * 64, fake, "fake"))
        worker.submit(ExtractJob("b" * 64, trip, "trip"))
        messages = collect(worker, until=2)

    failed = messages[0]
    assert isinstance(failed, Failed) and failed.problem == Problem.NOT_A_DOCUMENT
    assert "fake.pdf" in failed.message
    assert isinstance(messages[-1], Finished) and messages[-1].document_id == "b" * 64


def test_a_paused_worker_reads_nothing_until_resumed(tmp_path: Path) -> None:
    trip = make_pdf(tmp_path / "trip.pdf", TRAVEL_PAGES)
    with ExtractionWorker() as worker:
        worker.pause()
        worker.submit(ExtractJob("a" * 64, trip, "trip"))
        # Opening reads no page; the pages wait for resume.
        first = worker.next_message(30.0)
        assert isinstance(first, Opened)
        assert worker.next_message(0.5) is None
        worker.resume()
        rest = collect(worker, until=1)
    assert [type(m).__name__ for m in rest] == ["PageDone"] * 3 + ["Finished"]


def test_closing_stops_the_process_at_once(tmp_path: Path) -> None:
    big = make_pdf(tmp_path / "big.pdf", [f"Page {n} of a long report." for n in range(400)])
    worker = ExtractionWorker()
    worker.submit(ExtractJob("a" * 64, big, "big"))
    assert worker.next_message(30.0) is not None
    started = time.monotonic()
    worker.close()
    assert time.monotonic() - started < 5
    assert not worker.is_alive()
