"""Embedding: Folio's embedder against gpt4all's ``Embed4All`` on the same GGUF and passages.

The passages are real ones: a filing from the evaluation folder, read and cut by Folio's own
indexer, each in the form that gets embedded (its heading and context first). Both embedders
load the same file (the starter all-MiniLM-L6-v2, converted to GGUF as Folio does at first use)
with the same thread count, take the same list at once, and alternate rounds. The vectors are
compared too, so the speed is for the same work: their mean cosine similarity is reported.

Needs the ``bench`` extra (``pip install -e '.[bench]'``) for gpt4all.

    python -m benchmarks.embed [--rounds 3] [--passages 48] [--pdf PATH] [--json]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    DEFAULT_PDFS,
    BenchResult,
    Goal,
    ReferenceUnavailableError,
    interleaved,
    median,
    print_result,
)
from desktop.core.documents.chunking import embedding_text
from desktop.core.documents.library import Library
from desktop.core.embedding.embedder import Embedder
from desktop.core.embedding.starter import starter_embedder_path

SPEEDUP_GOAL = 5.0
THREADS = 1
DEFAULT_PDF = DEFAULT_PDFS / "COSTCO_2021_10K.pdf"


def passages(pdf: Path, embedder: Embedder, folder: Path, count: int) -> list[str]:
    library = Library(folder, embedder)
    try:
        library.add([pdf])
        library.index_queued()
    finally:
        library.close()
    with sqlite3.connect(folder / "library.sqlite3") as connection:
        rows = connection.execute(
            "SELECT context, section, text FROM chunks ORDER BY rowid LIMIT ?", (count,)
        ).fetchall()
    return [embedding_text(context, section, text) for context, section, text in rows]


def gpt4all_class() -> Any:
    try:
        from gpt4all import Embed4All
    except ImportError:
        raise ReferenceUnavailableError(
            "gpt4all is not installed; install the bench extra: pip install -e '.[bench]'"
        ) from None
    return Embed4All


def gpt4all_embedder(model: Path) -> Any:
    return gpt4all_class()(
        model_name=model.name,
        model_path=str(model.parent),
        allow_download=False,
        n_threads=THREADS,
        device="cpu",
    )


def run(rounds: int = 3, count: int = 48, pdf: Path = DEFAULT_PDF) -> BenchResult:
    gpt4all_class()  # the peer first: without it there is nothing to compare with
    if not pdf.is_file():
        raise ReferenceUnavailableError(f"no document to take passages from: {pdf}")
    with tempfile.TemporaryDirectory() as scratch:
        model = starter_embedder_path(Path(scratch) / "cache")
        peer = gpt4all_embedder(model)
        embedder = Embedder()
        try:
            embedder.load(model, threads=THREADS).result()
            texts = passages(pdf, embedder, Path(scratch) / "library", count)
            ours: list[Any] = []
            theirs: list[Any] = []

            def folio_rate() -> float:
                started = time.perf_counter()
                ours[:] = [embedder.embed(texts)]
                return len(texts) / (time.perf_counter() - started)

            def peer_rate() -> float:
                started = time.perf_counter()
                # gpt4all wants a prefix for models it does not know; MiniLM takes none.
                theirs[:] = [peer.embed(texts, prefix="")]
                return len(texts) / (time.perf_counter() - started)

            folio_rate(), peer_rate()  # warm-up
            folio, reference = interleaved(rounds, folio_rate, peer_rate)
        finally:
            embedder.close()
            peer.close()
    mine = np.asarray(ours[0], dtype=np.float32)
    other = np.asarray(theirs[0], dtype=np.float32)
    cosine = np.sum(mine * other, axis=1) / (
        np.linalg.norm(mine, axis=1) * np.linalg.norm(other, axis=1)
    )
    result = BenchResult("embed")
    result.figures = {
        "model": model.name,
        "passages": len(texts),
        "mean_passage_chars": round(sum(map(len, texts)) / len(texts)),
        "threads": THREADS,
        "rounds": rounds,
        "folio_chunks_per_s": round(median(folio), 1),
        "gpt4all_chunks_per_s": round(median(reference), 1),
        "mean_cosine_between_the_two": round(float(np.mean(cosine)), 4),
    }
    speedup = median(folio) / median(reference)
    result.ratios = {"folio_vs_gpt4all": speedup}
    result.goals = {"folio_vs_gpt4all": Goal(SPEEDUP_GOAL, speedup)}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passages", type=int, default=48)
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return print_result("embed", lambda: run(args.rounds, args.passages, args.pdf), args.json)


if __name__ == "__main__":
    sys.exit(main())
