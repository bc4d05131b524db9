"""Page-level retrieval quality on a question file: recall@k and MRR@10, overall and per source.

A retrieved passage is a hit when its file is the question's file and its page range overlaps the
question's evidence pages (1-based physical pages).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from desktop.core.documents.records import LibraryHit

CUTOFFS = (1, 3, 5, 10)


class Searchable(Protocol):
    def search(self, query: str, k: int = 10) -> list[LibraryHit]: ...


def first_hit_rank(hits: list[LibraryHit], file: str, pages: list[int]) -> int | None:
    for rank, hit in enumerate(hits):
        if hit.document.path.name != file:
            continue
        if any(hit.chunk.page_start <= page <= hit.chunk.page_end for page in pages):
            return rank
    return None


class QuestionFileError(ValueError):
    """A line of the question file is not what it should be; the message names the line."""


def read_questions(qa_file: Path) -> list[dict[str, Any]]:
    questions: list[dict[str, Any]] = []
    lines = qa_file.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            question = json.loads(line)
        except json.JSONDecodeError as error:
            raise QuestionFileError(
                f"{qa_file.name} line {number} is not JSON ({error.msg})"
            ) from None
        if not isinstance(question, dict):
            raise QuestionFileError(f"{qa_file.name} line {number} is not a JSON object")
        missing = [key for key in ("question", "file", "pages") if key not in question]
        if missing:
            raise QuestionFileError(f"{qa_file.name} line {number} lacks {', '.join(missing)}")
        pages = question["pages"]
        if not isinstance(pages, list) or not all(isinstance(page, int) for page in pages):
            raise QuestionFileError(f"{qa_file.name} line {number}: pages must be page numbers")
        questions.append(question)
    return questions


def evaluate_file(library: Searchable, qa_file: Path) -> dict[str, Any]:
    return evaluate_questions(library, read_questions(qa_file))


def evaluate_questions(library: Searchable, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall and MRR of ``questions`` (each with its file and evidence pages)."""
    ranks: list[tuple[str, int | None]] = []
    for question in questions:
        hits = library.search(question["question"], k=max(CUTOFFS))
        ranks.append(
            (
                str(question.get("source", "")),
                first_hit_rank(hits, question["file"], [int(page) for page in question["pages"]]),
            )
        )
    by_source: dict[str, list[int | None]] = {}
    for source, rank in ranks:
        by_source.setdefault(source, []).append(rank)
    return {
        "overall": _metrics([rank for _, rank in ranks]),
        "by_source": {source: _metrics(found) for source, found in sorted(by_source.items())},
    }


def _metrics(ranks: list[int | None]) -> dict[str, Any]:
    count = len(ranks)
    result: dict[str, Any] = {"n": count}
    for cutoff in CUTOFFS:
        hits = sum(1 for rank in ranks if rank is not None and rank < cutoff)
        result[f"recall@{cutoff}"] = round(hits / count, 4) if count else 0.0
    reciprocal = sum(1 / (rank + 1) for rank in ranks if rank is not None and rank < 10)
    result["mrr@10"] = round(reciprocal / count, 4) if count else 0.0
    return result
