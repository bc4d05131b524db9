"""Finding passages by their meaning: a Chroma collection of the vectors Folio computes.

``ChromaVectors`` is the store: vectors in, nearest vectors out, no embedder. ``VectorIndex``
is what the library uses: it turns a question into its vector and asks the store, which lives
in this process or, for the window, in a process of its own (``vector_process``): Chroma's
upsert holds the GIL for the whole call (28 ms median, 61 ms worst for 48 vectors), which in
the window's process stalls the window.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

COLLECTION = "chunks"
HNSW_SEARCH_EF = 400


class ChromaVectors:
    """A Chroma collection in cosine space; Folio computes the vectors itself."""

    def __init__(self, folder: Path, *, writable: bool = True):
        """``writable`` False: only read (another process is the writer), and a store that
        was never created reads as empty rather than being created."""
        # Chroma's telemetry is off in two ways: the environment (read at import) and Settings.
        os.environ["ANONYMIZED_TELEMETRY"] = "False"
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self._writable = writable
        self._collection: Any = None
        if not writable and not (folder / "chroma.sqlite3").is_file():
            return
        if writable:
            folder.mkdir(parents=True, exist_ok=True)
        try:
            self._client = chromadb.PersistentClient(
                path=str(folder),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
            )
            self._collection = self._open_collection()
        except Exception:
            if writable:
                raise
            # Chroma writes as it opens; where it cannot (a read-only disk), passages are
            # found by their words alone.
            log.warning("the vector store in %s cannot be opened to read", folder, exc_info=True)

    def _open_collection(self) -> Any:
        if not self._writable:
            try:
                return self._client.get_collection(
                    COLLECTION,
                    embedding_function=_folio_embedding_function(),
                )
            except Exception:  # not created yet: nothing was ever embedded
                return None
        return self._client.get_or_create_collection(
            COLLECTION,
            embedding_function=_folio_embedding_function(),
            # A wider search than Chroma's default (100) makes the approximate neighbours all
            # but exact: measured on the evaluation library (7.7k passages), two builds of the
            # same vectors ranked some passages 40 places apart at 100, which moved page-level
            # recall@5 by a question in either direction. Queries stay in milliseconds.
            configuration={"hnsw": {"space": "cosine", "ef_search": HNSW_SEARCH_EF}},
        )

    def clear(self) -> None:
        """Drop every vector (another model's vectors may not even have the same length)."""
        self._client.delete_collection(COLLECTION)
        self._collection = self._open_collection()

    def add(
        self, chunk_ids: Sequence[str], documents: Sequence[str], vectors: npt.NDArray[np.float32]
    ) -> None:
        if not chunk_ids:
            return
        self._collection.upsert(
            ids=list(chunk_ids),
            embeddings=vectors.astype(np.float32),
            metadatas=[{"document_id": document} for document in documents],
        )

    def remove(self, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._collection.delete(ids=list(chunk_ids))

    def count(self) -> int:
        if self._collection is None:
            return 0
        return int(self._collection.count())

    def search(
        self,
        vector: npt.NDArray[np.float32],
        limit: int,
        documents: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        total = self.count()
        if total == 0:
            return []
        where: Any = None
        if documents is not None:
            if not documents:
                return []
            where = {"document_id": {"$in": list(documents)}}
        result = self._collection.query(
            query_embeddings=[vector.astype(np.float32).tolist()],
            n_results=min(limit, total),
            where=where,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = (result.get("distances") or [[1.0] * len(ids)])[0]
        return [
            (chunk_id, 1.0 - float(distance))
            for chunk_id, distance in zip(ids, distances, strict=True)
        ]

    def similarities(
        self, vector: npt.NDArray[np.float32], chunk_ids: Sequence[str]
    ) -> dict[str, float]:
        """Cosine similarity of ``vector`` to each passage of ``chunk_ids`` that has one."""
        if not chunk_ids or self.count() == 0:
            return {}
        stored = self._collection.get(ids=list(chunk_ids), include=["embeddings"])
        embeddings = stored.get("embeddings")
        if embeddings is None or len(embeddings) == 0:
            return {}
        query_vector = vector.astype(np.float32)
        matrix = np.asarray(embeddings, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * max(float(np.linalg.norm(query_vector)), 1e-12)
        cosines = matrix @ query_vector / np.maximum(norms, 1e-12)
        return {
            str(chunk_id): float(cosine)
            for chunk_id, cosine in zip(stored["ids"], cosines, strict=True)
        }

    def ids(self) -> list[str]:
        """Every chunk id that has a vector."""
        if self.count() == 0:
            return []
        return [str(chunk_id) for chunk_id in self._collection.get(include=[])["ids"]]

    def close(self) -> None:
        """Nothing to let go of: Chroma's client closes with its process."""


class VectorStore(Protocol):
    """A ``ChromaVectors``, here or in another process."""

    def add(
        self, chunk_ids: Sequence[str], documents: Sequence[str], vectors: npt.NDArray[np.float32]
    ) -> None: ...

    def remove(self, chunk_ids: Sequence[str]) -> None: ...

    def clear(self) -> None: ...

    def count(self) -> int: ...

    def ids(self) -> list[str]: ...

    def search(
        self, vector: npt.NDArray[np.float32], limit: int, documents: Sequence[str] | None = None
    ) -> list[tuple[str, float]]: ...

    def similarities(
        self, vector: npt.NDArray[np.float32], chunk_ids: Sequence[str]
    ) -> dict[str, float]: ...

    def close(self) -> None: ...


class VectorIndex:
    """Passages by meaning: questions become vectors here, the vectors live in ``store``."""

    def __init__(
        self,
        folder: Path,
        embed_query: Callable[[str], npt.NDArray[np.float32]],
        *,
        writable: bool = True,
        store: VectorStore | None = None,
    ) -> None:
        """``store``: where the vectors are kept (default: a Chroma store in this process)."""
        self._store: VectorStore = (
            store if store is not None else ChromaVectors(folder, writable=writable)
        )
        self._embed_query = embed_query
        # The last question's vector: relevance asks again for passages search did not return.
        self._last_query: tuple[str, npt.NDArray[np.float32]] | None = None

    def add(
        self, chunk_ids: Sequence[str], documents: Sequence[str], vectors: npt.NDArray[np.float32]
    ) -> None:
        self._store.add(chunk_ids, documents, vectors)

    def remove(self, chunk_ids: Sequence[str]) -> None:
        self._store.remove(chunk_ids)

    def clear(self) -> None:
        self._store.clear()

    def count(self) -> int:
        return self._store.count()

    def ids(self) -> list[str]:
        return self._store.ids()

    def close(self) -> None:
        self._store.close()

    def search(
        self, query: str, limit: int, documents: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        if documents is not None and not documents:
            return []
        if self._store.count() == 0:
            return []
        return self._store.search(self._query_vector(query), limit, documents)

    def similarities(self, query: str, chunk_ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of the question to each passage of ``chunk_ids`` that has a vector
        (passages found by their words may not be among the nearest by meaning)."""
        if not chunk_ids or self._store.count() == 0:
            return {}
        return self._store.similarities(self._query_vector(query), chunk_ids)

    def _query_vector(self, query: str) -> npt.NDArray[np.float32]:
        last = self._last_query
        if last is not None and last[0] == query:
            return last[1]
        vector = self._embed_query(query)
        self._last_query = (query, vector)
        return vector


def _folio_embedding_function() -> Any:
    """Chroma insists on an embedding function; its default one downloads a model, so Folio
    hands it one that is never called (vectors are always passed in explicitly)."""
    from chromadb import Documents, EmbeddingFunction, Embeddings

    class FolioEmbeddingFunction(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            pass

        def __call__(self, input: Documents) -> Embeddings:
            raise RuntimeError("Folio passes its own vectors; Chroma must not embed")

        @staticmethod
        def name() -> str:
            return "folio-local-gguf"

        def get_config(self) -> dict[str, Any]:
            return {}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> FolioEmbeddingFunction:
            return FolioEmbeddingFunction()

    return FolioEmbeddingFunction()
