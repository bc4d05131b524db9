"""Indexing: Folio's pipeline against a naive one and against its own embedder's ceiling.

All three index the same PDFs from empty, one after another in the same run:
1. Folio: a new library indexes them as the window does (pages read in their own process,
   ahead of embedding, passages embedded in batches by two embedder instances of one thread
   each on two cores). Reported: pages/s, chunks/s, and when every page was keyword-searchable.
2. Naive: read every page of every file, then embed one passage at a time (one embedder on all
   cores), then add each vector to Chroma one by one, as a first version would.
3. Ceiling: the passages Folio just indexed, embedded again by the embedder alone as the
   pipeline uses it (two instances, one thread each), with nothing else running.

By default a fixed share of the evaluation folder is used (whole documents, smallest first,
up to ``--pages``), so that all seven benchmarks fit in fifteen minutes; ``--pages 0`` takes
every file.

    python -m benchmarks.ingest [--pdfs ../shared/eval/pdfs] [--pages 160] [--json]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DEFAULT_PDFS,
    BenchResult,
    Goal,
    ReferenceUnavailableError,
    print_result,
)
from desktop.core.documents.chunking import chunk_pages, embedding_text
from desktop.core.documents.extract import open_document
from desktop.core.documents.library import Library
from desktop.core.documents.records import IndexProgress
from desktop.core.documents.vector_index import VectorIndex
from desktop.core.embedding.embedder import Embedder
from desktop.core.embedding.starter import starter_embedder_path
from desktop.core.platform import physical_cores

CEILING_BATCH = 48
SAMPLE_PAGES = 160
PAGES_PER_S_GOAL = 6.0
NAIVE_GOAL = 1.7
CEILING_GOAL = 0.9


def chosen_pdfs(folder: Path, pages: int) -> list[Path]:
    """Whole documents, smallest first, until about ``pages`` pages (all when 0)."""
    sized: list[tuple[int, Path]] = []
    for path in sorted(folder.glob("*.pdf")):
        with open_document(path) as document:
            sized.append((document.page_count, path))
    if pages <= 0:
        return [path for _, path in sized]
    chosen: list[Path] = []
    total = 0
    for count, path in sorted(sized):
        if total + count > pages and chosen:
            break
        chosen.append(path)
        total += count
    return chosen


def run_pipeline(pdfs: list[Path], workdir: Path, model: Path) -> dict[str, Any]:
    embedder = Embedder()
    embedder.load(model).result()
    library = Library(workdir / "library", embedder)
    all_searchable: list[float] = []
    try:
        library.add(pdfs)
        total_pages = sum(d.pages for d in library.documents())
        started = time.perf_counter()

        def on_progress(progress: IndexProgress) -> None:
            if not all_searchable and progress.library_pages_extracted >= total_pages:
                all_searchable.append(time.perf_counter() - started)

        finished = library.index_queued(on_progress)
        elapsed = time.perf_counter() - started
    finally:
        library.close()
        embedder.close()
    pages = sum(d.pages for d in finished)
    chunks = sum(d.chunks for d in finished)
    return {
        "documents": len(finished),
        "pages": pages,
        "chunks": chunks,
        "seconds": round(elapsed, 1),
        "pages_per_s": round(pages / elapsed, 2),
        "chunks_per_s": round(chunks / elapsed, 1),
        "all_pages_keyword_searchable_s": round(all_searchable[0], 1) if all_searchable else None,
    }


def run_ceiling(workdir: Path, model: Path) -> dict[str, Any]:
    with sqlite3.connect(workdir / "library" / "library.sqlite3") as connection:
        rows = connection.execute(
            "SELECT context, section, text FROM chunks ORDER BY rowid"
        ).fetchall()
    texts = [embedding_text(context, section, text) for context, section, text in rows]
    instances = 2 if physical_cores() >= 2 else 1
    threads = max(1, physical_cores() // instances)
    embedders = [Embedder() for _ in range(instances)]
    try:
        for embedder in embedders:
            embedder.load(model, threads=threads).result()
        started = time.perf_counter()
        for start in range(0, len(texts), CEILING_BATCH):
            batch = texts[start : start + CEILING_BATCH]
            share = -(-len(batch) // instances)
            futures = [
                embedder.embed_later(batch[index * share : (index + 1) * share])
                for index, embedder in enumerate(embedders)
            ]
            for future in futures:
                future.result()
        elapsed = time.perf_counter() - started
    finally:
        for embedder in embedders:
            embedder.close()
    return {
        "instances": instances,
        "threads_each": threads,
        "chunks": len(texts),
        "seconds": round(elapsed, 1),
        "chunks_per_s": round(len(texts) / elapsed, 1),
    }


def run_naive(pdfs: list[Path], workdir: Path, model: Path) -> dict[str, Any]:
    embedder = Embedder()
    embedder.load(model, threads=physical_cores()).result()
    vectors = VectorIndex(workdir / "naive", lambda text: embedder.embed([text], "query")[0])
    try:
        started = time.perf_counter()
        pages = 0
        read: list[tuple[str, list[Any]]] = []
        for path in pdfs:
            with open_document(path) as document:
                read.append((path.name, list(document.pages())))
        chunks = [
            chunk
            for name, document_pages in read
            for chunk in chunk_pages(document_pages, document_id=name, document_name=name)
        ]
        pages = sum(len(document_pages) for _, document_pages in read)
        embedded = [
            (chunk, embedder.embed([embedding_text(chunk.context, chunk.section, chunk.text)]))
            for chunk in chunks
        ]
        for chunk, vector in embedded:
            vectors.add([chunk.id], [chunk.document_id], vector)
        elapsed = time.perf_counter() - started
    finally:
        embedder.close()
    return {
        "pages": pages,
        "chunks": len(chunks),
        "seconds": round(elapsed, 1),
        "pages_per_s": round(pages / elapsed, 2),
        "chunks_per_s": round(len(chunks) / elapsed, 1),
    }


def run(pdf_folder: Path = DEFAULT_PDFS, pages: int = SAMPLE_PAGES) -> BenchResult:
    if not pdf_folder.is_dir() or not any(pdf_folder.glob("*.pdf")):
        raise ReferenceUnavailableError(f"no PDFs to index in {pdf_folder}")
    pdfs = chosen_pdfs(pdf_folder, pages)
    with tempfile.TemporaryDirectory(prefix="folio-bench-ingest-") as folder:
        workdir = Path(folder)
        model = starter_embedder_path(workdir / "cache")
        pipeline = run_pipeline(pdfs, workdir, model)
        naive = run_naive(pdfs, workdir, model)
        ceiling = run_ceiling(workdir, model)
    result = BenchResult("ingest")
    result.figures = {
        "documents": [path.name for path in pdfs],
        "folio": pipeline,
        "naive": naive,
        "embedder_alone": ceiling,
    }
    versus_naive = pipeline["pages_per_s"] / naive["pages_per_s"]
    versus_ceiling = pipeline["chunks_per_s"] / ceiling["chunks_per_s"]
    result.ratios = {
        "folio_vs_naive_pipeline": versus_naive,
        "folio_vs_embedder_alone": versus_ceiling,
    }
    result.goals = {
        "pages_per_s": Goal(PAGES_PER_S_GOAL, pipeline["pages_per_s"]),
        "folio_vs_naive_pipeline": Goal(NAIVE_GOAL, versus_naive),
        "folio_vs_embedder_alone": Goal(CEILING_GOAL, versus_ceiling),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=Path, default=DEFAULT_PDFS)
    parser.add_argument("--pages", type=int, default=SAMPLE_PAGES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return print_result("ingest", lambda: run(args.pdfs, args.pages), args.json)


if __name__ == "__main__":
    sys.exit(main())
