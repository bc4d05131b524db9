"""The document library: add files and folders, index them, search them.

Documents are identified by the SHA-256 of their content, so the same file added twice is indexed
once and an edited file is indexed again. Indexing is journaled per document (``store``): a run
that stops part-way leaves the document not ready, and the next run removes its partial passages
and indexes it again, so a half-indexed document is never shown as ready. Each page's passages
are keyword-searchable as soon as the page is extracted; vectors follow (``indexer``).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from desktop.core import faults
from desktop.core.documents.chunking import OVERLAP_CHARS, TARGET_CHARS, Chunk
from desktop.core.documents.extract import SUPPORTED_SUFFIXES
from desktop.core.documents.extraction_process import ExtractJob, probe_documents
from desktop.core.documents.file_checks import printable_name, refusal
from desktop.core.documents.indexer import IndexRun
from desktop.core.documents.keyword_index import KeywordIndex
from desktop.core.documents.records import (
    WAITING,
    AddOutcome,
    AddResult,
    DocumentRecord,
    DocumentStatus,
    IndexControl,
    IndexProgress,
    LibraryHit,
)
from desktop.core.documents.search import HybridSearch, SearchHit
from desktop.core.documents.store import DocumentStore
from desktop.core.documents.titles import HEADING_PAGES, first_heading
from desktop.core.documents.vector_index import VectorIndex
from desktop.core.documents.vector_process import VectorProcess
from desktop.core.embedding.embedder import Embedder
from desktop.core.errors import EngineError
from desktop.core.settings.schema import DocumentSettings

log = logging.getLogger(__name__)

DATABASE = "library.sqlite3"
# Documents whose headings ``read_headings`` reads in one call, so that a large old library
# never holds up for long whatever else waits for the library.
HEADINGS_PER_CALL = 20


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
    database = folder / DATABASE
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


class LibraryNotFoundError(EngineError):
    """A library opened only to read has never been written: there is nothing in it."""

    def __init__(self) -> None:
        super().__init__(
            "The library is empty: add documents with “folio index PATH” or in the window."
        )


def tidy_library(folder: Path) -> None:
    """Bring a library's file up to this version's layout, and queue again what a run that
    ended part-way was indexing. Only for a process that holds the data folder's writer lock
    but does not open the library to write (a search run while nobody indexes): then nothing
    else writes, and a library opened only to read after it finds its tables as it expects."""
    database = folder / DATABASE
    if not database.is_file():
        return
    connection = sqlite3.connect(database)
    try:
        store = DocumentStore(connection, threading.RLock())
        KeywordIndex(connection)
        store.requeue_interrupted()
    finally:
        connection.close()


class Library:
    def __init__(
        self,
        folder: Path,
        embedder: Embedder,
        rebuild_vectors: bool = False,
        *,
        writable: bool = True,
        vectors_apart: bool = False,
    ) -> None:
        """``writable``: this process holds the data folder's writer lock. A library opened
        only to read (a search beside an indexer in another process) changes nothing: its
        connection refuses writes, interrupted documents stay as the writer left them, and
        the vector store is only read.

        ``vectors_apart``: the vector store runs in a process of its own (``vector_process``),
        so that its writes never stall this one (the window's)."""
        self.writable = writable
        database = folder / DATABASE
        if writable:
            folder.mkdir(parents=True, exist_ok=True)
        elif not database.is_file():
            raise LibraryNotFoundError()
        self._conn = _connect(database, writable)
        try:
            if writable:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            else:
                self._conn.execute("PRAGMA query_only=ON")
            self._lock = threading.RLock()
            self._embedder = embedder
            self._passwords: dict[str, str] = {}
            self._headings_read: dict[str, str] = {}
            self.store = DocumentStore(self._conn, self._lock)
            self.keywords = KeywordIndex(self._conn)
            store = VectorProcess(folder / "vectors", writable=writable) if vectors_apart else None
            self.vectors = VectorIndex(
                folder / "vectors", self._embed_query, writable=writable, store=store
            )
            self.hybrid = HybridSearch(self.keywords, self.vectors)
            self.chunk_chars = TARGET_CHARS
            self.overlap_chars = OVERLAP_CHARS
            if writable:
                self.store.requeue_interrupted()
            self.embedder_changed = self._follow_embedder(rebuild_vectors)
        except BaseException:
            self._conn.close()
            if hasattr(self, "vectors"):
                self.vectors.close()
            raise

    @property
    def embedder(self) -> Embedder:
        return self._embedder

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
            self.vectors.close()

    # -- documents ------------------------------------------------------------------------------

    def documents(self) -> list[DocumentRecord]:
        documents = self.store.all()
        if self._headings_read:
            # Headings read by a library opened only to read, kept for this session.
            documents = [
                replace(d, heading=self._headings_read[d.id]) if d.id in self._headings_read else d
                for d in documents
            ]
        return documents

    def snapshot(self) -> tuple[int, list[DocumentRecord]]:
        """Every document, with a number that grows with every change to them."""
        return self.store.snapshot()

    def document(self, document_id: str) -> DocumentRecord | None:
        return self.store.get(document_id)

    def add(self, paths: Iterable[Path]) -> list[AddResult]:
        """Register files (folders are walked) for indexing; nothing is extracted yet."""
        results: list[AddResult] = []
        for path, in_folder in _expand(paths):
            if in_folder and path.suffix.lower() in SUPPORTED_SUFFIXES:
                refused = refusal(path)
                if refused is not None:
                    # Named, with why, never dropped in silence: a link to nothing, a pipe.
                    results.append(AddResult(path, None, AddOutcome.SKIPPED, refused))
                    continue
            if in_folder and path.suffix.lower() not in SUPPORTED_SUFFIXES:
                # Reported, not registered: a folder of documents often holds images and the like.
                results.append(
                    AddResult(
                        path,
                        None,
                        AddOutcome.SKIPPED,
                        f"“{printable_name(path)}” is not a PDF, .txt or .md file.",
                    )
                )
                continue
            results.append(self._add_file(path))
        self._read_page_counts([r.document for r in results if r.outcome in _NEW and r.document])
        return [self._refreshed(result) for result in results]

    def remove(self, document_id: str) -> None:
        with self._lock:
            self.discard_chunks(document_id)
            self.store.delete(document_id)

    def reindex(self, document_id: str) -> None:
        self.store.set_status(document_id, DocumentStatus.QUEUED)

    def unlock(self, document_id: str, password: str) -> None:
        """Index a password-protected PDF with ``password``. The password is kept in memory
        for this session only, never written to disk."""
        with self._lock:
            self._passwords[document_id] = password
        self.reindex(document_id)

    def password_for(self, document_id: str) -> str | None:
        """The password given this session for the document, if any."""
        with self._lock:
            return self._passwords.get(document_id)

    def keep_passwords(self, other: Library) -> None:
        """Passwords given this session to ``other`` (the same library opened before)."""
        with other._lock:
            passwords = dict(other._passwords)
        with self._lock:
            self._passwords.update(passwords)

    # -- indexing -------------------------------------------------------------------------------

    def pending(self) -> list[DocumentRecord]:
        """Documents not (yet) searchable in full: queued or being indexed."""
        return [d for d in self.documents() if d.status in WAITING]

    def index_queued(
        self,
        progress: Callable[[IndexProgress], None] | None = None,
        control: IndexControl | None = None,
        heading_found: Callable[[DocumentRecord], None] | None = None,
    ) -> list[DocumentRecord]:
        """Index every queued document, including those queued while this runs; one failing
        never stops the others. Returns the documents it finished (or stopped in).
        ``heading_found`` hears of each document whose first pages gave it a heading."""
        return IndexRun(self, progress, control or IndexControl(), heading_found).run()

    def without_heading(self) -> list[DocumentRecord]:
        """Ready documents whose first pages were never looked at for a heading: indexed by a
        Folio from before headings were read."""
        return [
            document
            for document in self.documents()
            if document.heading is None and document.status == DocumentStatus.READY
        ]

    def read_headings(self, limit: int = HEADINGS_PER_CALL) -> bool:
        """Read the headings of up to ``limit`` documents ``without_heading``, without indexing
        them again. True while more are left.

        Only their first pages are read, in the extraction process (bounded in time and
        memory): a few pages each, where indexing would read them all again. A library opened
        only to read keeps them in memory for this session, and writes nothing."""
        documents = [d for d in self.without_heading() if d.id not in self._headings_read]
        batch = documents[:limit]
        readable = [
            document
            for document in batch
            # A text's title is its first Markdown heading, read when it was added; a file of
            # another size holds another content now, whose heading would not be this one's.
            if document.path.suffix.lower() == ".pdf" and _has_size(document.path, document.size)
        ]
        probed = probe_documents(
            [
                ExtractJob(
                    d.id, d.path, d.display_name, self.password_for(d.id), max_pages=HEADING_PAGES
                )
                for d in readable
            ]
        )
        for document in batch:
            found = probed.get(document.id)
            heading = first_heading(found.pages) if found is not None and not found.problem else ""
            if self.writable:
                self.store.update(document.id, heading=heading)
            else:
                self._headings_read[document.id] = heading
        return len(documents) > limit

    def embed_chunks(self, chunks: Sequence[Chunk], helpers: Sequence[Embedder] = ()) -> None:
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
            present = self.store.present(chunk.document_id for chunk in chunks)
            kept = [index for index, chunk in enumerate(chunks) if chunk.document_id in present]
            if not kept:
                return
            ids = [chunks[index].id for index in kept]
            self.vectors.add(ids, [chunks[index].document_id for index in kept], vectors[kept])
            faults.kill_point(faults.VECTORS_WRITTEN)
            self.keywords.mark_embedded(ids)

    def discard_chunks(self, document_id: str) -> None:
        """The document's passages and their vectors go (before it is indexed again)."""
        with self._lock:
            self.vectors.remove(self.keywords.remove_document(document_id))

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
                record.id: f"{Path(record.name).stem} {record.display_title}"
                for record in records.values()
            }
            hits: list[SearchHit] = self.hybrid.search(query, k, documents, names)
        return [
            LibraryHit(
                records[hit.chunk.document_id], hit.chunk, hit.score, hit.similarity, hit.relevance
            )
            for hit in hits
            if hit.chunk.document_id in records
        ]

    # -- internals ------------------------------------------------------------------------------

    def _add_file(self, path: Path) -> AddResult:
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            return AddResult(
                path,
                None,
                AddOutcome.FAILED,
                f"“{printable_name(path)}” is not a document Folio can read (PDF, .txt or .md).",
            )
        refused = refusal(path)
        if refused is not None:
            return AddResult(path, None, AddOutcome.FAILED, refused)
        try:
            digest, size = _sha256(path)
        except OSError as error:
            return AddResult(
                path,
                None,
                AddOutcome.FAILED,
                f"“{printable_name(path)}” could not be read: {error.strerror or error}.",
            )
        existing = self.store.get(digest)
        if existing is not None:
            if existing.path != path and not existing.path.exists():
                existing = self.store.update(digest, path=path, name=path.name) or existing
            return AddResult(path, existing, AddOutcome.UNCHANGED)
        with self._lock:
            replaced = self.store.id_at(path)
            if replaced is not None:
                # The file at this path changed: its old chunks go, the new content is queued.
                self.remove(replaced)
            self.store.insert(digest, path, size)
        record = self.store.get(digest)
        return AddResult(path, record, AddOutcome.CHANGED if replaced else AddOutcome.ADDED)

    def _read_page_counts(self, documents: Sequence[DocumentRecord]) -> None:
        """Page counts and titles up front, so that progress and time left cover the whole
        library from the start. Read in the extraction process, bounded in time and memory
        (a damaged file can make pypdf read all of it); problems are reported by indexing."""
        probed = probe_documents(
            [ExtractJob(d.id, d.path, d.display_name, max_pages=0) for d in documents]
        )
        for document_id, found in probed.items():
            if found.page_count:
                self.store.update(document_id, pages=found.page_count, title=found.title)

    def _refreshed(self, result: AddResult) -> AddResult:
        if result.outcome not in _NEW or result.document is None:
            return result
        record = self.store.get(result.document.id) or result.document
        return AddResult(result.path, record, result.outcome, result.message)

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
            recorded_identity = self.store.meta("embedder")
            changed = recorded_identity is not None and recorded_identity != identity
            # The same file written anew (a starter model converted again) has nothing older
            # to go back to.
            same_file = self.store.meta("embedder_path") == str(info.path.resolve())
            if not self.writable:
                if changed and not same_file:
                    raise EmbedderMismatchError(
                        "This library was indexed with another embedding model "
                        f"({str(recorded_identity).split('|')[0]}); index it again first "
                        "(“folio index” or the window) to search it with this one."
                    )
                return False
            if changed and not (rebuild or same_file):
                raise EmbedderMismatchError(
                    "This library was indexed with another embedding model "
                    f"({str(recorded_identity).split('|')[0]}); choose that model again in "
                    "Settings, or switch models in Settings to index the documents again."
                )
            if changed:
                log.info(
                    "embedding model changed (%s -> %s); indexing again",
                    recorded_identity,
                    identity,
                )
                self.vectors.clear()
                self._queue_for_new_vectors()
            self.store.set_meta(
                [("embedder", identity), ("embedder_path", str(info.path.resolve()))]
            )
        return changed

    def _queue_for_new_vectors(self) -> None:
        """Every document that can be read again is queued; one whose file is gone (or locked)
        keeps its passages, found by keyword, and says why it has no vectors."""
        for document in self.documents():
            if self._can_index_again(document):
                self.store.set_status(
                    document.id,
                    DocumentStatus.QUEUED,
                    "Indexing again for the new embedding model.",
                )
            elif document.status in (DocumentStatus.READY, DocumentStatus.MISSING):
                self.store.update(
                    document.id,
                    message="Found by keywords only: its file could not be read again for the "
                    "new embedding model.",
                )

    def _can_index_again(self, document: DocumentRecord) -> bool:
        if document.status == DocumentStatus.MISSING or not document.path.is_file():
            return False
        return not document.needs_password or self.password_for(document.id) is not None


_NEW = (AddOutcome.ADDED, AddOutcome.CHANGED)


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


def _expand(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Files to add, each with whether it was found by walking a folder. Everything in a
    folder but its folders and hidden files is passed on, links to nothing and pipes too, to
    be reported with why they were not added; links to folders are not followed (a loop of
    them would never end)."""
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if hidden or (child.is_dir() and not child.is_symlink()):
                    continue
                yield (child.resolve() if child.is_file() else child), True
        else:
            yield (path.resolve() if path.exists() else path), False


def _connect(database: Path, writable: bool) -> sqlite3.Connection:
    connection = sqlite3.connect(database, check_same_thread=False)
    if writable:
        return connection
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.OperationalError:
        connection.close()
    # A folder that cannot be written (a read-only disk) leaves SQLite no room for the files
    # a reader of a WAL database shares with writers; nobody can write there, so the file is
    # read as it lies.
    return sqlite3.connect(f"{database.as_uri()}?immutable=1", uri=True, check_same_thread=False)


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while block := stream.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
