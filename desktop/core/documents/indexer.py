"""One indexing run: the extraction process reads ahead, this thread embeds, documents finish.

Extraction (pypdf, in a process of its own) hands back each page's passages, which go into the
keyword index at once, so every page can be found by its words long before it has vectors.
This thread embeds the passages in document order, in batches, and marks each document ready
when its last passage has its vector; a document that fails never stops the others.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from desktop.core import faults
from desktop.core.documents.chunking import Chunk
from desktop.core.documents.extract import PageText, Problem
from desktop.core.documents.extraction_process import (
    ExtractionWorker,
    ExtractJob,
    Failed,
    Finished,
    Message,
    Opened,
    PageDone,
)
from desktop.core.documents.keyword_index import KeywordIndex
from desktop.core.documents.records import (
    ATTENTION,
    DocumentRecord,
    DocumentStatus,
    IndexControl,
    IndexProgress,
)
from desktop.core.documents.store import DocumentStore
from desktop.core.documents.titles import HEADING_PAGES, first_heading
from desktop.core.embedding.embedder import Embedder
from desktop.core.platform import physical_cores

log = logging.getLogger(__name__)

EMBED_BATCH = 48
# Fewer characters than this over the whole document: no usable text layer (a scan).
MIN_DOCUMENT_CHARS = 40


class IndexTarget(Protocol):
    """What a run needs of the library it fills (``Library`` is one)."""

    @property
    def store(self) -> DocumentStore: ...

    @property
    def keywords(self) -> KeywordIndex: ...

    @property
    def embedder(self) -> Embedder: ...

    @property
    def chunk_chars(self) -> int: ...

    @property
    def overlap_chars(self) -> int: ...

    def documents(self) -> list[DocumentRecord]: ...

    def password_for(self, document_id: str) -> str | None: ...

    def discard_chunks(self, document_id: str) -> None: ...

    def embed_chunks(self, chunks: Sequence[Chunk], helpers: Sequence[Embedder] = ()) -> None: ...


@dataclass
class _InFlight:
    """A document handed to the extraction process and not yet finished."""

    record: DocumentRecord
    extracted: int = 0  # pages handed back, keyword-searchable
    reported: int = 0  # pages reported done (extracted and embedded)
    characters: int = 0
    chunks: int = 0
    extraction_done: bool = False
    pending: list[Chunk] = field(default_factory=list)
    over_limit: tuple[int, ...] = ()
    # The first pages, until the document's heading is known from them.
    first_pages: list[PageText] = field(default_factory=list)
    heading_known: bool = False

    @property
    def pages_done(self) -> int:
        # A page is done when every chunk of it has its vector.
        return self.pending[0].page_start - 1 if self.pending else self.extracted


class IndexRun:
    """One indexing run: extraction (another process) runs ahead, filling the keyword index
    page by page; this thread embeds the chunks in document order and marks documents ready."""

    POLL_SECONDS = 0.05
    MAX_MESSAGES_PER_DRAIN = 400
    # One page that keeps the reader busy this long is a file that never ends (a page tree
    # that loops, a stream that expands without end): the reader is stopped, the file fails
    # with why, and a new reader goes on with the others.
    STALL_SECONDS = 60.0

    def __init__(
        self,
        library: IndexTarget,
        progress: Callable[[IndexProgress], None] | None,
        control: IndexControl,
        heading_found: Callable[[DocumentRecord], None] | None = None,
    ) -> None:
        """``heading_found`` hears of a document whose first pages gave it a heading (its
        record as it is now), often well before its pages are reported done."""
        self._library = library
        self._progress = progress
        self._control = control
        self._heading_found = heading_found
        self._tracker = _Rate({})
        self._order: dict[str, _InFlight] = {}
        self._attempted: set[str] = set()
        self._finished: list[DocumentRecord] = []
        self._worker = ExtractionWorker()
        self._heard = time.monotonic()
        self._embedder_threads = 0
        self._helpers: list[Embedder] = []
        self._helper_failed = False

    def run(self) -> list[DocumentRecord]:
        try:
            while not self._control.is_cancelled():
                self._submit_queued()
                if not self._order:
                    break
                self._pause_point()
                if self._control.is_cancelled():
                    break
                batch_ready = self._batch_ready()
                self._drain(0.0 if batch_ready else self.POLL_SECONDS)
                self._adapt_embedder_threads()
                self._embed_batch()
                self._finish_documents()
                self._recover_from_a_dead_worker()
            if self._control.is_cancelled():
                self._requeue_unfinished()
        finally:
            self._worker.close()
            self._close_helpers()
            self._set_embedder_threads(0)
        return self._finished

    # -- stages ---------------------------------------------------------------------------------

    def _submit_queued(self) -> None:
        library = self._library
        for document in library.documents():
            if document.status != DocumentStatus.QUEUED or document.id in self._attempted:
                continue
            self._attempted.add(document.id)
            # Partial chunks of an interrupted run go; it stays queued until its turn comes.
            library.discard_chunks(document.id)
            record = library.store.update(document.id, message="", problem="")
            if record is None:
                continue
            self._order[document.id] = _InFlight(record)
            self._tracker.expect(document.id, max(record.pages, 1))
            self._worker.submit(
                ExtractJob(
                    document.id,
                    record.path,
                    record.display_name,
                    library.password_for(document.id),
                    library.chunk_chars,
                    library.overlap_chars,
                )
            )

    def _pause_point(self) -> None:
        if self._control.is_paused():
            self._worker.pause()
            self._control.wait_while_paused()
            self._worker.resume()
            self._heard = time.monotonic()  # a pause is no stall

    def _batch_ready(self) -> bool:
        waiting = sum(len(d.pending) for d in self._order.values())
        extracting = any(not d.extraction_done for d in self._order.values())
        return waiting >= EMBED_BATCH or (waiting > 0 and not extracting)

    def _drain(self, timeout: float) -> None:
        for _ in range(self.MAX_MESSAGES_PER_DRAIN):
            message = self._worker.next_message(timeout)
            if message is None:
                return
            timeout = 0.0
            self._heard = time.monotonic()
            self._receive(message)

    def _receive(self, message: Message) -> None:
        library = self._library
        document = self._order.get(message.document_id)
        if document is None:
            return
        if library.store.get(message.document_id) is None:
            self._forget(message.document_id)
            return
        if isinstance(message, Opened):
            opened = library.store.update(
                message.document_id,
                status=DocumentStatus.EXTRACTING,
                pages=message.page_count,
                title=message.title,
            )
            if opened is None:
                self._forget(message.document_id)
                return
            document.record = opened
            self._tracker.expect(message.document_id, message.page_count)
        elif isinstance(message, PageDone):
            # Searchable by keyword at once; vectors follow.
            library.keywords.add(message.chunks)
            faults.kill_point(faults.KEYWORDS_WRITTEN)
            document.extracted += 1
            document.characters += sum(len(chunk.text) for chunk in message.chunks)
            document.chunks += len(message.chunks)
            document.pending.extend(message.chunks)
            self._tracker.page_extracted()
            if not document.heading_known and message.page.number <= HEADING_PAGES:
                document.first_pages.append(message.page)
                if len(document.first_pages) >= min(HEADING_PAGES, document.record.pages):
                    self._find_heading(document)
        elif isinstance(message, Finished):
            document.extraction_done = True
            document.over_limit = message.over_limit
            if not document.heading_known:
                self._find_heading(document)
            embedding = library.store.update(message.document_id, status=DocumentStatus.EMBEDDING)
            if embedding is None:
                self._forget(message.document_id)
                return
            document.record = embedding
        elif isinstance(message, Failed):
            del self._order[message.document_id]
            library.discard_chunks(message.document_id)
            status = (
                DocumentStatus.NEEDS_ATTENTION
                if message.problem in ATTENTION
                else DocumentStatus.FAILED
            )
            self._tracker.expect(message.document_id, document.reported)
            self._keep(
                library.store.set_status(
                    message.document_id, status, message.message, problem=message.problem
                )
            )

    def _find_heading(self, document: _InFlight) -> None:
        """The document's heading, from its first pages, kept on its record ("" when they
        have none, so that it is not looked for again)."""
        document.heading_known = True
        heading = first_heading(document.first_pages)
        document.first_pages = []
        if heading == document.record.heading:
            return
        record = self._library.store.update(document.record.id, heading=heading)
        if record is None:
            return
        document.record = record
        if heading and self._heading_found is not None:
            self._heading_found(record)

    def _forget(self, document_id: str) -> None:
        """A document removed from the library while it was being indexed."""
        self._order.pop(document_id, None)
        self._library.discard_chunks(document_id)
        self._tracker.expect(document_id, 0)

    def _keep(self, record: DocumentRecord | None) -> None:
        if record is not None:
            self._finished.append(record)

    def _embed_batch(self) -> None:
        if not self._batch_ready():
            return
        batch: list[Chunk] = []
        for document in self._order.values():
            take = EMBED_BATCH - len(batch)
            batch.extend(document.pending[:take])
            del document.pending[:take]
            if len(batch) >= EMBED_BATCH:
                break
        self._library.embed_chunks(batch, self._helpers)
        self._finish_documents()

    def _report_pages(self, document: _InFlight) -> None:
        while document.reported < document.pages_done:
            self._pause_point()
            if self._control.is_cancelled():
                return
            document.reported += 1
            self._tracker.page_done(document.record.id)
            if self._progress is not None:
                phase = "embedding" if document.extraction_done else "extracting"
                self._progress(self._tracker.progress(document.record, phase, document.reported))

    def _finish_documents(self) -> None:
        """Pages done are reported, and complete documents finished, in document order: a
        document is ready before the next one's first page is reported done, so that whoever
        counts searchable pages never sees a page done of a document not yet ready."""
        library = self._library
        for document in list(self._order.values()):
            self._report_pages(document)
            if self._control.is_cancelled():
                return
            if not document.extraction_done or document.pending:
                continue
            del self._order[document.record.id]
            document_id = document.record.id
            faults.kill_point(faults.DOCUMENT_FINISHING)
            if document.characters < MIN_DOCUMENT_CHARS and document.over_limit:
                library.discard_chunks(document_id)
                record = library.store.set_status(
                    document_id,
                    DocumentStatus.FAILED,
                    _over_limit(document.record.name, document.over_limit),
                    problem=Problem.CORRUPT,
                )
            elif document.characters < MIN_DOCUMENT_CHARS:
                library.discard_chunks(document_id)
                record = library.store.set_status(
                    document_id,
                    DocumentStatus.NEEDS_ATTENTION,
                    _too_little_text(document.record.name),
                    problem=Problem.NO_TEXT,
                )
            else:
                record = library.store.set_status(
                    document_id,
                    DocumentStatus.READY,
                    _over_limit(document.record.name, document.over_limit)
                    if document.over_limit
                    else "",
                    chunks=document.chunks,
                    indexed_at=time.time(),
                )
            self._keep(record)

    def _recover_from_a_dead_worker(self) -> None:
        """The extraction process died (out of memory, killed): the document it was reading
        fails, the others are read by a new process."""
        unfinished = [d for d in self._order.values() if not d.extraction_done]
        stalled = time.monotonic() - self._heard > self.STALL_SECONDS
        if not unfinished or (self._worker.is_alive() and not stalled):
            return
        self._drain(0.0)  # what it sent before it died or stalled
        unfinished = [d for d in self._order.values() if not d.extraction_done]
        if not unfinished or (self._worker.is_alive() and self._heard > time.monotonic() - 1):
            return
        self._worker.close()
        self._worker = ExtractionWorker()
        self._heard = time.monotonic()
        culprit, *others = unfinished
        del self._order[culprit.record.id]
        self._library.discard_chunks(culprit.record.id)
        if stalled:
            log.warning("reading %s stalled; its reader was stopped", culprit.record.path)
            reason = (
                f"Folio stopped reading “{culprit.record.name}”: one of its pages took over "
                f"{self.STALL_SECONDS:.0f} s. The file may be damaged; open it in a PDF viewer "
                "and save a new copy."
            )
        else:
            reason = (
                f"Folio's reader stopped while reading “{culprit.record.name}”; the "
                "file may be too large or damaged."
            )
        self._keep(
            self._library.store.set_status(
                culprit.record.id, DocumentStatus.FAILED, reason, problem=Problem.CORRUPT
            )
        )
        for document in others:
            del self._order[document.record.id]
            self._attempted.discard(document.record.id)
            self._library.store.set_status(document.record.id, DocumentStatus.QUEUED)

    def _requeue_unfinished(self) -> None:
        """After a cancel: what was started is queued again (and its partial chunks go)."""
        for document in self._order.values():
            document_id = document.record.id
            if self._library.store.get(document_id) is None:
                continue
            self._library.discard_chunks(document_id)
            if document.reported:
                self._keep(
                    self._library.store.set_status(
                        document_id, DocumentStatus.QUEUED, "Indexing was stopped before the end."
                    )
                )
            else:
                self._library.store.set_status(document_id, DocumentStatus.QUEUED)

    # -- the embedder's share of the machine ----------------------------------------------------

    def _adapt_embedder_threads(self) -> None:
        """While the extraction process works, leave it a core; once it is done, a second
        instance of the embedder joins in. Measured with MiniLM on 2 cores: one instance on
        2 threads embeds 39 chunks/s, two instances on 1 thread each 47 (llama.cpp's threads
        wait for each other at every layer; separate instances do not)."""
        extracting = any(not d.extraction_done for d in self._order.values())
        cores = physical_cores()
        free = max(1, cores - 1) if extracting else cores
        if extracting or cores < 2:
            self._set_embedder_threads(free)
            return
        if not self._helpers and not self._helper_failed:
            self._start_helper(threads=cores // 2)
        self._set_embedder_threads(cores - cores // 2 if self._helpers else cores)

    def _start_helper(self, threads: int) -> None:
        info = self._library.embedder.info
        if info is None:
            return
        helper = Embedder()
        try:
            helper.load(info.path, threads=threads).result()
        except Exception:
            log.exception("a second embedder could not be started; going on with one")
            helper.close()
            self._helper_failed = True
            return
        self._helpers.append(helper)

    def _set_embedder_threads(self, threads: int) -> None:
        if threads != self._embedder_threads:
            self._embedder_threads = threads
            self._library.embedder.set_threads(threads)

    def _close_helpers(self) -> None:
        for helper in self._helpers:
            helper.close()
        self._helpers.clear()


class _Rate:
    """Library-wide pages done, pages per second and what is left, for the progress bar.

    The rate is measured over the last half minute, so time left follows what the pipeline is
    doing now (a dense table document, a pause) rather than its average since the start.
    """

    WINDOW_SECONDS = 30.0

    def __init__(self, expected_pages: dict[str, int]) -> None:
        self._expected = dict(expected_pages)
        self._total = sum(expected_pages.values())
        self._done = 0
        self._extracted = 0
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._samples.append((time.perf_counter(), 0))

    def expect(self, document_id: str, pages: int) -> None:
        previous = self._expected.get(document_id, 0)
        self._total += pages - previous
        self._expected[document_id] = pages

    def page_extracted(self) -> None:
        self._extracted += 1

    def page_done(self, document_id: str) -> None:
        self._done += 1
        now = time.perf_counter()
        self._samples.append((now, self._done))
        while len(self._samples) > 2 and now - self._samples[1][0] > self.WINDOW_SECONDS:
            self._samples.popleft()

    def progress(self, document: DocumentRecord, phase: str, page: int) -> IndexProgress:
        (first_time, first_done), (last_time, last_done) = self._samples[0], self._samples[-1]
        elapsed = last_time - first_time
        return IndexProgress(
            document=document,
            phase=phase,
            page=page,
            pages=document.pages,
            library_pages_done=self._done,
            library_pages_total=max(self._total, self._done),
            library_pages_extracted=self._extracted,
            pages_per_second=(last_done - first_done) / elapsed if elapsed > 0 else 0.0,
        )


def _too_little_text(name: str) -> str:
    """Why a document with (almost) no text is not searchable: a PDF without a text layer is a
    scan; a text or Markdown file is simply (nearly) empty, and "scanned" would mislead."""
    if name.lower().endswith(".pdf"):
        return (
            f"“{name}” has no text layer (it looks scanned). Folio cannot read scanned pages "
            "yet (no OCR)."
        )
    return (
        f"“{name}” holds almost no text (under {MIN_DOCUMENT_CHARS} characters), so there is "
        "nothing in it to search."
    )


def _over_limit(name: str, pages: tuple[int, ...]) -> str:
    """Pages whose content expands past the reading limits: a damaged file, or one built to
    exhaust memory (a decompression bomb), never a scan."""
    shown = ", ".join(str(page) for page in pages[:5]) + (", …" if len(pages) > 5 else "")
    return (
        f"Folio did not read page{'s' if len(pages) > 1 else ''} {shown} of “{name}”: "
        f"{'their' if len(pages) > 1 else 'its'} content expands to far more data than a page "
        "holds, so the file is damaged or made to exhaust memory."
    )
