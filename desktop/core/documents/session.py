"""The library that is open now, with the embedder it searches with: opened, switched to
another embedding model, read and closed, from any thread.

Both the window and the command line open the library through this: the model a library was
indexed with wins while its file exists (``embedder_for``), a switch loads and checks the new
model before it closes anything, and a question never reads a library being swapped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from desktop.core.documents.library import Library, embedder_for
from desktop.core.documents.records import DocumentRecord
from desktop.core.embedding.embedder import Embedder
from desktop.core.embedding.starter import starter_embedder_path
from desktop.core.errors import EngineError
from desktop.core.models.checks import check_embedding_model_file
from desktop.core.settings.schema import DocumentSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Every document as one read found them: ``generation`` counts the libraries opened,
    ``version`` the changes to this one, so that the newer of two reads is known."""

    generation: int
    version: int
    documents: list[DocumentRecord]

    @classmethod
    def of(cls, library: Library, generation: int) -> Snapshot:
        version, documents = library.snapshot()
        return cls(generation, version, documents)

    def is_older_than(self, other: Snapshot | None) -> bool:
        if other is None:
            return False
        return (self.generation, self.version) < (other.generation, other.version)


class LibrarySession:
    def __init__(
        self, folder: Path, cache: Path, *, writable: bool = True, vectors_apart: bool = False
    ) -> None:
        """``writable``: this process holds the data folder's writer lock; ``vectors_apart``:
        the vector store runs in a process of its own (see ``Library``)."""
        self._folder = folder
        self._writable = writable
        self._vectors_apart = vectors_apart
        self._cache = cache
        self._settings = DocumentSettings()
        self._embedder: Embedder | None = None
        self._library: Library | None = None
        self._generation = 0
        # Held while a question is answered from the library, and while it is swapped.
        self._swap = threading.Lock()

    @property
    def library(self) -> Library | None:
        return self._library

    @property
    def generation(self) -> int:
        return self._generation

    def configure(self, settings: DocumentSettings) -> None:
        self._settings = settings
        if self._library is not None:
            self._library.configure(settings)

    def open(self, embedder_path: Path | None) -> str:
        """Open the library with the embedding model it was indexed with, or ``embedder_path``
        (None: the built-in one) for a new library. Returns the file name of the model it was
        indexed with when that is not the one asked for ("" otherwise)."""
        wanted = embedder_path or starter_embedder_path(self._cache)
        path, rebuild = embedder_for(self._folder, wanted)
        kept = ""
        if path != wanted:
            log.warning("library indexed with %s; the settings name %s", path, wanted)
            kept = path.name
        embedder = _loaded_embedder(path)
        try:
            library = Library(
                self._folder,
                embedder,
                rebuild_vectors=rebuild,
                writable=self._writable,
                vectors_apart=self._vectors_apart,
            )
        except BaseException:
            embedder.close()
            raise
        library.configure(self._settings)
        with self._swap:
            self._embedder, self._library = embedder, library
            self._generation += 1
        return kept

    def switch(self, embedder_path: Path | None, stop_indexing: Callable[[], None]) -> None:
        """Index the library again with another embedding model (None: the built-in one).

        The new model is checked and loaded first, so a file that will not serve leaves the
        library as it was, its indexing untouched; only then is ``stop_indexing`` called (it
        returns once the run on the old library has ended) and the library reopened.
        """
        path = embedder_path or starter_embedder_path(self._cache)
        check_embedding_model_file(path)
        embedder = _loaded_embedder(path)
        stop_indexing()
        with self._swap:
            # No question is being answered from the old library while it closes.
            old_library, old_embedder = self._library, self._embedder
            if old_library is not None:
                old_library.close()
            try:
                library = Library(
                    self._folder, embedder, rebuild_vectors=True, vectors_apart=self._vectors_apart
                )
            except BaseException:
                embedder.close()
                if old_embedder is not None:
                    old_embedder.close()
                self._library = self._embedder = None
                raise
            if old_library is not None:
                library.keep_passwords(old_library)
            library.configure(self._settings)
            self._embedder, self._library = embedder, library
            self._generation += 1
        if old_embedder is not None:
            old_embedder.close()

    def snapshot(self) -> Snapshot:
        """Every document of the library open now. Called where the library is opened and
        switched (one lane of work), so it never reads one being swapped."""
        library = self._library
        if library is None:
            return Snapshot(self._generation, 0, [])
        return Snapshot.of(library, self._generation)

    @contextmanager
    def reading(self) -> Iterator[Library]:
        """The library open now, not swapped while the block runs."""
        with self._swap:
            library = self._library
            if library is None:
                raise EngineError("The document library is being opened again; ask once more.")
            yield library

    def close(self) -> None:
        with self._swap:
            library, embedder = self._library, self._embedder
            self._library = self._embedder = None
        if library is not None:
            library.close()
        if embedder is not None:
            embedder.close()


def _loaded_embedder(path: Path) -> Embedder:
    embedder = Embedder()
    try:
        embedder.load(path).result()
    except BaseException:
        embedder.close()
        raise
    return embedder
