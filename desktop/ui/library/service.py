"""The document library for the window: opened, filled, indexed and searched off the GUI thread.

Everything runs as background tasks (``desktop.ui.tasks``) on three lanes: ``library`` (opening,
adding, removing, switching the embedding model, in order), ``retrieval`` (a question never
waits behind a folder of thousands of files being hashed) and ``indexing`` (one run at a time).
What changed comes back in the signals, the documents as they are now among it, so the window
never reads the library's SQLite file itself.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.core.chat.rag import (
    RELEVANCE_THRESHOLD,
    SOURCES_PER_ANSWER,
    GroundedQuestion,
    ground_in_library,
)
from desktop.core.documents.library import Library, embedder_for
from desktop.core.documents.records import (
    AddOutcome,
    AddResult,
    DocumentRecord,
    DocumentStatus,
    IndexControl,
    IndexProgress,
)
from desktop.core.embedding.embedder import Embedder
from desktop.core.embedding.starter import starter_embedder_path
from desktop.core.models.checks import check_embedding_model_file
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import DocumentSettings
from desktop.ui.errors import describe_failure
from desktop.ui.tasks import Task, TaskContext, Tasks

log = logging.getLogger(__name__)

LIBRARY, RETRIEVAL, INDEXING = "library", "retrieval", "indexing"


@dataclass(frozen=True)
class _Opened:
    documents: list[DocumentRecord]
    # The model the library was indexed with, when it is not the one the settings name.
    kept_embedder: str = ""


@dataclass(frozen=True)
class _RunStarted:
    pass


@dataclass(frozen=True)
class _RunHeld:
    pass


@dataclass(frozen=True)
class _DocumentsNow:
    documents: list[DocumentRecord]


@dataclass(frozen=True)
class _RunEnded:
    ran: bool
    cancelled: bool
    documents: list[DocumentRecord]


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

    def __init__(self, paths: AppPaths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._paths = paths
        self._tasks = Tasks(self)
        self._embedder: Embedder | None = None
        self._library: Library | None = None
        self._documents: list[DocumentRecord] = []
        self._document_settings = DocumentSettings()
        # Held while a question is answered from the library, and while it is swapped.
        self._swap_lock = threading.Lock()
        # State of the GUI thread: the run going on, and what it was asked meanwhile.
        self._control = IndexControl()
        self._run: Task[_RunEnded] | None = None
        self._indexing = False
        self._run_again = False
        self._switching = False
        self._closed = False
        self._last_progress_document = ""

    # -- state ----------------------------------------------------------------------------------

    @property
    def library(self) -> Library | None:
        return self._library

    def is_indexing(self) -> bool:
        return self._indexing

    def is_paused(self) -> bool:
        return self._indexing and self._control.is_paused()

    def documents(self) -> list[DocumentRecord]:
        """The documents as the last change reported them (read on a worker thread)."""
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
        self._document_settings = settings
        if self._library is not None:
            self._library.configure(settings)

    def refresh(self) -> None:
        """Read the documents again (a file may have been moved or deleted meanwhile);
        answered by ``documents_changed``."""
        if self._library is not None:
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
        Answered by ``embedder_switched`` or, with the library left as it was,
        ``embedder_switch_failed``."""
        self._switching = True
        running = self._run
        self._control.cancel()
        self._tasks.run(
            LIBRARY,
            lambda _context: self._switch_embedder(embedder_path, running),
            done=self._on_switched,
            failed=self._on_switch_failed,
        )

    def start_indexing(self) -> None:
        """Index whatever is queued; a run going on is asked to look again before it ends."""
        if self._library is None or self._closed or self._switching:
            return
        if self._run is not None:
            self._run_again = True
            return
        self._control = IndexControl()
        self._run_again = False
        library, control = self._library, self._control
        self._run = self._tasks.run(
            INDEXING,
            lambda context: self._index(library, control, context),
            done=self._on_run_ended,
            failed=self._on_run_failed,
            progress=self._on_run_reported,
        )

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
        threshold: float = RELEVANCE_THRESHOLD,
    ) -> None:
        """Retrieve and number sources for ``question``; answered by ``grounded``."""
        if self._library is None:
            self.grounding_failed.emit(request_id, "The document library is still opening.")
            return

        def work(_context: TaskContext) -> GroundedQuestion:
            with self._swap_lock:
                library = self._library
                if library is None:
                    raise RuntimeError("The document library is being opened again; ask once more.")
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
        if self._library is not None:
            self._library.close()
        if self._embedder is not None:
            self._embedder.close()

    # -- on the lanes ---------------------------------------------------------------------------

    def _open(self, embedder_path: Path | None) -> _Opened:
        folder = self._paths.data / "library"
        wanted = embedder_path or starter_embedder_path(self._paths.cache)
        path, rebuild = embedder_for(folder, wanted)
        kept = ""
        if path != wanted:
            log.warning("library indexed with %s; the settings name %s", path, wanted)
            kept = path.name
        self._embedder, self._library = self._load(path, rebuild)
        return _Opened(self._library.documents(), kept)

    def _load(self, path: Path, rebuild: bool) -> tuple[Embedder, Library]:
        embedder = Embedder()
        try:
            embedder.load(path).result()
            library = Library(self._paths.data / "library", embedder, rebuild_vectors=rebuild)
        except BaseException:
            embedder.close()
            raise
        library.configure(self._document_settings)
        return embedder, library

    def _change(self, change: Callable[[Library], object]) -> None:
        def work(_context: TaskContext) -> list[DocumentRecord]:
            library = self._library
            if library is None:
                return []
            change(library)
            return library.documents()

        self._tasks.run(LIBRARY, work, done=self._on_changed, failed=self._on_change_failed)

    def _add(self, paths: list[Path]) -> tuple[list[AddResult], list[DocumentRecord]]:
        library = self._library
        if library is None:
            raise RuntimeError("The document library is still opening.")
        return library.add(paths), library.documents()

    def _switch_embedder(
        self, embedder_path: Path | None, running: Task[_RunEnded] | None
    ) -> list[DocumentRecord]:
        path = embedder_path or starter_embedder_path(self._paths.cache)
        # The new model is checked and loaded before anything is closed, so a file that will
        # not serve leaves the library as it was.
        check_embedding_model_file(path)
        embedder = Embedder()
        try:
            embedder.load(path).result()
        except BaseException:
            embedder.close()
            raise
        if running is not None:
            # Cancelled by switch_embedder; what it did is kept, the rest stays queued.
            running.future.exception()
        with self._swap_lock:
            # No question is being answered from the old library while it closes.
            old_library, old_embedder = self._library, self._embedder
            if old_library is not None:
                old_library.close()
            try:
                library = Library(self._paths.data / "library", embedder, rebuild_vectors=True)
            except BaseException:
                embedder.close()
                if old_embedder is not None:
                    old_embedder.close()
                self._library = self._embedder = None
                raise
            if old_library is not None:
                library.keep_passwords(old_library)
            library.configure(self._document_settings)
            self._embedder, self._library = embedder, library
        if old_embedder is not None:
            old_embedder.close()
        return library.documents()

    def _index(self, library: Library, control: IndexControl, context: TaskContext) -> _RunEnded:
        if not any(d.status == DocumentStatus.QUEUED for d in library.documents()):
            return _RunEnded(ran=False, cancelled=False, documents=[])
        context.report(_RunStarted())
        control.on_hold = functools.partial(context.report, _RunHeld())
        last_document = ""

        def progressed(progress: IndexProgress) -> None:
            nonlocal last_document
            if progress.document.id != last_document:
                # The previous document just ended (ready, failed or needing attention).
                last_document = progress.document.id
                context.report(_DocumentsNow(library.documents()))
            context.report(progress)

        library.index_queued(progressed, control)
        return _RunEnded(ran=True, cancelled=control.is_cancelled(), documents=library.documents())

    # -- back on the GUI thread -----------------------------------------------------------------

    def _show_documents(self, documents: list[DocumentRecord]) -> None:
        self._documents = documents
        self.documents_changed.emit(list(documents))

    def _on_grounded(self, request_id: int, grounded: GroundedQuestion) -> None:
        self.grounded.emit(request_id, grounded)

    def _on_grounding_failed(self, request_id: int, error: BaseException) -> None:
        reason = describe_failure(error, "retrieval")
        self.grounding_failed.emit(request_id, f"The documents could not be searched: {reason}")

    def _on_opened(self, opened: _Opened) -> None:
        # Known before ``opened`` is heard, so that its listeners see what the library holds.
        self._documents = opened.documents
        if opened.kept_embedder:
            self.kept_embedder.emit(opened.kept_embedder)
        self.opened.emit()
        self._show_documents(opened.documents)
        self.start_indexing()

    def _on_open_failed(self, error: BaseException) -> None:
        self.open_failed.emit(describe_failure(error, "opening the document library"))

    def _on_switched(self, documents: list[DocumentRecord]) -> None:
        self._switching = False
        self.embedder_switched.emit()
        self._show_documents(documents)
        self.start_indexing()

    def _on_switch_failed(self, error: BaseException) -> None:
        self._switching = False
        reason = describe_failure(error, "switching the embedding model")
        self.embedder_switch_failed.emit(reason)
        if self._library is None:
            self.open_failed.emit(reason)
            return
        self.start_indexing()

    def _on_added(self, outcome: tuple[list[AddResult], list[DocumentRecord]]) -> None:
        results, documents = outcome
        self.files_added.emit(results)
        self._show_documents(documents)
        self.start_indexing()

    def _on_add_failed(self, error: BaseException) -> None:
        reason = describe_failure(error, "adding documents")
        failure = AddResult(Path(), None, AddOutcome.FAILED, f"Adding failed: {reason}")
        self.files_added.emit([failure])

    def _on_changed(self, documents: list[DocumentRecord]) -> None:
        self._show_documents(documents)
        self.start_indexing()

    def _on_change_failed(self, error: BaseException) -> None:
        log.error("library change failed", exc_info=error)

    def _on_run_reported(self, report: object) -> None:
        if self._closed:
            return
        if isinstance(report, _RunStarted):
            self._indexing = True
            self.indexing_started.emit()
        elif isinstance(report, _RunHeld):
            if self._control.is_paused():
                self.indexing_held.emit()
        elif isinstance(report, _DocumentsNow):
            self._show_documents(report.documents)
        elif isinstance(report, IndexProgress):
            self.progress_reported.emit(report)

    def _on_run_ended(self, ended: _RunEnded) -> None:
        self._run = None
        was_indexing, self._indexing = self._indexing, False
        if self._closed:
            return
        if ended.ran:
            self._show_documents(ended.documents)
        if was_indexing or ended.ran:
            self.indexing_finished.emit(ended.cancelled)
        if self._run_again and not ended.cancelled:
            self.start_indexing()

    def _on_run_failed(self, error: BaseException) -> None:
        log.error("indexing stopped by an unexpected error", exc_info=error)
        self._run = None
        self._indexing = False
        if not self._closed:
            self.indexing_finished.emit(False)
