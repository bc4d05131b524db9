"""Fitting and checking the one relevance score (desktop/core/documents/relevance.py).

On an indexed library (the evaluation PDFs), every question of the given files is searched with a
wide candidate list; each candidate's two features (cosine similarity, weighted word coverage)
are recorded with whether it lies on an evidence page. Ordinary requests that no library answers
(a poem, a joke, general knowledge, code) add their candidates as negatives. A logistic curve is
fitted to all of it (Newton's method, a small ridge), and the report gives:

- the fitted weights, next to the ones in relevance.py;
- page recall@k and MRR@10 in search order and reranked by relevance, per question file;
- the best relevance of library questions against ordinary requests: how well the automatic
  documents mode can tell them apart at the threshold in relevance.py.

    FOLIO_HOME=/tmp/evalhome python -m benchmarks.relevance_fit ../shared/eval/dev.jsonl \
        benchmarks/questions/filings.jsonl [--json]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from desktop.cli.documents import open_library
from desktop.core.documents import relevance as scoring
from desktop.core.documents.evaluation import first_hit_rank, read_questions
from desktop.core.documents.library import Library
from desktop.core.documents.records import LibraryHit
from desktop.core.documents.relevance import coverage, text_stems
from desktop.core.paths import app_paths

CANDIDATES = 20

# Requests a chat gets that no document library answers; the automatic mode must answer these
# from the model. Kept general: none names anything in the evaluation PDFs.
ORDINARY_REQUESTS = (
    "Write a haiku about autumn.",
    "Tell me a joke.",
    "What is the capital of France?",
    "Write a Python function that reverses a string.",
    "Hello!",
    "How are you today?",
    "Translate 'good morning' into Spanish.",
    "Give me three ideas for a birthday party.",
    "Explain how photosynthesis works to a child.",
    "What is 17 times 23?",
    "Summarize the plot of Romeo and Juliet.",
    "Write a short poem about the sea.",
    "Who painted the Mona Lisa?",
    "How do I bake sourdough bread?",
    "What's a good name for a cat?",
    "Suggest a weekend workout plan.",
    "Write an email asking my landlord to fix the heating.",
    "What does HTTP stand for?",
    "Why is the sky blue?",
    "List five fruits that are red.",
)


@dataclass(frozen=True)
class Candidate:
    similarity: float | None
    coverage: float
    on_evidence: bool
    # From the question's own document, but not from an evidence page: possibly relevant too,
    # so neither a positive nor a negative when fitting.
    same_document: bool = False


def candidates_of(library: Library, query: str) -> list[tuple[LibraryHit, Candidate]]:
    hits = library.search(query, k=CANDIDATES)
    weights = library.keywords.term_weights(query)
    found: list[tuple[LibraryHit, Candidate]] = []
    for hit in hits:
        held = coverage(weights, text_stems(f"{hit.chunk.context}\n{hit.chunk.text}"))
        found.append((hit, Candidate(hit.similarity, held, False)))
    return found


def features(candidate: Candidate) -> list[float]:
    meaning = scoring.TYPICAL_SIMILARITY if candidate.similarity is None else candidate.similarity
    return [1.0, meaning, candidate.coverage]


def fit_logistic(rows: list[list[float]], labels: list[float], ridge: float = 1.0) -> np.ndarray:
    x = np.asarray(rows)
    y = np.asarray(labels)
    w = np.zeros(x.shape[1])
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def metrics(ranks: list[int | None]) -> dict[str, float]:
    count = len(ranks) or 1
    result = {
        f"recall@{k}": round(sum(1 for r in ranks if r is not None and r < k) / count, 3)
        for k in (1, 3, 5, 10)
    }
    result["mrr@10"] = round(sum(1 / (r + 1) for r in ranks if r is not None and r < 10) / count, 3)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa_files", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rows: list[list[float]] = []
    labels: list[float] = []
    runs: dict[str, list[tuple[list[tuple[LibraryHit, Candidate]], dict[str, Any]]]] = {}
    ordinary: list[list[tuple[LibraryHit, Candidate]]] = []
    with open_library(app_paths()) as library:
        for qa_file in args.qa_files:
            for question in read_questions(qa_file):
                found = candidates_of(library, question["question"])
                pages = [int(page) for page in question["pages"]]
                labelled = []
                for hit, candidate in found:
                    on_page = first_hit_rank([hit], question["file"], pages) is not None
                    same = hit.document.path.name == question["file"]
                    labelled.append(
                        (hit, replace(candidate, on_evidence=on_page, same_document=same))
                    )
                runs.setdefault(qa_file.name, []).append((labelled, question))
        for request in ORDINARY_REQUESTS:
            ordinary.append(candidates_of(library, request))

    for file_runs in runs.values():
        for labelled, _ in file_runs:
            for _, candidate in labelled:
                if candidate.same_document and not candidate.on_evidence:
                    continue
                rows.append(features(candidate))
                labels.append(1.0 if candidate.on_evidence else 0.0)
    for found in ordinary:
        for _, candidate in found[:5]:
            rows.append(features(candidate))
            labels.append(0.0)
    weights = fit_logistic(rows, labels)

    def score(candidate: Candidate) -> float:
        return scoring.relevance(candidate.similarity, candidate.coverage)

    def rank_of(labelled: list[tuple[LibraryHit, Candidate]]) -> int | None:
        return next((i for i, (_, c) in enumerate(labelled) if c.on_evidence), None)

    report: dict[str, Any] = {
        "fitted": {
            "bias": round(float(weights[0]), 2),
            "similarity_weight": round(float(weights[1]), 2),
            "coverage_weight": round(float(weights[2]), 2),
        },
        "in_use": {
            "bias": scoring.BIAS,
            "similarity_weight": scoring.SIMILARITY_WEIGHT,
            "coverage_weight": scoring.COVERAGE_WEIGHT,
        },
        "files": {},
    }
    library_best: list[float] = []
    for name, file_runs in runs.items():
        search_order = [rank_of(labelled) for labelled, _ in file_runs]
        reranked = [
            rank_of(sorted(labelled, key=lambda pair: -score(pair[1]))) for labelled, _ in file_runs
        ]
        library_best += [
            max((score(c) for _, c in labelled), default=0.0) for labelled, _ in file_runs
        ]
        report["files"][name] = {
            "n": len(file_runs),
            "search_order": metrics(search_order),
            "by_relevance": metrics(reranked),
        }
    ordinary_best = [max((score(c) for _, c in found), default=0.0) for found in ordinary]
    threshold = scoring.LIBRARY_COVERS
    report["automatic_mode"] = {
        "threshold": threshold,
        "library_questions_answered_from_library": round(
            sum(best >= threshold for best in library_best) / max(len(library_best), 1), 3
        ),
        "ordinary_requests_answered_from_library": round(
            sum(best >= threshold for best in ordinary_best) / max(len(ordinary_best), 1), 3
        ),
        "library_best_quartiles": [
            round(float(q), 3) for q in np.percentile(library_best, [10, 25, 50])
        ],
        "ordinary_best_max": round(max(ordinary_best, default=0.0), 3),
        "ordinary_best": {
            request: round(best, 3)
            for request, best in zip(ORDINARY_REQUESTS, ordinary_best, strict=True)
        },
    }
    report["threshold_sweep"] = {
        f"{t:.2f}": {
            "library": round(sum(b >= t for b in library_best) / max(len(library_best), 1), 3),
            "ordinary": round(sum(b >= t for b in ordinary_best) / max(len(ordinary_best), 1), 3),
        }
        for t in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
    }
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
