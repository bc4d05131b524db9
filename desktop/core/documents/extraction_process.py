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

import itertools
import logging
import logging.handlers
import multiprocessing
import os
import queue
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from desktop.core.children import die_with_parent, limit_memory
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
    # Pages to read (None: all); 0 reads none, for the page count and title alone.
    max_pages: int | None = None


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
    # Pages read as empty because their content expands past the reading limits.
    over_limit: tuple[int, ...] = ()


@dataclass(frozen=True)
class Failed:
    document_id: str
    problem: Problem
    message: str


Message = Opened | PageDone | Finished | Failed


# The most address space the reader of one file may take: a damaged file that makes pypdf
# balloon fails with a message instead of pushing the machine into swap.
MEMORY_LIMIT_BYTES = 3 * 1024**3


class ExtractionWorker:
    """One child process extracting the documents it is given, in order. It dies with this
    process, however this one ends, and is limited in memory."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT_BYTES) -> None:
        # "spawn": forking a process that runs Qt, llama.cpp and Chroma threads is unsafe.
        context = multiprocessing.get_context("spawn")
        self._jobs: Any = context.Queue()
        self._results: Any = context.Queue()
        self._running = context.Event()
        self._running.set()
        self._process = context.Process(
            target=_serve,
            args=(self._jobs, self._results, self._running, os.getpid(), memory_limit),
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

    def pid(self) -> int | None:
        return self._process.pid if self._started and not self._closed else None

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


def _serve(jobs: Any, results: Any, running: EventType, parent_pid: int, memory_limit: int) -> None:
    """The child's loop: one document after another until told to stop."""
    die_with_parent(parent_pid)
    limit_memory(memory_limit)
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
        except MemoryError:
            log.warning("reading %s needed more memory than allowed", job.path)
            results.put(
                Failed(
                    job.document_id,
                    Problem.CORRUPT,
                    f"“{job.path.name}” needs more memory to read than Folio allows for one "
                    "file; it may be damaged. Open it in a PDF viewer and save a new copy.",
                )
            )
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
            for page in itertools.islice(opened.pages(), job.max_pages):
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
        yield Finished(job.document_id, tuple(opened.over_limit))


@dataclass
class Probed:
    """What a look at a document's start found: its page count and title, the pages read
    (``max_pages`` of its job), or why it could not be read."""

    page_count: int = 0
    title: str = ""
    pages: list[PageText] = field(default_factory=list)
    problem: str = ""


# A look at a file's start (its page count, its first pages) that has heard nothing for this
# long is given up: the file is read again, with its own bounds, when it is indexed.
PROBE_STALL_SECONDS = 30.0


def probe_documents(
    jobs: Sequence[ExtractJob], stall_seconds: float = PROBE_STALL_SECONDS
) -> dict[str, Probed]:
    """What each job (``max_pages`` set) finds, read in the extraction process, by document
    id. A file that stalls or kills the process is reported with its problem, and the files
    after it are read by a new process."""
    found: dict[str, Probed] = {}
    remaining = list(jobs)
    while remaining:
        with ExtractionWorker() as worker:
            for job in remaining:
                worker.submit(job)
            heard = time.monotonic()
            while remaining:
                message = worker.next_message(0.05)
                if message is None:
                    stalled = time.monotonic() - heard > stall_seconds
                    if not stalled and worker.is_alive():
                        continue
                    culprit = remaining.pop(0)
                    found[culprit.document_id] = Probed(
                        problem="took too long to read" if stalled else "stopped the reader"
                    )
                    log.warning("looking into %s: %s", culprit.path, found[culprit.document_id])
                    break  # a new process for the rest
                heard = time.monotonic()
                probed = found.setdefault(message.document_id, Probed())
                if isinstance(message, Opened):
                    probed.page_count, probed.title = message.page_count, message.title
                elif isinstance(message, PageDone):
                    probed.pages.append(message.page)
                elif isinstance(message, Finished | Failed):
                    if isinstance(message, Failed):
                        probed.problem = message.message
                    remaining = [job for job in remaining if job.document_id != message.document_id]
    return found
