"""The document library for the window: opened, filled, indexed and searched off the GUI thread.

Opening (the embedder, converted on first use, and the vector store), adding (hashing files,
walking folders), indexing and retrieval all run on worker threads; the window hears about them
through this object's signals, which Qt delivers queued to the GUI thread. Indexing has a thread
of its own so that adding files or asking a question never waits for a whole document.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

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

log = logging.getLogger(__name__)


class LibraryService(QObject):
    opened = Signal()
    open_failed = Signal(str)
    documents_changed = Signal()
    # Files and folders were added: list[AddResult], for what was skipped or refused.
    files_added = Signal(object)
    indexing_started = Signal()
    progress_reported = Signal(object)  # IndexProgress
    # The run ended: True when it was cancelled with documents still queued.
    indexing_finished = Signal(bool)
    pause_changed = Signal(bool)
    grounded = Signal(int, object)  # request id, GroundedQuestion
    embedder_switched = Signal()
    embedder_switch_failed = Signal(str)
    # The library was opened with the embedding model it was indexed with, not the one the
    # settings name (its file name).
    kept_embedder = Signal(str)
    grounding_failed = Signal(int, str)

    def __init__(self, paths: AppPaths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._paths = paths
        self._embedder: Embedder | None = None
        self._library: Library | None = None
        # Opening and adding, in order; retrieval apart so that a question never waits behind a
        # folder of thousands of files being hashed.
        self._jobs = ThreadPoolExecutor(1, thread_name_prefix="folio-library")
        self._queries = ThreadPoolExecutor(1, thread_name_prefix="folio-retrieval")
        self._run_lock = threading.Lock()
        self._indexer: threading.Thread | None = None
        self._control = IndexControl()
        self._run_again = False
        self._last_progress_document = ""
        self._document_settings = DocumentSettings()
        self._swap_lock = threading.Lock()
        self._switching = False
        self._closed = False

    # -- state ----------------------------------------------------------------------------------

    @property
    def library(self) -> Library | None:
        return self._library

    def is_indexing(self) -> bool:
        return self._indexer is not None and self._indexer.is_alive()

    def is_paused(self) -> bool:
        return self.is_indexing() and self._control.is_paused()

    def documents(self) -> list[DocumentRecord]:
        return self._library.documents() if self._library is not None else []

    # -- commands -------------------------------------------------------------------------------

    def open(self, embedder_path: Path | None = None) -> None:
        """Load the embedder and open the library; interrupted indexing then resumes."""
        self._jobs.submit(self._open, embedder_path).add_done_callback(self._on_opened)

    def configure(self, settings: DocumentSettings) -> None:
        """Follow the Documents settings: passage size for what is indexed next, and the
        keyword/meaning balance for the next search."""
        self._document_settings = settings
        if self._library is not None:
            self._library.configure(settings)

    def reindex_all(self) -> None:
        self._jobs.submit(self._reindex_all).add_done_callback(self._on_changed)

    def switch_embedder(self, embedder_path: Path | None) -> None:
        """Index the library again with another embedding model (None: the built-in one).
        Answered by ``embedder_switched`` or, with the library left as it was,
        ``embedder_switch_failed``."""
        self._jobs.submit(self._switch_embedder, embedder_path).add_done_callback(self._on_switched)

    def add(self, paths: Sequence[Path]) -> None:
        self._jobs.submit(self._add, list(paths)).add_done_callback(self._on_added)

    def remove(self, document_ids: Sequence[str]) -> None:
        self._jobs.submit(self._remove, list(document_ids)).add_done_callback(self._on_changed)

    def reindex(self, document_ids: Sequence[str]) -> None:
        self._jobs.submit(self._reindex, list(document_ids)).add_done_callback(self._on_changed)

    def unlock(self, document_id: str, password: str) -> None:
        self._jobs.submit(self._unlock, document_id, password).add_done_callback(self._on_changed)

    def start_indexing(self) -> None:
        """Index whatever is queued, unless a run is going on (it picks the new ones up)."""
        if self._library is None or self._closed:
            return
        if not any(d.status == DocumentStatus.QUEUED for d in self._library.documents()):
            return
        with self._run_lock:
            if self._switching:
                return  # the switch starts its own run once the new model is in
            if self.is_indexing():
                # The run looks for newly queued documents before it ends.
                self._run_again = True
                return
            self._control = IndexControl()
            self._run_again = False
            self._indexer = threading.Thread(
                target=self._index, args=(self._library, self._control), name="folio-indexer"
            )
            self._indexer.start()
        self.indexing_started.emit()

    def pause(self) -> None:
        if self.is_indexing():
            self._control.pause()
            self.pause_changed.emit(True)

    def resume(self) -> None:
        if self.is_indexing():
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
        library = self._library
        if library is None:
            self.grounding_failed.emit(request_id, "The document library is still opening.")
            return
        future = self._queries.submit(
            self._ground,
            question,
            documents=documents,
            system_prompt=system_prompt,
            count_tokens=count_tokens,
            token_budget=token_budget,
            sources_wanted=sources_wanted,
            threshold=threshold,
        )
        future.add_done_callback(functools.partial(self._on_grounded, request_id))

    def close(self) -> None:
        """Stop indexing (what is done is kept; the rest stays queued) and free everything."""
        self._closed = True
        self._control.cancel()
        indexer = self._indexer
        if indexer is not None:
            indexer.join()
        self._jobs.shutdown(wait=True, cancel_futures=True)
        self._queries.shutdown(wait=True, cancel_futures=True)
        if self._library is not None:
            self._library.close()
        if self._embedder is not None:
            self._embedder.close()

    # -- worker side ----------------------------------------------------------------------------

    def _open(self, embedder_path: Path | None) -> None:
        folder = self._paths.data / "library"
        wanted = embedder_path or starter_embedder_path(self._paths.cache)
        path, rebuild = embedder_for(folder, wanted)
        if path != wanted:
            log.warning("library indexed with %s; the settings name %s", path, wanted)
            self.kept_embedder.emit(path.name)
        self._embedder, self._library = self._load(path, rebuild)

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

    def _switch_embedder(self, embedder_path: Path | None) -> None:
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
        with self._run_lock:
            self._switching = True
        try:
            self._control.cancel()
            indexer = self._indexer
            if indexer is not None:
                indexer.join()
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
        finally:
            with self._run_lock:
                self._switching = False

    def _ground(self, question: str, **options: Any) -> GroundedQuestion:
        with self._swap_lock:
            library = self._library
            if library is None:
                raise RuntimeError("The document library is being opened again; ask once more.")
            return ground_in_library(library, question, **options)

    def _reindex_all(self) -> None:
        assert self._library is not None
        self._library.reindex_all()

    def _add(self, paths: list[Path]) -> list[AddResult]:
        assert self._library is not None
        return self._library.add(paths)

    def _remove(self, document_ids: list[str]) -> None:
        assert self._library is not None
        for document_id in document_ids:
            self._library.remove(document_id)

    def _reindex(self, document_ids: list[str]) -> None:
        assert self._library is not None
        for document_id in document_ids:
            self._library.reindex(document_id)

    def _unlock(self, document_id: str, password: str) -> None:
        assert self._library is not None
        self._library.unlock(document_id, password)

    def _index(self, library: Library, control: IndexControl) -> None:
        cancelled = False
        try:
            while True:
                library.index_queued(self._on_progress, control)
                with self._run_lock:
                    cancelled = control.is_cancelled()
                    queued = any(d.status == DocumentStatus.QUEUED for d in library.documents())
                    if cancelled or not (self._run_again or queued):
                        self._indexer = None
                        break
                    self._run_again = False
        except Exception:
            log.exception("indexing stopped by an unexpected error")
            with self._run_lock:
                self._indexer = None
        if not self._closed:
            self.documents_changed.emit()
            self.indexing_finished.emit(cancelled)

    def _on_progress(self, progress: IndexProgress) -> None:
        if self._closed:
            return
        if progress.document.id != self._last_progress_document:
            # The previous document just ended (ready, failed or needing attention).
            self._last_progress_document = progress.document.id
            self.documents_changed.emit()
        self.progress_reported.emit(progress)

    # -- results (on worker threads; signals only) ----------------------------------------------

    def _on_opened(self, future: Future[None]) -> None:
        error = future.exception()
        if error is not None:
            log.error("the document library could not be opened", exc_info=error)
            self.open_failed.emit(_describe(error))
            return
        self.opened.emit()
        self.documents_changed.emit()
        if self._library is not None and self._library.pending():
            self.start_indexing()

    def _on_switched(self, future: Future[None]) -> None:
        error = future.exception()
        if error is not None:
            log.error("the embedding model could not be switched", exc_info=error)
            self.embedder_switch_failed.emit(_describe(error))
            if self._library is None:
                self.open_failed.emit(_describe(error))
            return
        self.embedder_switched.emit()
        self.documents_changed.emit()
        self.start_indexing()

    def _on_added(self, future: Future[list[AddResult]]) -> None:
        error = future.exception()
        if error is not None:
            log.error("adding documents failed", exc_info=error)
            self.files_added.emit(
                [AddResult(Path(), None, AddOutcome.FAILED, f"Adding failed: {_describe(error)}")]
            )
            return
        self.files_added.emit(future.result())
        self.documents_changed.emit()
        self.start_indexing()

    def _on_changed(self, future: Future[Any]) -> None:
        error = future.exception()
        if error is not None:
            log.error("library change failed", exc_info=error)
        self.documents_changed.emit()
        self.start_indexing()

    def _on_grounded(self, request_id: int, future: Future[GroundedQuestion]) -> None:
        error = future.exception()
        if error is not None:
            log.error("retrieval failed", exc_info=error)
            self.grounding_failed.emit(
                request_id, f"The documents could not be searched: {_describe(error)}"
            )
            return
        self.grounded.emit(request_id, future.result())


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
