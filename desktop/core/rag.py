"""Answers grounded in the library: numbered sources in the prompt, citations out.

Retrieved passages are numbered [1], [2]… and put into the question within the tokens left after
the system prompt, the history and the answer's reserved room; the model is told to cite them.
When even the best passage is far from the question, Folio says the library does not seem to
contain the answer instead of letting the model invent one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from desktop.core.documents.library import LibraryHit

# Below this cosine similarity (all-MiniLM-L6-v2) the best passage is unrelated to the question.
# Measured on the evaluation library: every development question's best passage scored 0.30 or
# more; unrelated questions ("How do I bake sourdough bread?") scored 0.19-0.29.
RELEVANCE_THRESHOLD = 0.25
SOURCES_PER_ANSWER = 6

GROUNDING_INSTRUCTIONS = (
    "Answer the question using only the numbered sources. After each claim, cite the sources it "
    "comes from in square brackets, like [1] or [2][3]. If the sources do not contain the "
    "answer, say that the documents do not say."
)
NOT_IN_LIBRARY = (
    "The library does not seem to contain anything about this. Try other words, or add the "
    "documents that cover it."
)

_CITATION = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class Source:
    number: int
    hit: LibraryHit

    @property
    def label(self) -> str:
        chunk = self.hit.chunk
        page = f"page {chunk.page_start}"
        if chunk.page_label and chunk.page_label != str(chunk.page_start):
            page += f" (printed {chunk.page_label})"
        return f"{self.hit.document.name}, {page}"


@dataclass(frozen=True)
class GroundedQuestion:
    # What goes to the model as the user's message: the sources, then the question.
    prompt: str
    system_prompt: str
    sources: tuple[Source, ...]
    relevant: bool


def ground_question(
    question: str,
    hits: Sequence[LibraryHit],
    *,
    system_prompt: str,
    count_tokens: Callable[[str], int],
    token_budget: int,
) -> GroundedQuestion:
    """Number the best hits and fit as many as ``token_budget`` allows (best first)."""
    system = f"{system_prompt.strip()}\n\n{GROUNDING_INSTRUCTIONS}".strip()
    best = max((hit.similarity or 0.0 for hit in hits), default=0.0)
    if not hits or best < RELEVANCE_THRESHOLD:
        return GroundedQuestion(question, system, (), relevant=False)
    sources: list[Source] = []
    blocks: list[str] = []
    used = count_tokens(_compose([], question))
    for hit in hits[:SOURCES_PER_ANSWER]:
        source = Source(len(sources) + 1, hit)
        block = f"[{source.number}] {source.label}:\n{hit.chunk.text.strip()}"
        cost = count_tokens(block) + 2
        if used + cost > token_budget:
            break
        sources.append(source)
        blocks.append(block)
        used += cost
    return GroundedQuestion(_compose(blocks, question), system, tuple(sources), relevant=True)


def cited_numbers(answer: str, sources: Sequence[Source]) -> list[int]:
    """Source numbers the answer cites, in order of first mention, ignoring invented ones."""
    valid = {source.number for source in sources}
    seen: dict[int, None] = {}
    for match in _CITATION.finditer(answer):
        number = int(match.group(1))
        if number in valid:
            seen.setdefault(number, None)
    return list(seen)


def _compose(blocks: Sequence[str], question: str) -> str:
    if not blocks:
        return question
    return "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"
