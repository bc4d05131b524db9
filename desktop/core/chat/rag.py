"""Answers grounded in the library: numbered sources in the prompt, citations out.

Retrieved passages are numbered [1], [2]… and put into the question within the tokens left after
the system prompt, the history and the answer's reserved room; the model is told to cite them.
When even the best passage is not relevant (documents/relevance.py), the library does not cover
the question: the automatic mode then lets the model answer alone, marked as such, and the
documents-only modes say so and offer to answer without documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from desktop.core.chat.evidence import EvidenceSource, Quote, quotes_for
from desktop.core.documents.library import Library
from desktop.core.documents.records import LibraryHit
from desktop.core.documents.relevance import LIBRARY_COVERS

# How many passages go into a documents answer (measured: see the "Sources per answer" setting).
SOURCES_PER_ANSWER = 2

GROUNDING_INSTRUCTIONS = (
    "Answer the question using only the numbered sources. After each claim, cite the sources it "
    "comes from in square brackets, like [1] or [2][3]. If the sources do not contain the "
    "answer, say that the documents do not say."
)
NOT_FROM_DOCUMENTS = "Not from your documents: the library does not cover this question."
REPETITION_NOTICE = "Stopped: the answer began repeating itself."
NOT_IN_LIBRARY = (
    "The library does not seem to contain anything about this. Try other words, or add the "
    "documents that cover it."
)

_CITATION = re.compile(r"\[(\d{1,3})\]")
# Code, preformatted text, existing links and any tag: never rewritten.
_PROTECTED = re.compile(
    r"(<pre\b.*?</pre>|<code\b.*?</code>|<a\b.*?</a>|<[^>]*>)", re.DOTALL | re.IGNORECASE
)


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
    # The best passage's relevance (0 to 1): what "relevant" was decided by.
    best_relevance: float = 0.0
    # Documents in scope that were still being indexed: their passages may be missing.
    not_indexed: tuple[str, ...] = ()
    # The sources' own sentences that answer the question, shown before the model's answer.
    quotes: tuple[Quote, ...] = ()


@dataclass(frozen=True)
class SourceRef:
    """A source as saved with an answer: enough to show it and open the passage later, even
    when the library has changed since."""

    number: int
    document_id: str
    file: str
    path: Path
    page_start: int
    page_end: int
    page_label: str
    text: str
    similarity: float | None
    # The one relevance score (0 to 1); None for answers saved before it existed.
    relevance: float | None = None
    # The passage's context line (document, statement, column heads), for quoting table rows.
    context: str = ""

    @classmethod
    def from_source(cls, source: Source) -> SourceRef:
        hit = source.hit
        return cls(
            number=source.number,
            document_id=hit.document.id,
            file=hit.document.name,
            path=hit.document.path,
            page_start=hit.chunk.page_start,
            page_end=hit.chunk.page_end,
            page_label=hit.chunk.page_label,
            text=hit.chunk.text,
            similarity=hit.similarity,
            relevance=hit.relevance,
            context=hit.chunk.context,
        )

    @classmethod
    def from_meta(cls, data: Mapping[str, Any]) -> SourceRef | None:
        """None for an entry that is not a well-formed source (the file was edited by hand)."""
        try:
            similarity = data.get("similarity")
            relevance = data.get("relevance")
            return cls(
                number=int(data["n"]),
                document_id=str(data.get("document_id", "")),
                file=str(data["file"]),
                path=Path(str(data["path"])),
                page_start=int(data["page_start"]),
                page_end=int(data.get("page_end", data["page_start"])),
                page_label=str(data.get("page_label", "")),
                text=str(data.get("text", "")),
                similarity=float(similarity) if similarity is not None else None,
                relevance=float(relevance) if relevance is not None else None,
                context=str(data.get("context", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def to_meta(self) -> dict[str, Any]:
        return {
            "n": self.number,
            "document_id": self.document_id,
            "file": self.file,
            "path": str(self.path),
            "page_start": self.page_start,
            "page_end": self.page_end,
            "page_label": self.page_label,
            "text": self.text,
            # A plain float: llama.cpp's numpy floats are not JSON.
            "similarity": None if self.similarity is None else round(float(self.similarity), 4),
            "relevance": None if self.relevance is None else round(float(self.relevance), 4),
            "context": self.context,
        }

    @property
    def page_text(self) -> str:
        if self.page_end > self.page_start:
            page = f"pages {self.page_start}–{self.page_end}"
        else:
            page = f"page {self.page_start}"
        if self.page_label and self.page_label != str(self.page_start):
            page += f" (printed {self.page_label})"
        return page


def sources_from_meta(meta: Mapping[str, Any]) -> list[SourceRef]:
    entries = meta.get("sources")
    if not isinstance(entries, list):
        return []
    refs = [SourceRef.from_meta(entry) for entry in entries if isinstance(entry, Mapping)]
    return [ref for ref in refs if ref is not None]


def ground_question(
    question: str,
    hits: Sequence[LibraryHit],
    *,
    system_prompt: str,
    count_tokens: Callable[[str], int],
    token_budget: int,
    sources_wanted: int = SOURCES_PER_ANSWER,
    threshold: float = LIBRARY_COVERS,
) -> GroundedQuestion:
    """Number the best hits and fit as many as ``token_budget`` allows (best first)."""
    system = f"{system_prompt.strip()}\n\n{GROUNDING_INSTRUCTIONS}".strip()
    best = max((hit.relevance for hit in hits), default=0.0)
    if not hits or best < threshold:
        return GroundedQuestion(question, system, (), relevant=False, best_relevance=best)
    sources: list[Source] = []
    blocks: list[str] = []
    used = count_tokens(_compose([], question))
    for hit in hits[:sources_wanted]:
        source = Source(len(sources) + 1, hit)
        block = f"[{source.number}] {source.label}:\n{hit.chunk.text.strip()}"
        cost = count_tokens(block) + 2
        if used + cost > token_budget:
            break
        sources.append(source)
        blocks.append(block)
        used += cost
    return GroundedQuestion(
        _compose(blocks, question), system, tuple(sources), relevant=True, best_relevance=best
    )


def source_budget(context_length: int, max_tokens: int, system_prompt_tokens: int) -> int:
    """Tokens left for sources and the question: the window, less the answer's reserve, the
    instructions and a margin for the chat template's own tokens."""
    return context_length - max_tokens - system_prompt_tokens - 64


def ground_in_library(
    library: Library,
    question: str,
    *,
    documents: Sequence[str] | None,
    system_prompt: str,
    count_tokens: Callable[[str], int],
    token_budget: int,
    sources_wanted: int = SOURCES_PER_ANSWER,
    threshold: float = LIBRARY_COVERS,
) -> GroundedQuestion:
    """Search the library (or only ``documents``) and ground the question in what was found,
    noting which documents in scope are not fully indexed yet."""
    hits = library.search(question, k=sources_wanted, documents=documents)
    wanted = set(documents) if documents is not None else None
    pending = tuple(d.name for d in library.pending() if wanted is None or d.id in wanted)
    grounded = ground_question(
        question,
        hits,
        system_prompt=system_prompt,
        count_tokens=count_tokens,
        token_budget=token_budget,
        sources_wanted=sources_wanted,
        threshold=threshold,
    )
    quotes: tuple[Quote, ...] = ()
    if grounded.relevant:
        quotes = tuple(
            quotes_for(
                question,
                [evidence_source(source) for source in grounded.sources],
                library.keywords.term_weights(question),
            )
        )
    return replace(grounded, not_indexed=pending, quotes=quotes)


def evidence_source(source: Source | SourceRef) -> EvidenceSource:
    if isinstance(source, Source):
        chunk = source.hit.chunk
        return EvidenceSource(source.number, chunk.text, chunk.context, source.hit.relevance)
    return EvidenceSource(source.number, source.text, source.context, source.relevance or 0.0)


def quote_to_meta(quote: Quote) -> dict[str, Any]:
    return {"n": quote.source, "text": quote.text, "table": quote.table}


def quotes_from_meta(meta: Mapping[str, Any]) -> list[Quote]:
    entries = meta.get("quotes")
    if not isinstance(entries, list):
        return []
    quotes: list[Quote] = []
    for entry in entries:
        if isinstance(entry, Mapping) and isinstance(entry.get("text"), str):
            try:
                number = int(entry["n"])
            except (KeyError, TypeError, ValueError):
                continue
            quotes.append(Quote(number, entry["text"], str(entry.get("table", "")), 0.0))
    return quotes


def listing_order(sources: Sequence[SourceRef], cited: Sequence[int]) -> list[SourceRef]:
    """Sources as listed under an answer: those cited (by the model or matched by Folio), in
    order of first citation, then the rest by relevance, best first."""
    by_number = {source.number: source for source in sources}
    first = [by_number[number] for number in cited if number in by_number]
    rest = [source for source in sources if source.number not in set(cited)]
    rest.sort(key=lambda source: -(source.relevance if source.relevance is not None else -1.0))
    return first + rest


def not_indexed_notice(names: Sequence[str], shown: int = 3) -> str:
    """“Still being indexed, so passages may be missing: a.pdf, b.pdf and 3 more.”"""
    if not names:
        return ""
    listed = ", ".join(names[:shown])
    more = len(names) - shown
    if more > 0:
        listed += f" and {more} more"
    return f"Still being indexed, so passages may be missing: {listed}."


def cited_numbers(answer: str, valid: Iterable[int]) -> list[int]:
    """Source numbers the answer cites, in order of first mention, ignoring invented ones."""
    allowed = set(valid)
    seen: dict[int, None] = {}
    for match in _CITATION.finditer(answer):
        number = int(match.group(1))
        if number in allowed:
            seen.setdefault(number, None)
    return list(seen)


def linkify_citations(rendered_html: str, valid: Iterable[int], href: Callable[[int], str]) -> str:
    """Turn each valid “[n]” in rendered answer HTML into a link, leaving tags, attribute
    values, code and preformatted blocks alone."""
    allowed = set(valid)
    if not allowed:
        return rendered_html

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in allowed:
            return match.group(0)
        return f'<a href="{href(number)}">[{number}]</a>'

    pieces = _PROTECTED.split(rendered_html)
    return "".join(
        piece if piece.startswith("<") else _CITATION.sub(link, piece) for piece in pieces
    )


def _compose(blocks: Sequence[str], question: str) -> str:
    if not blocks:
        return question
    return "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"
