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
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from desktop.core.config import DocumentSettings
from desktop.core.documents.chunking import OVERLAP_CHARS, TARGET_CHARS, Chunk
from desktop.core.documents.extract import (
    SUPPORTED_SUFFIXES,
    ExtractionError,
    Problem,
    open_document,
)
from desktop.core.documents.extraction_worker import (
    ExtractionWorker,
    ExtractJob,
    Failed,
    Finished,
    Message,
    Opened,
    PageDone,
)
from desktop.core.documents.index import (
    HybridSearch,
    KeywordIndex,
    SearchHit,
    VectorIndex,
)
from desktop.core.embedder import Embedder
from desktop.core.engine import physical_cores

log = logging.getLogger(__name__)

EMBED_BATCH = 48
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
    # Pages in the keyword index so far: extraction runs ahead of embedding.
    library_pages_extracted: int = 0

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
_META_SCHEMA = "CREATE TABLE IF NOT EXISTS library_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class EmbedderMismatchError(Exception):
    """The library was indexed with another embedding model; the message says what to do."""


def embedder_identity(path: Path, dimensions: int) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return f"{path.name}|{dimensions}|{size}"


def embedder_for(folder: Path, wanted: Path) -> tuple[Path, bool]:
    """Which embedding model to open the library in ``folder`` with, and whether its vectors
    may be rebuilt. The model the library was indexed with wins while its file exists, so a
    settings file that lost its value (or a CLI run from elsewhere) keeps the vectors; only
    when that file is gone is ``wanted`` used and the library indexed again."""
    database = folder / "library.sqlite3"
    if not database.is_file():
        return wanted, True
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            row = connection.execute(
                "SELECT value FROM library_meta WHERE key = 'embedder_path'"
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return wanted, False
    if row is None:
        return wanted, False
    recorded = Path(row[0])
    if recorded.is_file():
        return recorded, False
    return wanted, True


class Library:
    def __init__(self, folder: Path, embedder: Embedder, rebuild_vectors: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(folder / "library.sqlite3", check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        with self._conn:
            self._conn.execute(_SCHEMA)
            self._conn.execute(_META_SCHEMA)
        self._embedder = embedder
        self._passwords: dict[str, str] = {}
        self.keywords = KeywordIndex(self._conn)
        self.vectors = VectorIndex(folder / "vectors", self._embed_query)
        self.hybrid = HybridSearch(self.keywords, self.vectors)
        self.chunk_chars = TARGET_CHARS
        self.overlap_chars = OVERLAP_CHARS
        self._resume_interrupted()
        try:
            self.embedder_changed = self._follow_embedder(rebuild_vectors)
        except BaseException:
            self._conn.close()
            raise

    def configure(self, settings: DocumentSettings) -> None:
        """Passage size for documents indexed from now on, and how keyword and meaning search
        are weighed (0: meaning only, 1: keywords only; 0.5 equal)."""
        self.chunk_chars = settings.chunk_size
        self.overlap_chars = min(settings.chunk_overlap, settings.chunk_size - 1)
        self.hybrid.keyword_weight = 2.0 * settings.keyword_share
        self.hybrid.vector_weight = 2.0 * (1.0 - settings.keyword_share)

    def reindex_all(self) -> int:
        """Queue every document that can be read again for indexing (after a change of
        passage size); one whose file is gone or locked keeps the passages it has."""
        documents = [d for d in self.documents() if self._can_index_again(d)]
        for document in documents:
            self.reindex(document.id)
        return len(documents)

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

    def unlock(self, document_id: str, password: str) -> None:
        """Index a password-protected PDF with ``password``. The password is kept in memory
        for this session only, never written to disk."""
        with self._lock:
            self._passwords[document_id] = password
        self.reindex(document_id)

    def needs_password(self, document: DocumentRecord) -> bool:
        return document.status == DocumentStatus.NEEDS_ATTENTION and (
            "password" in document.message
        )

    def _password(self, document_id: str) -> str | None:
        with self._lock:
            return self._passwords.get(document_id)

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
        never stops the others. Returns the documents it finished (or stopped in)."""
        return _IndexRun(self, progress, control or IndexControl()).run()

    def _embed(self, chunks: Sequence[Chunk], helpers: Sequence[Embedder] = ()) -> None:
        """Embed and store ``chunks``, shared out between the embedder and ``helpers`` (more
        instances of the same model, each on its own threads)."""
        if not chunks:
            return
        texts = [chunk.embedding_text for chunk in chunks]
        workers = [self._embedder, *helpers]
        futures = [
            worker.embed_later(part, kind="document")
            for worker, part in zip(workers, _balanced_parts(texts, len(workers)), strict=True)
            if part
        ]
        vectors = np.concatenate([future.result() for future in futures])
        with self._lock:
            # A document removed while its chunks were being embedded leaves no vectors behind.
            documents = sorted({chunk.document_id for chunk in chunks})
            marks = ", ".join("?" for _ in documents)
            present = {
                row[0]
                for row in self._conn.execute(
                    f"SELECT id FROM documents WHERE id IN ({marks})", documents
                )
            }
            kept = [index for index, chunk in enumerate(chunks) if chunk.document_id in present]
            if not kept:
                return
            ids = [chunks[index].id for index in kept]
            self.vectors.add(ids, [chunks[index].document_id for index in kept], vectors[kept])
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
            names = {
                record.id: f"{Path(record.name).stem} {record.title}" for record in records.values()
            }
            hits: list[SearchHit] = self.hybrid.search(query, k, documents, names)
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

    def _follow_embedder(self, rebuild: bool) -> bool:
        """Vectors from another embedding model cannot be compared with this one's. When the
        model differs from the one the library was indexed with, the vectors go and the
        documents are queued to be indexed again, but only when the caller says so (the user
        chose the new model, or the old one is gone): a settings file that lost its value must
        never cost a library its vectors. True when the vectors were rebuilt."""
        info = self._embedder.info
        if info is None:
            return False
        identity = embedder_identity(info.path, info.dimensions)
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM library_meta WHERE key = 'embedder'"
            ).fetchone()
            changed = row is not None and row[0] != identity
            recorded = self._conn.execute(
                "SELECT value FROM library_meta WHERE key = 'embedder_path'"
            ).fetchone()
            # The same file written anew (a starter model converted again) has nothing older
            # to go back to.
            same_file = recorded is not None and recorded[0] == str(info.path.resolve())
            if changed and not (rebuild or same_file):
                raise EmbedderMismatchError(
                    "This library was indexed with another embedding model "
                    f"({str(row[0]).split('|')[0]}); choose that model again in Settings, "
                    "or switch models in Settings to index the documents again."
                )
            if changed:
                log.info("embedding model changed (%s -> %s); indexing again", row[0], identity)
                self.vectors.clear()
                self._queue_for_new_vectors()
            with self._conn:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO library_meta (key, value) VALUES (?, ?)",
                    [("embedder", identity), ("embedder_path", str(info.path.resolve()))],
                )
        return changed

    def _queue_for_new_vectors(self) -> None:
        """Every document that can be read again is queued; one whose file is gone (or locked)
        keeps its passages, found by keyword, and says why it has no vectors."""
        for document in self.documents():
            if self._can_index_again(document):
                self._set_status(
                    document.id,
                    DocumentStatus.QUEUED,
                    "Indexing again for the new embedding model.",
                )
            elif (
                document.status == DocumentStatus.READY or document.status == DocumentStatus.MISSING
            ):
                self._update_if_present(
                    document.id,
                    message="Found by keywords only: its file could not be read again for the "
                    "new embedding model.",
                )

    def _can_index_again(self, document: DocumentRecord) -> bool:
        if document.status == DocumentStatus.MISSING or not document.path.is_file():
            return False
        return not self.needs_password(document) or self._password(document.id) is not None

    def keep_passwords(self, other: Library) -> None:
        """Passwords given this session to ``other`` (the same library opened before)."""
        with other._lock:
            passwords = dict(other._passwords)
        with self._lock:
            self._passwords.update(passwords)

    def _discard_chunks(self, document_id: str) -> None:
        with self._lock:
            self.vectors.remove(self.keywords.remove_document(document_id))

    def _set_status(self, document_id: str, status: DocumentStatus, message: str) -> DocumentRecord:
        return self._update(document_id, status=status, message=message)

    def _update(self, document_id: str, **fields: object) -> DocumentRecord:
        record = self._update_if_present(document_id, **fields)
        assert record is not None
        return record

    def _update_if_present(self, document_id: str, **fields: object) -> DocumentRecord | None:
        """None when the document was removed meanwhile (from another thread)."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [
            str(value) if isinstance(value, DocumentStatus) else value for value in fields.values()
        ]
        with self._lock, self._conn:
            self._conn.execute(
                f"UPDATE documents SET {assignments} WHERE id = ?", (*values, document_id)
            )
        return self.document(document_id)

    def _check_present(self, record: DocumentRecord) -> DocumentRecord:
        if record.status == DocumentStatus.READY and not record.path.exists():
            return replace(
                record,
                status=DocumentStatus.MISSING,
                message=f"“{record.name}” was moved or deleted; its passages can still be "
                "found, but not opened.",
            )
        return record


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

    @property
    def pages_done(self) -> int:
        # A page is done when every chunk of it has its vector.
        return self.pending[0].page_start - 1 if self.pending else self.extracted


class _IndexRun:
    """One indexing run: extraction (another process) runs ahead, filling the keyword index
    page by page; this thread embeds the chunks in document order and marks documents ready."""

    POLL_SECONDS = 0.05
    MAX_MESSAGES_PER_DRAIN = 400

    def __init__(
        self,
        library: Library,
        progress: Callable[[IndexProgress], None] | None,
        control: IndexControl,
    ) -> None:
        self._library = library
        self._progress = progress
        self._control = control
        self._tracker = _Rate({})
        self._order: dict[str, _InFlight] = {}
        self._attempted: set[str] = set()
        self._finished: list[DocumentRecord] = []
        self._worker = ExtractionWorker()
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
            library._discard_chunks(document.id)
            record = library._update_if_present(document.id, message="")
            if record is None:
                continue
            self._order[document.id] = _InFlight(record)
            self._tracker.expect(document.id, max(record.pages, 1))
            self._worker.submit(
                ExtractJob(
                    document.id,
                    record.path,
                    _display_name(record),
                    library._password(document.id),
                    library.chunk_chars,
                    library.overlap_chars,
                )
            )

    def _pause_point(self) -> None:
        if self._control.is_paused():
            self._worker.pause()
            self._control.wait_while_paused()
            self._worker.resume()

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
            self._receive(message)

    def _receive(self, message: Message) -> None:
        library = self._library
        document = self._order.get(message.document_id)
        if document is None:
            return
        if library.document(message.document_id) is None:
            self._forget(message.document_id)
            return
        if isinstance(message, Opened):
            opened = library._update_if_present(
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
            document.extracted += 1
            document.characters += sum(len(chunk.text) for chunk in message.chunks)
            document.chunks += len(message.chunks)
            document.pending.extend(message.chunks)
            self._tracker.page_extracted()
        elif isinstance(message, Finished):
            document.extraction_done = True
            embedding = library._update_if_present(
                message.document_id, status=DocumentStatus.EMBEDDING
            )
            if embedding is None:
                self._forget(message.document_id)
                return
            document.record = embedding
        elif isinstance(message, Failed):
            del self._order[message.document_id]
            library._discard_chunks(message.document_id)
            status = (
                DocumentStatus.NEEDS_ATTENTION
                if message.problem in _ATTENTION
                else DocumentStatus.FAILED
            )
            self._tracker.expect(message.document_id, document.reported)
            self._keep(
                library._update_if_present(
                    message.document_id, status=status, message=message.message
                )
            )

    def _forget(self, document_id: str) -> None:
        """A document removed from the library while it was being indexed."""
        self._order.pop(document_id, None)
        self._library._discard_chunks(document_id)
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
        self._library._embed(batch, self._helpers)
        for document in list(self._order.values()):
            self._report_pages(document)

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
        library = self._library
        for document in list(self._order.values()):
            if not document.extraction_done or document.pending:
                continue
            self._report_pages(document)
            if self._control.is_cancelled():
                return
            del self._order[document.record.id]
            document_id = document.record.id
            if document.characters < MIN_DOCUMENT_CHARS:
                library._discard_chunks(document_id)
                record = library._update_if_present(
                    document_id,
                    status=DocumentStatus.NEEDS_ATTENTION,
                    message=f"“{document.record.name}” has no text layer (it looks scanned). Folio "
                    "cannot read scanned pages yet (no OCR).",
                )
            else:
                record = library._update_if_present(
                    document_id,
                    status=DocumentStatus.READY,
                    chunks=document.chunks,
                    indexed_at=time.time(),
                    message="",
                )
            self._keep(record)

    def _recover_from_a_dead_worker(self) -> None:
        """The extraction process died (out of memory, killed): the document it was reading
        fails, the others are read by a new process."""
        unfinished = [d for d in self._order.values() if not d.extraction_done]
        if not unfinished or self._worker.is_alive():
            return
        self._drain(0.0)  # what it sent before dying
        unfinished = [d for d in self._order.values() if not d.extraction_done]
        if not unfinished:
            return
        self._worker.close()
        self._worker = ExtractionWorker()
        culprit, *others = unfinished
        del self._order[culprit.record.id]
        self._library._discard_chunks(culprit.record.id)
        self._keep(
            self._library._update_if_present(
                culprit.record.id,
                status=DocumentStatus.FAILED,
                message=f"Folio's reader stopped while reading “{culprit.record.name}”; the "
                "file may be too large or damaged.",
            )
        )
        for document in others:
            del self._order[document.record.id]
            self._attempted.discard(document.record.id)
            self._library._update_if_present(
                document.record.id, status=DocumentStatus.QUEUED, message=""
            )

    def _requeue_unfinished(self) -> None:
        """After a cancel: what was started is queued again (and its partial chunks go)."""
        for document in self._order.values():
            document_id = document.record.id
            if self._library.document(document_id) is None:
                continue
            self._library._discard_chunks(document_id)
            if document.reported:
                self._keep(
                    self._library._update_if_present(
                        document_id,
                        status=DocumentStatus.QUEUED,
                        message="Indexing was stopped before the end.",
                    )
                )
            else:
                self._library._update_if_present(
                    document_id, status=DocumentStatus.QUEUED, message=""
                )

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
        info = self._library._embedder.info
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
            self._library._embedder.set_threads(threads)

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


def _balanced_parts(texts: list[str], count: int) -> list[list[str]]:
    """``texts`` cut, in order, into ``count`` runs of about equal length: the embedders
    working on them in parallel finish at about the same time (the batch waits for the last)."""
    total = sum(len(text) for text in texts)
    parts: list[list[str]] = [[] for _ in range(count)]
    done = 0
    for text in texts:
        index = min(count - 1, done * count // max(total, 1))
        parts[index].append(text)
        done += len(text)
    return parts


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
