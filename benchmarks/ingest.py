"""Indexing speed: Folio's pipeline against its own embedder's ceiling on the same passages.

    .venv/bin/python -m benchmarks.ingest [--pdfs ../shared/eval/pdfs] [--json]

1. Folio: a new library indexes every PDF of the folder from empty, as the window does (reading in
   its own process, ahead of embedding). Reported: pages/s, chunks/s, and the seconds until every
   page was searchable by keyword.
2. Ceiling: the passages just indexed, embedded again by the embedder alone, as the pipeline uses
   it once reading is done (two instances, one thread each), with nothing else running.

The ratio pipeline/ceiling says how much of the machine the pipeline turns into vectors.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from desktop.core.documents.chunking import embedding_text
from desktop.core.documents.library import IndexProgress, Library
from desktop.core.embedder import Embedder, starter_embedder_path
from desktop.core.engine import physical_cores

DEFAULT_PDFS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "pdfs"
CEILING_BATCH = 48


def run_pipeline(pdfs: Path, workdir: Path, model: Path) -> dict[str, Any]:
    embedder = Embedder()
    embedder.load(model).result()
    library = Library(workdir / "library", embedder)
    all_searchable: list[float] = []
    try:
        library.add([pdfs])
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=Path, default=DEFAULT_PDFS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.pdfs.is_dir():
        parser.error(f"there is no folder at {args.pdfs}")
    with tempfile.TemporaryDirectory(prefix="folio-bench-ingest-") as folder:
        workdir = Path(folder)
        model = starter_embedder_path(workdir / "cache")
        pipeline = run_pipeline(args.pdfs, workdir, model)
        ceiling = run_ceiling(workdir, model)
    ratio = pipeline["chunks_per_s"] / ceiling["chunks_per_s"]
    report = {
        "benchmark": "ingest",
        "machine": {
            "cpu_cores": physical_cores(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "figures": {"folio": pipeline, "embedder_alone": ceiling},
        "ratios": {"pipeline_vs_embedder_alone": round(ratio, 2)},
        "goals": {
            "pages_per_s": {
                "target": 6.0,
                "measured": pipeline["pages_per_s"],
                "met": pipeline["pages_per_s"] >= 6.0,
            },
            "pipeline_vs_embedder_alone": {
                "target": 0.9,
                "measured": round(ratio, 2),
                "met": ratio >= 0.9,
            },
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"Folio: {pipeline['pages']} pages, {pipeline['chunks']} chunks in "
            f"{pipeline['seconds']} s = {pipeline['pages_per_s']} pages/s, "
            f"{pipeline['chunks_per_s']} chunks/s; every page searchable by keyword after "
            f"{pipeline['all_pages_keyword_searchable_s']} s"
        )
        print(
            f"Embedder alone ({ceiling['instances']} × {ceiling['threads_each']} thread): "
            f"{ceiling['chunks_per_s']} chunks/s; pipeline/ceiling = {ratio:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
