"""The document library: add files and folders, index them, search them.

Documents are identified by the SHA-256 of their content, so the same file added twice is indexed
once and an edited file is indexed again. Indexing is journaled per document: the status moves
queued → extracting → embedding → ready, and a run that stops part-way (quit, crash, kill -9)
leaves the document not ready; the next run removes its partial chunks and indexes it again, so a
half-indexed document is never shown as ready. Each page's chunks are keyword-searchable as soon as
the page is extracted; vectors follow. Extraction (pypdf, Python) runs on its own thread while the
embedder (llama.cpp, which releases the GIL) works on the previous pages.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from desktop.core.documents.chunking import Chunk, chunk_pages
from desktop.core.documents.extract import (
    SUPPORTED_SUFFIXES,
    ExtractionError,
    PageText,
    Problem,
    open_document,
)
from desktop.core.documents.index import (
    HybridSearch,
    KeywordIndex,
    SearchHit,
    VectorIndex,
)
from desktop.core.embedder import Embedder

log = logging.getLogger(__name__)

EMBED_BATCH = 32
# Fewer characters than this over the whole document: no usable text layer (a scan).
MIN_DOCUMENT_CHARS = 40


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    EXTRACTING = "extracting"
    EMBEDDING = "embedding"
    READY = "ready"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"
    MISSING = "missing"


_IN_PROGRESS = (DocumentStatus.EXTRACTING, DocumentStatus.EMBEDDING)
_ATTENTION = {Problem.ENCRYPTED, Problem.NO_TEXT}


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    path: Path
    name: str
    title: str
    size: int
    pages: int
    chunks: int
    status: DocumentStatus
    message: str
    added_at: float
    indexed_at: float | None


@dataclass(frozen=True)
class AddResult:
    path: Path
    document: DocumentRecord | None
    # "added", "unchanged" (same content already in the library), "changed" (re-index), or
    # "failed" with ``message`` saying why.
    outcome: str
    message: str = ""


@dataclass(frozen=True)
class IndexProgress:
    document: DocumentRecord
    phase: str
    page: int
    pages: int
    library_pages_done: int
    library_pages_total: int
    pages_per_second: float

    @property
    def seconds_left(self) -> float | None:
        if self.pages_per_second <= 0:
            return None
        return (self.library_pages_total - self.library_pages_done) / self.pages_per_second


class IndexControl:
    """Pause, resume and cancel an indexing run from any thread.

    Pausing holds the run between two pages, so nothing done so far is lost and resuming goes on
    from the next page; cancelling ends the run and leaves unfinished documents queued.
    """

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()

    def is_paused(self) -> bool:
        return not self._running.is_set()

    def is_cancelled(self) -> bool:
        return self._cancelled.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        # A paused run wakes up to see that it is over.
        self._running.set()

    def wait_while_paused(self) -> None:
        self._running.wait()


@dataclass(frozen=True)
class LibraryHit:
    document: DocumentRecord
    chunk: Chunk
    score: float
    similarity: float | None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    pages INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    added_at REAL NOT NULL,
    indexed_at REAL
)
"""


class Library:
    def __init__(self, folder: Path, embedder: Embedder) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(folder / "library.sqlite3", check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        with self._conn:
            self._conn.execute(_SCHEMA)
        self._embedder = embedder
        self.keywords = KeywordIndex(self._conn)
        self.vectors = VectorIndex(folder / "vectors", self._embed_query)
        self.hybrid = HybridSearch(self.keywords, self.vectors)
        self._resume_interrupted()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- documents ------------------------------------------------------------------------------

    def documents(self) -> list[DocumentRecord]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM documents ORDER BY added_at, name").fetchall()
        records = [_record(row) for row in rows]
        return [self._check_present(record) for record in records]

    def document(self, document_id: str) -> DocumentRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
        return self._check_present(_record(row)) if row else None

    def add(self, paths: Iterable[Path]) -> list[AddResult]:
        """Register files (folders are walked) for indexing; nothing is extracted yet."""
        results: list[AddResult] = []
        for path, in_folder in _expand(paths):
            if in_folder and path.suffix.lower() not in SUPPORTED_SUFFIXES:
                # Reported, not registered: a folder of documents often holds images and the like.
                results.append(
                    AddResult(
                        path, None, "skipped", f"“{path.name}” is not a PDF, .txt or .md file."
                    )
                )
                continue
            results.append(self._add_file(path))
        return results

    def remove(self, document_id: str) -> None:
        with self._lock:
            removed = self.keywords.remove_document(document_id)
            self.vectors.remove(removed)
            with self._conn:
                self._conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))

    def reindex(self, document_id: str) -> None:
        self._set_status(document_id, DocumentStatus.QUEUED, "")

    # -- indexing -------------------------------------------------------------------------------

    def pending(self) -> list[DocumentRecord]:
        """Documents not (yet) searchable in full: queued or being indexed."""
        waiting = (DocumentStatus.QUEUED, *_IN_PROGRESS)
        return [d for d in self.documents() if d.status in waiting]

    def index_queued(
        self,
        progress: Callable[[IndexProgress], None] | None = None,
        control: IndexControl | None = None,
    ) -> list[DocumentRecord]:
        """Index every queued document, including those queued while this runs; one failing
        never stops the others."""
        control = control or IndexControl()
        tracker = _Rate({})
        attempted: set[str] = set()
        finished: list[DocumentRecord] = []
        while not control.is_cancelled():
            queued = [
                d
                for d in self.documents()
                if d.status == DocumentStatus.QUEUED and d.id not in attempted
            ]
            if not queued:
                break
            for document in queued:
                tracker.expect(document.id, max(document.pages, 1))
            for document in queued:
                control.wait_while_paused()
                if control.is_cancelled():
                    break
                attempted.add(document.id)
                current = self.document(document.id)
                if current is None or current.status != DocumentStatus.QUEUED:
                    # Removed (or its file changed) while waiting its turn.
                    tracker.expect(document.id, 0)
                    continue
                finished.append(self._index_document(current, tracker, progress, control))
        return finished

    def _index_document(
        self,
        document: DocumentRecord,
        tracker: _Rate,
        progress: Callable[[IndexProgress], None] | None,
        control: IndexControl,
    ) -> DocumentRecord:
        self._discard_chunks(document.id)
        try:
            opened = open_document(document.path)
        except ExtractionError as error:
            status = (
                DocumentStatus.NEEDS_ATTENTION
                if error.problem in _ATTENTION
                else DocumentStatus.FAILED
            )
            return self._set_status(document.id, status, str(error))
        with opened:
            document = self._update(
                document.id,
                status=DocumentStatus.EXTRACTING,
                pages=opened.page_count,
                title=opened.title,
                message="",
            )
            tracker.expect(document.id, opened.page_count)
            characters = 0
            chunk_count = 0
            pending: list[Chunk] = []
            for page, page_chunks in self._extract_in_background(opened, document, control):
                control.wait_while_paused()
                if control.is_cancelled():
                    break
                characters += sum(len(chunk.text) for chunk in page_chunks)
                # Searchable by keyword at once; vectors follow in batches.
                self.keywords.add(page_chunks)
                chunk_count += len(page_chunks)
                pending.extend(page_chunks)
                if len(pending) >= EMBED_BATCH:
                    self._embed(pending)
                    pending = []
                tracker.page_done(document.id)
                if progress is not None:
                    progress(tracker.progress(document, "extracting", page.number))
            if control.is_cancelled():
                return self._set_status(
                    document.id, DocumentStatus.QUEUED, "Indexing was stopped before the end."
                )
            self._update(document.id, status=DocumentStatus.EMBEDDING)
            # Whatever has no vector yet: the last partial batch.
            self._embed(self.keywords.unembedded(document.id))
        if characters < MIN_DOCUMENT_CHARS:
            self._discard_chunks(document.id)
            return self._set_status(
                document.id,
                DocumentStatus.NEEDS_ATTENTION,
                f"“{document.name}” has no text layer (it looks scanned). Folio cannot read "
                "scanned pages yet (no OCR).",
            )
        return self._update(
            document.id,
            status=DocumentStatus.READY,
            chunks=chunk_count,
            indexed_at=time.time(),
            message="",
        )

    def _extract_in_background(
        self, opened: object, document: DocumentRecord, control: IndexControl
    ) -> Iterator[tuple[PageText, list[Chunk]]]:
        """Pages and their chunks, produced on a helper thread while the caller embeds."""
        from desktop.core.documents.extract import OpenedDocument

        assert isinstance(opened, OpenedDocument)
        handoff: queue.Queue[tuple[PageText, list[Chunk]] | BaseException | None] = queue.Queue(
            maxsize=64
        )
        stop = threading.Event()

        def produce() -> None:
            try:
                seen: list[PageText] = []
                chunks_by_page: dict[int, list[Chunk]] = {}
                handed_over = 0

                def pages() -> Iterator[PageText]:
                    for page in opened.pages():
                        if stop.is_set() or control.is_cancelled():
                            return
                        seen.append(page)
                        yield page

                def hand_over(page_count: int) -> None:
                    # Every page is handed over, with or without chunks, so progress counts
                    # blank pages too.
                    nonlocal handed_over
                    while handed_over < page_count:
                        page = seen[handed_over]
                        handoff.put((page, chunks_by_page.pop(page.number, [])))
                        handed_over += 1

                for chunk in chunk_pages(
                    pages(),
                    document_id=document.id,
                    document_name=_display_name(document),
                    title=opened.title,
                ):
                    # The chunker has moved on to this chunk's page: earlier pages are complete.
                    hand_over(chunk.page_start - 1)
                    chunks_by_page.setdefault(chunk.page_start, []).append(chunk)
                hand_over(len(seen))
                handoff.put(None)
            except BaseException as error:  # reported to the consumer, never lost
                handoff.put(error)

        producer = threading.Thread(target=produce, name="folio-extract", daemon=True)
        producer.start()
        try:
            while True:
                item = handoff.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            # Drain the queue so a producer blocked on a full queue can see the stop and end.
            while producer.is_alive():
                with contextlib.suppress(queue.Empty):
                    handoff.get(timeout=0.05)
            producer.join()

    def _embed(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            return
        vectors = self._embedder.embed([chunk.indexed_text for chunk in chunks], kind="document")
        ids = [chunk.id for chunk in chunks]
        with self._lock:
            self.vectors.add(ids, [chunk.document_id for chunk in chunks], vectors)
            self.keywords.mark_embedded(ids)

    def _embed_query(self, text: str) -> npt.NDArray[np.float32]:
        vector: npt.NDArray[np.float32] = self._embedder.embed([text], kind="query")[0]
        return vector

    # -- search ---------------------------------------------------------------------------------

    def search(
        self, query: str, k: int = 10, documents: Sequence[str] | None = None
    ) -> list[LibraryHit]:
        records = {record.id: record for record in self.documents()}
        with self._lock:
            hits: list[SearchHit] = self.hybrid.search(query, k, documents)
        return [
            LibraryHit(records[hit.chunk.document_id], hit.chunk, hit.score, hit.similarity)
            for hit in hits
            if hit.chunk.document_id in records
        ]

    # -- internals ------------------------------------------------------------------------------

    def _add_file(self, path: Path) -> AddResult:
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            return AddResult(
                path,
                None,
                "failed",
                f"“{path.name}” is not a document Folio can read (PDF, .txt or .md).",
            )
        try:
            digest, size = _sha256(path)
        except OSError as error:
            return AddResult(
                path, None, "failed", f"“{path.name}” could not be read: {error.strerror or error}."
            )
        existing = self.document(digest)
        if existing is not None:
            if existing.path != path and not existing.path.exists():
                existing = self._update(digest, path=str(path), name=path.name)
            return AddResult(path, existing, "unchanged")
        with self._lock, self._conn:
            replaced = self._conn.execute(
                "SELECT id FROM documents WHERE path = ?", (str(path),)
            ).fetchone()
            if replaced is not None:
                # The file at this path changed: its old chunks go, the new content is queued.
                old = replaced[0]
                self.vectors.remove(self.keywords.remove_document(old))
                self._conn.execute("DELETE FROM documents WHERE id = ?", (old,))
            self._conn.execute(
                "INSERT INTO documents (id, path, name, size, status, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (digest, str(path), path.name, size, DocumentStatus.QUEUED, time.time()),
            )
        record = self._read_page_count(digest, path)
        return AddResult(path, record, "changed" if replaced else "added")

    def _read_page_count(self, document_id: str, path: Path) -> DocumentRecord | None:
        """Page count and title up front (opening reads no page), so that progress and time
        left cover the whole library from the start; problems are reported by indexing."""
        try:
            with open_document(path) as opened:
                return self._update(document_id, pages=opened.page_count, title=opened.title)
        except ExtractionError:
            return self.document(document_id)

    def _resume_interrupted(self) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE documents SET status = ?, message = ? WHERE status IN (?, ?)",
                (
                    DocumentStatus.QUEUED,
                    "Indexing was interrupted; it will start again.",
                    *_IN_PROGRESS,
                ),
            )

    def _discard_chunks(self, document_id: str) -> None:
        with self._lock:
            self.vectors.remove(self.keywords.remove_document(document_id))

    def _set_status(self, document_id: str, status: DocumentStatus, message: str) -> DocumentRecord:
        return self._update(document_id, status=status, message=message)

    def _update(self, document_id: str, **fields: object) -> DocumentRecord:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [
            str(value) if isinstance(value, DocumentStatus) else value for value in fields.values()
        ]
        with self._lock, self._conn:
            self._conn.execute(
                f"UPDATE documents SET {assignments} WHERE id = ?", (*values, document_id)
            )
        record = self.document(document_id)
        assert record is not None
        return record

    def _check_present(self, record: DocumentRecord) -> DocumentRecord:
        if record.status == DocumentStatus.READY and not record.path.exists():
            return replace(
                record,
                status=DocumentStatus.MISSING,
                message=f"“{record.name}” was moved or deleted; its passages can still be "
                "found, but not opened.",
            )
        return record


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
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._samples.append((time.perf_counter(), 0))

    def expect(self, document_id: str, pages: int) -> None:
        previous = self._expected.get(document_id, 0)
        self._total += pages - previous
        self._expected[document_id] = pages

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
            pages_per_second=(last_done - first_done) / elapsed if elapsed > 0 else 0.0,
        )


def _record(row: tuple[Any, ...]) -> DocumentRecord:
    (identifier, path, name, title, size, pages, chunks, status, message, added, indexed) = row
    return DocumentRecord(
        id=str(identifier),
        path=Path(str(path)),
        name=str(name),
        title=str(title),
        size=int(size),
        pages=int(pages),
        chunks=int(chunks),
        status=DocumentStatus(str(status)),
        message=str(message),
        added_at=float(added),
        indexed_at=float(indexed) if indexed is not None else None,
    )


def _display_name(document: DocumentRecord) -> str:
    """The file name without its extension, separators as spaces (“AMAZON 2017 10K”)."""
    return Path(document.name).stem.replace("_", " ").replace("-", " ").strip()


def _expand(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Files to add, each with whether it was found by walking a folder."""
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden:
                    yield child.resolve(), True
        else:
            yield (path.resolve() if path.exists() else path), False


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while block := stream.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
