"""Text to vectors with a GGUF embedding model, in its own ``Llama(embedding=True)``.

Like the chat engine, the embedding ``Llama`` has exactly one owner thread. Vectors come back
L2-normalised, so a dot product is the cosine similarity. Models trained with task prefixes
(nomic-embed-text, E5, BGE) get them automatically for queries and documents.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from desktop.core.errors import EngineError, ModelLoadError
from desktop.core.llm import binding, llama_log
from desktop.core.llm.owner_thread import OwnerThread
from desktop.core.models.checks import read_model_header
from desktop.core.models.gguf import GGUFInfo
from desktop.core.platform import physical_cores

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger(__name__)

TextKind = Literal["query", "document"]
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Prefixes:
    query: str = ""
    document: str = ""


def prefixes_for(header: GGUFInfo) -> Prefixes:
    """Task prefixes the model was trained with, recognised from its architecture and name."""
    name = f"{header.metadata.get('general.name', '')} {header.path.name}".lower()
    if header.architecture.startswith("nomic-bert") or "nomic-embed" in name:
        return Prefixes(query="search_query: ", document="search_document: ")
    if "e5" in name.replace("-", " ").split() or "multilingual-e5" in name or "/e5" in name:
        return Prefixes(query="query: ", document="passage: ")
    if "bge" in name and "m3" not in name:
        return Prefixes(query="Represent this sentence for searching relevant passages: ")
    return Prefixes()


# The longest text most embedding models were trained on; their position table may go further,
# but what lies past the training length is represented worse, and costs as much to compute.
DEFAULT_WINDOW = 512
# all-MiniLM-L6-v2 and its MiniLM siblings were trained on pairs of at most 128 word pieces.
MINILM_WINDOW = 128


def window_for(header: GGUFInfo, context: int) -> int:
    """Tokens of a text the model reads: its training length where known, within its context."""
    name = f"{header.metadata.get('general.name', '')} {header.path.name}".lower()
    trained = MINILM_WINDOW if "minilm" in name else DEFAULT_WINDOW
    return max(8, min(context, trained))


@dataclass(frozen=True)
class EmbedderInfo:
    path: Path
    name: str
    architecture: str
    dimensions: int
    context_length: int
    prefixes: Prefixes
    # Texts are cut to this many tokens (special tokens included), keeping their beginning.
    window: int = DEFAULT_WINDOW


class Embedder(OwnerThread):
    """Owns one embedding ``Llama``; public methods may be called from any thread."""

    def __init__(self) -> None:
        super().__init__("folio-embedder", EngineError("The embedder has been shut down."))
        self._llama: Llama | None = None
        self._info: EmbedderInfo | None = None

    @property
    def info(self) -> EmbedderInfo | None:
        return self._info

    def load(self, path: Path | str, threads: int = 0) -> Future[EmbedderInfo]:
        return self._submit(self._load, Path(path), threads)

    def embed(self, texts: Sequence[str], kind: TextKind = "document") -> Vectors:
        """One normalised row per text (blocks until the owner thread is done)."""
        return self.embed_later(texts, kind).result()

    def embed_later(self, texts: Sequence[str], kind: TextKind = "document") -> Future[Vectors]:
        future: Future[Vectors] = self._submit(self._embed, list(texts), kind)
        return future

    def set_threads(self, threads: int) -> Future[None]:
        """Use ``threads`` CPU threads from the next text on (0: every physical core)."""
        future: Future[None] = self._submit(self._set_threads, threads)
        return future

    def count_tokens(self, text: str) -> int:
        count: int = self._submit(self._count_tokens, text).result()
        return count

    # -- owner thread only ----------------------------------------------------------------------

    def _load(self, path: Path, threads: int) -> EmbedderInfo:
        header = read_model_header(path)
        context = header.context_length or 512
        llama_log.install()
        self._unload()
        with llama_log.capture_errors() as errors:
            try:
                llama = binding.open_llama(
                    model_path=str(path),
                    embedding=True,
                    n_ctx=context,
                    n_batch=context,
                    n_ubatch=context,
                    n_threads=threads or physical_cores(),
                    n_threads_batch=threads or physical_cores(),
                    # Off by default in the binding; on CPU it embeds MiniLM passages 24 %
                    # faster (15.2 -> 18.8 per second on one core) with the same vectors
                    # (cosine 0.9999999).
                    flash_attn=True,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                detail = " ".join(errors.lines)[-300:]
                raise ModelLoadError(
                    f"llama.cpp could not load the embedding model “{path.name}”. {detail}"
                ) from exc
        self._llama = llama
        self._info = EmbedderInfo(
            path=path,
            name=path.stem,
            architecture=header.architecture,
            dimensions=int(llama.n_embd()),
            context_length=context,
            prefixes=prefixes_for(header),
            window=window_for(header, context),
        )
        return self._info

    def _set_threads(self, threads: int) -> None:
        if self._llama is None:
            return
        binding.set_threads(self._llama, threads or physical_cores())

    def _unload(self) -> None:
        if self._llama is not None:
            self._llama.close()
        self._llama = None
        self._info = None

    def _require(self) -> tuple[Llama, EmbedderInfo]:
        if self._llama is None or self._info is None:
            raise EngineError("No embedding model is loaded.")
        return self._llama, self._info

    def _count_tokens(self, text: str) -> int:
        llama, _ = self._require()
        return len(llama.tokenize(text.encode("utf-8"), add_bos=True))

    def _embed(self, texts: list[str], kind: TextKind) -> Vectors:
        llama, info = self._require()
        if not texts:
            return np.zeros((0, info.dimensions), dtype=np.float32)
        prefix = info.prefixes.query if kind == "query" else info.prefixes.document
        # Texts longer than the model's window keep their beginning: a chunk's context line and
        # heading, a query's question. Passages step forward by less than they hold, so the
        # windows of neighbouring passages still cover the page between them.
        prepared = [_within_window(llama, prefix + text, info.window) for text in texts]

        started = time.perf_counter()
        # One text per decode: llama.cpp's attention work in a decode grows with the square of
        # all its tokens, even across separate sequences, so packing texts together is slower
        # (measured on MiniLM, 132-token chunks: 31 chunks/s alone, 28 packed in pairs).
        rows = [
            _as_rows(llama.embed([text], normalize=False, truncate=True))[0] for text in prepared
        ]
        vectors = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.maximum(norms, 1e-12)
        log.debug("embedded %d texts in %.3fs", len(texts), time.perf_counter() - started)
        return vectors


def _within_window(llama: Llama, text: str, window: int) -> str:
    """``text`` cut to ``window`` tokens, its end marker kept (llama.cpp's own truncation would
    drop it, and the pooled vector would then lack the token the model always saw last)."""
    tokens = llama.tokenize(text.encode("utf-8"), add_bos=True)
    if len(tokens) <= window:
        return text
    # The first and last tokens are the markers tokenize() adds around the text.
    kept: bytes = llama.detokenize(tokens[1 : window - 1])
    return kept.decode("utf-8", errors="ignore")


def _as_rows(result: Any) -> list[list[float]]:
    if result and isinstance(result[0], float | int):
        return [list(result)]
    return [list(row) for row in result]
