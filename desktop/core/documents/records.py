"""What the library says about its documents: each one's record, an add's outcome, an indexing
run's progress and the controls to pause and stop it, and a search hit."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from desktop.core.documents.chunking import Chunk
from desktop.core.documents.extract import Problem
from desktop.core.documents.titles import display_title, title_from_file_name


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    EXTRACTING = "extracting"
    EMBEDDING = "embedding"
    READY = "ready"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"
    MISSING = "missing"


IN_PROGRESS = (DocumentStatus.EXTRACTING, DocumentStatus.EMBEDDING)
# Not (yet) searchable in full.
WAITING = (DocumentStatus.QUEUED, *IN_PROGRESS)
# Problems the user can do something about: a password, an unprotected copy, a text layer.
ATTENTION = frozenset({Problem.PASSWORD, Problem.ENCRYPTED, Problem.NO_TEXT})
# Every passage in the index, found by its words and by its meaning (a missing file's too).
SEARCHABLE = (DocumentStatus.READY, DocumentStatus.MISSING)


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
    # Why it failed or needs attention.
    problem: Problem | None = None
    # Whether its file was there when the record was read (checked off the GUI thread).
    present: bool = True
    # The first title-like heading of its first pages, "" when they have none; None until
    # they are read (not indexed yet, or indexed by a Folio from before headings were read).
    heading: str | None = None

    @property
    def needs_password(self) -> bool:
        return self.status == DocumentStatus.NEEDS_ATTENTION and self.problem == Problem.PASSWORD

    @property
    def display_name(self) -> str:
        """The file name without its extension, separators as spaces (“AMAZON 2017 10K”)."""
        return Path(self.name).stem.replace("_", " ").replace("-", " ").strip()

    @property
    def display_title(self) -> str:
        """What the library calls it: the title in its metadata when that is a real one, else
        the first heading on its first pages, else its file name cleaned up."""
        return display_title(self.title, self.heading or "", self.name)

    @property
    def has_title(self) -> bool:
        """Whether it is called by a title of its own, not by its file name."""
        return self.display_title != title_from_file_name(self.name)


@dataclass(frozen=True)
class LibraryCounts:
    """The library in numbers, as its summary line and the end of a run tell them.

    A page is searchable once all its passages are in the index, found by their words and by
    their meaning: the same pages the progress bar counts as done. (Extraction runs ahead, so
    some pages are found by their words a little earlier; that is a bonus, not a promise.)
    """

    documents: int
    # Pages of the documents that are or will be searchable (not those that failed).
    pages: int
    searchable_pages: int
    # Queued or being indexed.
    waiting: int
    failed: int
    needs_attention: int

    @property
    def all_searchable(self) -> bool:
        return self.searchable_pages >= self.pages and not self.waiting

    @classmethod
    def of(
        cls, records: Iterable[DocumentRecord], progress: IndexProgress | None = None
    ) -> LibraryCounts:
        """The counts of ``records``, with the pages ``progress`` says are done of the
        document being indexed."""
        documents = pages = searchable = waiting = failed = attention = 0
        for record in records:
            documents += 1
            if record.status in SEARCHABLE:
                pages += record.pages
                searchable += record.pages
            elif record.status in WAITING:
                pages += record.pages
                waiting += 1
                if progress is not None and progress.document.id == record.id:
                    searchable += min(progress.page, record.pages)
            elif record.status == DocumentStatus.FAILED:
                failed += 1
            elif record.status == DocumentStatus.NEEDS_ATTENTION:
                attention += 1
        return cls(documents, pages, searchable, waiting, failed, attention)


class AddOutcome(StrEnum):
    ADDED = "added"
    # The same content is already in the library.
    UNCHANGED = "unchanged"
    # The file at this path changed: it is indexed again.
    CHANGED = "changed"
    # Found in a folder, but not a kind of document Folio reads.
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class AddResult:
    path: Path
    document: DocumentRecord | None
    outcome: AddOutcome
    # Why, for what was skipped or failed.
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
    ``on_hold`` is called (on the run's thread) when the run has come to a stop at a pause.
    """

    def __init__(self, on_hold: Callable[[], None] | None = None) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()
        self._holding = threading.Event()
        self.on_hold = on_hold

    def is_paused(self) -> bool:
        return not self._running.is_set()

    def is_holding(self) -> bool:
        """Paused, and the run has finished the page it was on."""
        return self._holding.is_set()

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
        if self._running.is_set():
            return
        self._holding.set()
        if self.on_hold is not None:
            self.on_hold()
        try:
            self._running.wait()
        finally:
            self._holding.clear()


@dataclass(frozen=True)
class LibraryHit:
    document: DocumentRecord
    chunk: Chunk
    score: float
    similarity: float | None
    # The one relevance score, 0 to 1, that the window and the CLI show (relevance.py).
    relevance: float = 0.0
