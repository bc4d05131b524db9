"""Retrieval latency: Folio's hybrid search (keywords + vectors + fusion) at 1k, 10k and 100k
passages, and how it grows.

Passages are synthetic sentences drawn from a fixed vocabulary, spread over 100 documents; their
vectors are random unit vectors (embedding 100k passages would take the benchmark half an hour
and says nothing about search). Each question is embedded by the real starter embedder, as in
the app, so the figures are what a question costs end to end. The reference is the size itself:
growth from 1k to 100k passages is compared with the 100x more data.

    python -m benchmarks.retrieval [--sizes 1000 10000 100000] [--queries 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import BenchResult, Goal, median, percentile
from desktop.core.documents.chunking import Chunk
from desktop.core.documents.keyword_index import KeywordIndex
from desktop.core.documents.search import HybridSearch
from desktop.core.documents.vector_index import VectorIndex
from desktop.core.embedding.embedder import Embedder
from desktop.core.embedding.starter import starter_embedder_path

WORDS = [
    "revenue",
    "margin",
    "lease",
    "tenant",
    "landlord",
    "contract",
    "notice",
    "period",
    "warranty",
    "invoice",
    "shipment",
    "supplier",
    "quarter",
    "annual",
    "growth",
    "risk",
    "capital",
    "liquidity",
    "dividend",
    "audit",
    "policy",
    "employee",
    "training",
    "safety",
    "inspection",
    "maintenance",
    "repair",
    "heating",
    "roof",
    "garden",
    "payment",
    "interest",
    "loan",
    "mortgage",
    "insurance",
    "claim",
    "premium",
    "coverage",
    "deductible",
    "patient",
    "treatment",
    "dosage",
    "trial",
    "results",
    "method",
    "model",
    "accuracy",
    "dataset",
    "training",
    "evaluation",
    "baseline",
    "retrieval",
    "passage",
    "vector",
    "keyword",
    "fusion",
    "ranking",
    "citation",
    "page",
    "section",
    "chapter",
    "appendix",
    "table",
    "figure",
]
P95_GOAL_MS = 50.0
BATCH = 5000


# Words of real text follow Zipf's law: a few are everywhere, most are rare. A vocabulary this
# size with that spread gives keyword search the work real passages give it; 70 words used
# evenly would make every passage match every question.
VOCABULARY = 30_000


def _vocabulary() -> list[str]:
    made = [f"{WORDS[n % len(WORDS)]}{n}" for n in range(VOCABULARY - len(WORDS))]
    return list(WORDS) + made


def _sentence(rng: random.Random, vocabulary: list[str], length: int = 60) -> str:
    # Log-uniform ranks: the chance of the word of rank r falls as 1/r.
    picks = [int(len(vocabulary) ** rng.random()) - 1 for _ in range(length)]
    return " ".join(vocabulary[pick] for pick in picks).capitalize() + "."


def _build(folder: Path, size: int, embed_query: Embedder) -> HybridSearch:
    rng = random.Random(size)
    vocabulary = _vocabulary()
    generator = np.random.default_rng(size)
    connection = sqlite3.connect(folder / "library.sqlite3", check_same_thread=False)
    keywords = KeywordIndex(connection)
    vectors = VectorIndex(folder / "vectors", lambda text: embed_query.embed([text], "query")[0])
    for start in range(0, size, BATCH):
        chunks = [
            Chunk(
                id=f"c{index}",
                document_id=f"d{index % 100}",
                page_start=index // 100 + 1,
                page_end=index // 100 + 1,
                page_label=str(index // 100 + 1),
                char_start=0,
                char_end=400,
                section="",
                text=_sentence(rng, vocabulary),
                context=f"Document {index % 100}",
            )
            for index in range(start, min(size, start + BATCH))
        ]
        keywords.add(chunks)
        rows = generator.standard_normal((len(chunks), 384)).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        vectors.add([c.id for c in chunks], [c.document_id for c in chunks], rows)
        keywords.mark_embedded([c.id for c in chunks])
    return HybridSearch(keywords, vectors)


def _latencies(search: HybridSearch, queries: list[str]) -> dict[str, list[float]]:
    """The whole search, and its keyword and vector parts alone: where the time goes."""
    parts: dict[str, Callable[[str], object]] = {
        "hybrid": lambda q: search.search(q, k=6),
        "keywords": lambda q: search._keywords.search(q, 60),
        "vectors": lambda q: search._vectors.search(q, 60),
    }
    measured: dict[str, list[float]] = {}
    for name, part in parts.items():
        part(queries[0])  # the first search warms caches; not counted
        times = []
        for query in queries:
            started = time.perf_counter()
            part(query)
            times.append((time.perf_counter() - started) * 1000)
        measured[name] = times
    return measured


def run(sizes: list[int] | None = None, queries: int = 60) -> BenchResult:
    sizes = sizes or [1000, 10000, 100000]
    rng = random.Random(7)
    vocabulary = _vocabulary()
    questions = [
        f"What does the {rng.choice(WORDS)} say about {rng.choice(vocabulary[:3000])} and "
        f"{rng.choice(vocabulary[:3000])}?"
        for _ in range(queries)
    ]
    embedder = Embedder()
    result = BenchResult("retrieval")
    with tempfile.TemporaryDirectory() as scratch:
        embedder.load(starter_embedder_path(Path(scratch) / "cache")).result()
        try:
            embed_ms = median(
                [_timed(lambda q=q: embedder.embed([q], "query")) for q in questions[:20]]
            )
            for size in sizes:
                folder = Path(scratch) / str(size)
                folder.mkdir()
                started = time.perf_counter()
                search = _build(folder, size, embedder)
                built = time.perf_counter() - started
                latencies = _latencies(search, questions)
                hybrid = latencies["hybrid"]
                result.figures[f"{size}"] = {
                    "p50_ms": round(percentile(hybrid, 0.5), 2),
                    "p95_ms": round(percentile(hybrid, 0.95), 2),
                    "keyword_p95_ms": round(percentile(latencies["keywords"], 0.95), 2),
                    "vector_p95_ms": round(percentile(latencies["vectors"], 0.95), 2),
                    "build_s": round(built, 1),
                }
        finally:
            embedder.close()
    result.figures["query_embedding_ms"] = round(embed_ms, 2)
    smallest, largest = str(min(sizes)), str(max(sizes))
    growth = result.figures[largest]["p95_ms"] / result.figures[smallest]["p95_ms"]
    result.ratios = {
        "p95_growth": growth,
        "data_growth": max(sizes) / min(sizes),
    }
    result.goals = {
        f"p95_ms_at_{largest}": Goal(P95_GOAL_MS, result.figures[largest]["p95_ms"], "at_most"),
        "sub_linear_growth": Goal(1.0, growth / (max(sizes) / min(sizes)), "at_most"),
    }
    return result


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.sizes, args.queries)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        for size in args.sizes:
            figures = result.figures[str(size)]
            print(
                f"{size:>7,} passages: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms "
                f"(keywords alone {figures['keyword_p95_ms']}, vectors alone "
                f"{figures['vector_p95_ms']})"
            )
        print(
            f"p95 grew {result.ratios['p95_growth']:.2f}x for {result.ratios['data_growth']:.0f}x "
            f"the passages (question embedding {result.figures['query_embedding_ms']} ms)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
