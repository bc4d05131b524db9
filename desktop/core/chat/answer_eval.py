"""Answer-level evaluation: does a documents answer contain the reference answer, does the quoted
evidence, and how often does Folio decline a question the library cannot answer.

Page recall says whether the right page was found; a reader cares whether the answer is right.
Each question is asked as the window asks it with "Documents: all" (the best sources, the
grounding instructions, greedy decoding so the figures do not depend on a seed), and checked
with a lenient match: the reference's words in order, or its figures, in the answer. Questions
marked ``"answerable": false`` should be declined (the library does not cover them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.chat.rag import ground_in_library
from desktop.core.documents.library import Library
from desktop.core.settings.schema import Settings

# Asks the model: (prompt, system prompt) → (answer, prompt tokens). Greedy, so the figures do
# not depend on a seed; the caller owns the engine.
AskModel = Callable[[str, str], tuple[str, int]]


class AnswerFileError(ValueError):
    """A line of the question file is not what it should be; the message names the line."""


@dataclass(frozen=True)
class AnswerCheck:
    question: str
    reference: str
    answerable: bool
    source: str
    declined: bool
    answer_contains: bool
    quote_contains: bool
    prompt_tokens: int
    sources: int


def read_answer_questions(path: Path) -> list[dict[str, Any]]:
    """Questions with a reference ``answer``, or ``"answerable": false`` without one."""
    questions: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise AnswerFileError(f"{path.name} line {number} is not JSON ({error.msg})") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("question"), str):
            raise AnswerFileError(f"{path.name} line {number} has no question")
        if entry.get("answerable", True) and not isinstance(entry.get("answer"), str):
            raise AnswerFileError(f"{path.name} line {number} has no reference answer")
        questions.append(entry)
    return questions


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _normalised(text: str) -> str:
    text = text.lower().replace("–", "-").replace("—", "-")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 192,052 → 192052
    text = re.sub(r"[^\w%.\- ]+", " ", text)
    return " ".join(text.split())


def contains_reference(text: str, reference: str) -> bool:
    """Whether ``text`` holds the reference: each of its parts (“A; B; C”) in order, word for
    word, or — for a figure — the same numbers (“495.00” is 495)."""
    if not text.strip() or not reference.strip():
        return False
    said = _normalised(text)
    parts = [part for part in re.split(r";\s*", reference) if part.strip()]
    if all(_normalised(part).strip(" .") in said for part in parts):
        return True
    wanted = [float(value) for value in _NUMBER.findall(_normalised(reference))]
    if wanted and len(_normalised(reference)) <= 24:
        found = {float(value) for value in _NUMBER.findall(said)}
        return all(value in found for value in wanted)
    first = _normalised(reference).split(" ", 1)[0]
    if first in ("yes", "no"):
        return said.split(" ", 1)[0].strip(".,") == first
    return False


def evaluate_answers(
    library: Library,
    ask: AskModel,
    count_tokens: Callable[[str], int],
    token_budget: int,
    questions: Iterable[dict[str, Any]],
    settings: Settings,
    on_checked: Callable[[AnswerCheck], None] | None = None,
) -> dict[str, Any]:
    generation = settings.generation
    checks: list[AnswerCheck] = []
    for entry in questions:
        question = str(entry["question"])
        answerable = bool(entry.get("answerable", True))
        reference = str(entry.get("answer", ""))
        grounded = ground_in_library(
            library,
            question,
            documents=None,
            system_prompt=generation.system_prompt,
            count_tokens=count_tokens,
            token_budget=token_budget,
            sources_wanted=settings.documents.results_per_question,
            threshold=settings.documents.relevance_threshold,
        )
        answer = ""
        prompt_tokens = 0
        if grounded.relevant:
            answer, prompt_tokens = ask(grounded.prompt, grounded.system_prompt)
        quoted = "\n".join(f"{quote.text} {quote.table}" for quote in grounded.quotes)
        check = AnswerCheck(
            question=question,
            reference=reference,
            answerable=answerable,
            source=str(entry.get("source", "")),
            declined=not grounded.relevant,
            answer_contains=answerable and contains_reference(answer, reference),
            quote_contains=answerable and contains_reference(quoted, reference),
            prompt_tokens=prompt_tokens,
            sources=len(grounded.sources),
        )
        checks.append(check)
        if on_checked is not None:
            on_checked(check)
    return summarise(checks)


def summarise(checks: list[AnswerCheck]) -> dict[str, Any]:
    answerable = [check for check in checks if check.answerable]
    unanswerable = [check for check in checks if not check.answerable]

    def share(found: Iterable[bool], out_of: int) -> float:
        return round(sum(found) / out_of, 4) if out_of else 0.0

    by_source: dict[str, list[AnswerCheck]] = {}
    for check in answerable:
        by_source.setdefault(check.source, []).append(check)
    return {
        "n": len(answerable),
        "answer_contains_reference": share(
            (c.answer_contains for c in answerable), len(answerable)
        ),
        "quote_contains_reference": share((c.quote_contains for c in answerable), len(answerable)),
        "either_contains_reference": share(
            (c.answer_contains or c.quote_contains for c in answerable), len(answerable)
        ),
        "declined_answerable": share((c.declined for c in answerable), len(answerable)),
        "unanswerable": len(unanswerable),
        "refusal_rate_unanswerable": share((c.declined for c in unanswerable), len(unanswerable)),
        "mean_prompt_tokens": round(
            sum(c.prompt_tokens for c in answerable) / max(len(answerable), 1), 1
        ),
        "by_source": {
            source: {
                "n": len(found),
                "answer_contains_reference": share((c.answer_contains for c in found), len(found)),
                "quote_contains_reference": share((c.quote_contains for c in found), len(found)),
            }
            for source, found in sorted(by_source.items())
        },
    }
