"""Text extraction and chunking in a process of their own.

pypdf is pure Python. In a thread of the indexing process it holds the GIL most of the time, and
the embedder thread, which needs the GIL for a moment before and after every llama.cpp call,
waits up to a switch interval (5 ms) each time: measured, that cost a quarter of the embedder's
throughput. In a separate process, extraction runs truly beside embedding, and runs ahead of it,
so every page is keyword-searchable long before its vectors are ready.

The child reads one document at a time, in the order given, and sends back, per document:
``Opened`` (page count and title), one ``PageDone`` per page (its text and its chunks), then
``Finished``; or ``Failed`` with the reason. A shared event pauses it between pages.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from desktop.core.documents.chunking import OVERLAP_CHARS, TARGET_CHARS, Chunk, chunk_pages
from desktop.core.documents.extract import ExtractionError, PageText, Problem, open_document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractJob:
    document_id: str
    path: Path
    display_name: str
    password: str | None = None
    target_chars: int = TARGET_CHARS
    overlap_chars: int = OVERLAP_CHARS


@dataclass(frozen=True)
class Opened:
    document_id: str
    page_count: int
    title: str


@dataclass(frozen=True)
class PageDone:
    document_id: str
    page: PageText
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True)
class Finished:
    document_id: str


@dataclass(frozen=True)
class Failed:
    document_id: str
    problem: Problem
    message: str


Message = Opened | PageDone | Finished | Failed


class ExtractionWorker:
    """One child process extracting the documents it is given, in order."""

    def __init__(self) -> None:
        # "spawn": forking a process that runs Qt, llama.cpp and Chroma threads is unsafe.
        context = multiprocessing.get_context("spawn")
        self._jobs: Any = context.Queue()
        self._results: Any = context.Queue()
        self._running = context.Event()
        self._running.set()
        self._process = context.Process(
            target=_serve,
            args=(self._jobs, self._results, self._running),
            name="folio-extract",
            daemon=True,
        )
        self._started = False
        self._closed = False

    def submit(self, job: ExtractJob) -> None:
        if not self._started:
            self._process.start()
            self._started = True
        self._jobs.put(job)

    def next_message(self, timeout: float) -> Message | None:
        """The next message, or None if there was none within ``timeout`` seconds. The
        child's log records are passed on to this process's log on the way."""
        while True:
            try:
                item = self._results.get(timeout=timeout)
            except queue.Empty:
                return None
            if isinstance(item, logging.LogRecord):
                logging.getLogger(item.name).handle(item)
                continue
            message: Message = item
            return message

    def is_alive(self) -> bool:
        return self._started and not self._closed and self._process.is_alive()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def close(self) -> None:
        """Stop at once: extraction only reads, so nothing is lost by stopping mid-document."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            self._process.terminate()
            self._process.join(timeout=10)
            self._process.close()
        for channel in (self._jobs, self._results):
            # Unsent items are dropped rather than waited for: the reader is gone.
            channel.cancel_join_thread()
            channel.close()

    def __enter__(self) -> ExtractionWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _serve(jobs: Any, results: Any, running: EventType) -> None:
    """The child's loop: one document after another until told to stop."""
    # Log records go to the parent, which writes them where its own go (the app's log file).
    root = logging.getLogger()
    root.handlers = [logging.handlers.QueueHandler(results)]
    root.setLevel(logging.INFO)
    while True:
        job: ExtractJob | None = jobs.get()
        if job is None:
            return
        try:
            for message in _extract(job, running):
                results.put(message)
        except ExtractionError as error:
            results.put(Failed(job.document_id, error.problem, str(error)))
        except Exception as error:  # one odd file must never stop the others
            log.exception("extraction of %s failed", job.path)
            results.put(
                Failed(
                    job.document_id,
                    Problem.UNREADABLE,
                    f"“{job.path.name}” could not be read ({type(error).__name__}: {error}).",
                )
            )


def _extract(job: ExtractJob, running: EventType) -> Iterator[Message]:
    with open_document(job.path, password=job.password) as opened:
        yield Opened(job.document_id, opened.page_count, opened.title)
        seen: list[PageText] = []
        chunks_by_page: dict[int, list[Chunk]] = {}
        handed_over = 0

        def pages() -> Iterator[PageText]:
            for page in opened.pages():
                running.wait()
                seen.append(page)
                yield page

        def hand_over(page_count: int) -> Iterator[Message]:
            # Every page is handed over, with or without chunks, so progress counts blank
            # pages too.
            nonlocal handed_over
            while handed_over < page_count:
                page = seen[handed_over]
                chunks = tuple(chunks_by_page.pop(page.number, []))
                yield PageDone(job.document_id, page, chunks)
                handed_over += 1

        for chunk in chunk_pages(
            pages(),
            document_id=job.document_id,
            document_name=job.display_name,
            title=opened.title,
            target_chars=job.target_chars,
            overlap_chars=job.overlap_chars,
        ):
            # The chunker has moved on to this chunk's page: earlier pages are complete.
            yield from hand_over(chunk.page_start - 1)
            chunks_by_page.setdefault(chunk.page_start, []).append(chunk)
        yield from hand_over(len(seen))
        yield Finished(job.document_id)
