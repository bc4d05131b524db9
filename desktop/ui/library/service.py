"""The document library for the window: opened, filled, indexed and searched off the GUI thread.

Everything runs as background tasks (``desktop.ui.tasks``) on three lanes: ``library`` (opening,
adding, removing, switching the embedding model, in order), ``retrieval`` (a question never
waits behind a folder of thousands of files being hashed) and ``indexing`` (one run at a time).
What changed comes back in the signals, the documents as they are now among it, so the window
never reads the library's SQLite file itself. The state of the run (going, paused, asked to
look again) is kept here, on the GUI thread.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.core.chat.rag import SOURCES_PER_ANSWER, GroundedQuestion, ground_in_library
from desktop.core.documents.library import Library
from desktop.core.documents.records import (
    AddOutcome,
    AddResult,
    DocumentRecord,
    DocumentStatus,
    IndexControl,
    IndexProgress,
)
from desktop.core.documents.relevance import LIBRARY_COVERS
from desktop.core.documents.session import LibrarySession, Snapshot
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import DocumentSettings
from desktop.ui.errors import describe_failure
from desktop.ui.tasks import Task, TaskContext, Tasks

log = logging.getLogger(__name__)

LIBRARY, RETRIEVAL, INDEXING = "library", "retrieval", "indexing"


@dataclass(frozen=True)
class _Opened:
    snapshot: Snapshot
    # The model the library was indexed with, when it is not the one the settings name.
    kept_embedder: str = ""


@dataclass(frozen=True)
class _Added:
    results: list[AddResult]
    snapshot: Snapshot


@dataclass(frozen=True)
class _RunHeld:
    pass


@dataclass(frozen=True)
class _RunEnded:
    cancelled: bool
    snapshot: Snapshot


class LibraryService(QObject):
    opened = Signal()
    open_failed = Signal(str)
    # Every document as it is now (list[DocumentRecord]), after anything changed them.
    documents_changed = Signal(object)
    # Files and folders were added: list[AddResult], for what was skipped or refused.
    files_added = Signal(object)
    indexing_started = Signal()
    progress_reported = Signal(object)  # IndexProgress
    # The run ended: True when it was cancelled with documents still queued.
    indexing_finished = Signal(bool)
    # Pause (True) or Resume (False) was asked for.
    pause_changed = Signal(bool)
    # The run finished the page it was on and holds there until Resume.
    indexing_held = Signal()
    grounded = Signal(int, object)  # request id, GroundedQuestion
    grounding_failed = Signal(int, str)
    embedder_switched = Signal()
    embedder_switch_failed = Signal(str)
    # The library was opened with the embedding model it was indexed with, not the one the
    # settings name (its file name).
    kept_embedder = Signal(str)

    def __init__(
        self, paths: AppPaths, parent: QObject | None = None, *, vectors_apart: bool = True
    ) -> None:
        """``vectors_apart``: the vector store in a process of its own, as it always is but
        in the benchmark that measures what that spares the window: its writes hold the GIL,
        which in this process stalls the window."""
        super().__init__(parent)
        self._session = LibrarySession(
            paths.data / "library", paths.cache, vectors_apart=vectors_apart
        )
        self._tasks = Tasks(self)
        self._documents: list[DocumentRecord] = []
        self._shown: Snapshot | None = None
        # The run, as the GUI thread knows it.
        self._control = IndexControl()
        self._run: Task[_RunEnded] | None = None
        self._indexing = False
        # Asked to look for queued documents again once the run going on ends.
        self._run_again = False
        # Stop was pressed: what is left waits for Resume.
        self._stopped = False
        # Switches of embedding model asked for and not answered yet: no run starts meanwhile.
        self._switches = 0
        self._closed = False

    # -- state ----------------------------------------------------------------------------------

    @property
    def library(self) -> Library | None:
        return self._session.library

    def is_indexing(self) -> bool:
        return self._indexing

    def is_paused(self) -> bool:
        return self._indexing and self._control.is_paused()

    def documents(self) -> list[DocumentRecord]:
        """The documents as the last change reported them."""
        return list(self._documents)

    def document(self, document_id: str) -> DocumentRecord | None:
        return next((d for d in self._documents if d.id == document_id), None)

    # -- commands -------------------------------------------------------------------------------

    def open(self, embedder_path: Path | None = None) -> None:
        """Load the embedder and open the library; interrupted indexing then resumes."""
        self._tasks.run(
            LIBRARY,
            lambda _context: self._open(embedder_path),
            done=self._on_opened,
            failed=self._on_open_failed,
        )

    def configure(self, settings: DocumentSettings) -> None:
        """Follow the Documents settings: passage size for what is indexed next, and the
        keyword/meaning balance for the next search."""
        self._session.configure(settings)

    def refresh(self) -> None:
        """Read the documents again (a file may have been moved or deleted meanwhile);
        answered by ``documents_changed``."""
        if self.library is not None:
            self._change(lambda _library: None)

    def reindex_all(self) -> None:
        self._change(lambda library: library.reindex_all())

    def add(self, paths: Sequence[Path]) -> None:
        wanted = list(paths)
        self._tasks.run(
            LIBRARY,
            lambda _context: self._add(wanted),
            done=self._on_added,
            failed=self._on_add_failed,
        )

    def remove(self, document_ids: Sequence[str]) -> None:
        wanted = list(document_ids)

        def remove(library: Library) -> None:
            for document_id in wanted:
                library.remove(document_id)

        self._change(remove)

    def reindex(self, document_ids: Sequence[str]) -> None:
        wanted = list(document_ids)

        def reindex(library: Library) -> None:
            for document_id in wanted:
                library.reindex(document_id)

        self._change(reindex)

    def unlock(self, document_id: str, password: str) -> None:
        self._change(lambda library: library.unlock(document_id, password))

    def switch_embedder(self, embedder_path: Path | None) -> None:
        """Index the library again with another embedding model (None: the built-in one).
        Answered by ``embedder_switched`` or, with the library and its indexing left as they
        were, ``embedder_switch_failed``."""
        self._switches += 1
        self._tasks.run(
            LIBRARY,
            lambda _context: self._switch(embedder_path),
            done=self._on_switched,
            failed=self._on_switch_failed,
        )

    def start_indexing(self) -> None:
        """Index whatever is queued; a run going on is asked to look again before it ends."""
        if self.library is None or self._closed or self._switches:
            return
        if self._run is not None:
            self._run_again = True
            return
        self._start_run()

    def pause(self) -> None:
        if self._indexing:
            self._control.pause()
            self.pause_changed.emit(True)

    def resume(self) -> None:
        if self._indexing:
            self._control.resume()
            self.pause_changed.emit(False)
        else:
            self.start_indexing()

    def cancel(self) -> None:
        self._stopped = True
        self._control.cancel()

    def ground(
        self,
        request_id: int,
        question: str,
        documents: Sequence[str] | None,
        system_prompt: str,
        count_tokens: Callable[[str], int],
        token_budget: int,
        sources_wanted: int = SOURCES_PER_ANSWER,
        threshold: float = LIBRARY_COVERS,
    ) -> None:
        """Retrieve and number sources for ``question``; answered by ``grounded``."""
        if self.library is None:
            self.grounding_failed.emit(request_id, "The document library is still opening.")
            return

        def work(_context: TaskContext) -> GroundedQuestion:
            with self._session.reading() as library:
                return ground_in_library(
                    library,
                    question,
                    documents=documents,
                    system_prompt=system_prompt,
                    count_tokens=count_tokens,
                    token_budget=token_budget,
                    sources_wanted=sources_wanted,
                    threshold=threshold,
                )

        self._tasks.run(
            RETRIEVAL,
            work,
            done=functools.partial(self._on_grounded, request_id),
            failed=functools.partial(self._on_grounding_failed, request_id),
        )

    def close(self) -> None:
        """Stop indexing (what is done is kept; the rest stays queued) and free everything."""
        self._closed = True
        self._control.cancel()
        self._tasks.shutdown()
        self._session.close()

    # -- on the lanes ---------------------------------------------------------------------------

    def _open(self, embedder_path: Path | None) -> _Opened:
        kept = self._session.open(embedder_path)
        return _Opened(self._session.snapshot(), kept)

    def _change(self, change: Callable[[Library], object]) -> None:
        def work(_context: TaskContext) -> Snapshot:
            library = self._session.library
            if library is not None:
                change(library)
            return self._session.snapshot()

        self._tasks.run(LIBRARY, work, done=self._on_changed, failed=self._on_change_failed)

    def _add(self, paths: list[Path]) -> _Added:
        library = self._session.library
        if library is None:
            raise RuntimeError("The document library is still opening.")
        return _Added(library.add(paths), self._session.snapshot())

    def _read_headings(self) -> None:
        """Headings of documents indexed before headings were read, a few at a time on the
        library lane, so that adding files is never held up for long behind them."""

        def work(_context: TaskContext) -> tuple[bool, Snapshot]:
            library = self._session.library
            more = library.read_headings() if library is not None else False
            return more, self._session.snapshot()

        self._tasks.run(LIBRARY, work, done=self._on_headings_read, failed=self._on_headings_failed)

    def _switch(self, embedder_path: Path | None) -> Snapshot:
        def stop_indexing() -> None:
            # Read here, when the switch happens: no run starts while a switch is pending.
            self._control.cancel()
            run = self._run
            if run is not None:
                # What it did is kept; the rest stays queued for the new model.
                concurrent.futures.wait([run.future])

        self._session.switch(embedder_path, stop_indexing)
        return self._session.snapshot()

    def _index(
        self, library: Library, generation: int, control: IndexControl, context: TaskContext
    ) -> _RunEnded:
        control.on_hold = functools.partial(context.report, _RunHeld())
        last_document = ""

        def progressed(progress: IndexProgress) -> None:
            nonlocal last_document
            if progress.document.id != last_document:
                # The previous document just ended (ready, failed or needing attention).
                last_document = progress.document.id
                context.report(Snapshot.of(library, generation))
            context.report(progress)

        def heading_found(_document: DocumentRecord) -> None:
            # A document's title is known from its first pages: shown at once, even while
            # the pages of the one before it are still being embedded.
            context.report(Snapshot.of(library, generation))

        library.index_queued(progressed, control, heading_found)
        return _RunEnded(control.is_cancelled(), Snapshot.of(library, generation))

    # -- back on the GUI thread -----------------------------------------------------------------

    def _start_run(self) -> bool:
        """A run, if there are queued documents; False when there are none."""
        library = self.library
        if library is None or not any(d.status == DocumentStatus.QUEUED for d in self._documents):
            return False
        self._control = IndexControl()
        self._run_again = False
        self._stopped = False
        control, generation = self._control, self._session.generation
        self._run = self._tasks.run(
            INDEXING,
            lambda context: self._index(library, generation, control, context),
            done=self._on_run_ended,
            failed=self._on_run_failed,
            progress=self._on_run_reported,
        )
        if not self._indexing:
            self._indexing = True
            self.indexing_started.emit()
        return True

    def _show(self, snapshot: Snapshot, then_index: bool = False) -> None:
        """The documents as ``snapshot`` has them, unless a newer read is shown already."""
        if snapshot.is_older_than(self._shown):
            return
        self._shown = snapshot
        self._documents = snapshot.documents
        if then_index:
            # Before the listeners hear of the documents, so that they know a run is coming.
            self.start_indexing()
        self.documents_changed.emit(list(snapshot.documents))

    def _on_grounded(self, request_id: int, grounded: GroundedQuestion) -> None:
        self.grounded.emit(request_id, grounded)

    def _on_grounding_failed(self, request_id: int, error: BaseException) -> None:
        reason = describe_failure(error, "retrieval")
        self.grounding_failed.emit(request_id, f"The documents could not be searched: {reason}")

    def _on_opened(self, opened: _Opened) -> None:
        # Known before ``opened`` is heard, so that its listeners see what the library holds.
        self._shown, self._documents = opened.snapshot, opened.snapshot.documents
        if opened.kept_embedder:
            self.kept_embedder.emit(opened.kept_embedder)
        self.opened.emit()
        self._show(opened.snapshot, then_index=True)
        if any(d.heading is None and d.status == DocumentStatus.READY for d in self._documents):
            self._read_headings()

    def _on_open_failed(self, error: BaseException) -> None:
        self.open_failed.emit(describe_failure(error, "opening the document library"))

    def _on_switched(self, snapshot: Snapshot) -> None:
        self._switches -= 1
        self.embedder_switched.emit()
        self._show(snapshot, then_index=True)

    def _on_switch_failed(self, error: BaseException) -> None:
        self._switches -= 1
        reason = describe_failure(error, "switching the embedding model")
        self.embedder_switch_failed.emit(reason)
        if self.library is None:
            self.open_failed.emit(reason)
            return
        self.start_indexing()

    def _on_added(self, added: _Added) -> None:
        self.files_added.emit(added.results)
        self._show(added.snapshot, then_index=True)

    def _on_add_failed(self, error: BaseException) -> None:
        reason = describe_failure(error, "adding documents")
        failure = AddResult(Path(), None, AddOutcome.FAILED, f"Adding failed: {reason}")
        self.files_added.emit([failure])
        self.refresh()

    def _on_changed(self, snapshot: Snapshot) -> None:
        self._show(snapshot, then_index=True)

    def _on_headings_read(self, read: tuple[bool, Snapshot]) -> None:
        more, snapshot = read
        if self._closed:
            return
        self._show(snapshot)
        if more:
            self._read_headings()

    def _on_headings_failed(self, error: BaseException) -> None:
        # The documents keep the names they had; the next opening tries again.
        describe_failure(error, "reading the titles of documents")

    def _on_change_failed(self, error: BaseException) -> None:
        describe_failure(error, "changing the library")
        # What did change is shown all the same.
        self.refresh()

    def _on_run_reported(self, report: object) -> None:
        if self._closed:
            return
        if isinstance(report, _RunHeld):
            if self._control.is_paused():
                self.indexing_held.emit()
        elif isinstance(report, Snapshot):
            self._show(report)
        elif isinstance(report, IndexProgress):
            self.progress_reported.emit(report)

    def _on_run_ended(self, ended: _RunEnded) -> None:
        self._run = None
        if self._closed:
            return
        self._show(ended.snapshot)
        # Documents queued while the run was ending: the same indexing goes on with them.
        if self._run_again and not self._stopped and not self._switches and self._start_run():
            return
        self._end_indexing(ended.cancelled)

    def _on_run_failed(self, error: BaseException) -> None:
        describe_failure(error, "indexing")
        self._run = None
        if not self._closed:
            self._end_indexing(False)
            self.refresh()

    def _end_indexing(self, cancelled: bool) -> None:
        was_indexing, self._indexing = self._indexing, False
        if was_indexing:
            self.indexing_finished.emit(cancelled)
