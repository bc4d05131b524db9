"""Answers tied to their evidence: the sources' own sentences that answer a question, and which
source each sentence of a model's answer repeats.

A 135M model seldom writes [n] and sometimes invents a clause beside a right figure. Two things
stay right whatever the model writes:

- **Evidence first.** The sentences (or table rows) of the sources that hold most of what the
  question asks, weighted by how rare each word is in the library, quoted with their source's
  number: the reader sees the figure in the document's own words before the model's paraphrase.
- **Attribution.** Each sentence of the answer that repeats a source's figure ("815", "$192,052")
  or a run of its wording gets that source's marker, unless the model already cited one. Markers
  the model wrote and markers Folio matched are kept apart, so the window can say which is which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from desktop.core.documents.chunking import looks_like_heading
from desktop.core.documents.keyword_index import STOPWORDS
from desktop.core.documents.relevance import coverage, text_stems

QUOTES_PER_ANSWER = 2
# A quote must hold at least this share of the question (weighted), and the second one at least
# this share of the first one's score: a weak second quote only distracts.
MIN_QUOTE_COVERAGE = 0.35
SECOND_QUOTE_SHARE = 0.75
MAX_QUOTE_CHARS = 400
# Words of the question that ask for an amount: such a question is answered by a figure.
_ASKS_FOR_AMOUNT = re.compile(
    r"\b(how (?:many|much|long|large|big)|what (?:was|were|is|are) the (?:total|amount|number|"
    r"value|cost|price|rate|percentage|share)|total|amount|number of|percentage|ratio|rate|"
    r"revenue|sales|income|margin|cost|price|size|count)\b",
    re.IGNORECASE,
)
# A figure as documents print it: 815, 192,052, $1.2, 3.5%, (3,200). Years are left out: a
# year names when, and nearly every passage of a report repeats it.
_FIGURE = re.compile(r"(?<![\w.])\$?\(?\d[\d,]*(?:\.\d+)?%?\)?(?![\w])")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_AMOUNT_LINE = re.compile(r"\d{1,3},\d{3}|\$\s*\d|\d%")
_BARE_NUMBER = re.compile(r"(?<![\w.,])\d+(?:\.\d+)?(?![\w.,]\d)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(\[])")
_CITATION = re.compile(r"\[(\d{1,3})\]")
_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_WORDS = re.compile(r"[a-z0-9][a-z0-9'&-]*")
# A run of this many words shared with a source, stopwords aside, ties a sentence to it.
PHRASE_WORDS = 4


@dataclass(frozen=True)
class EvidenceSource:
    """What evidence needs of a source: its number, its text and context line, its relevance."""

    number: int
    text: str
    context: str = ""
    relevance: float = 0.0


@dataclass(frozen=True)
class Quote:
    source: int
    text: str
    # For a table row: the table's title and column heads (from the passage's context line).
    table: str
    score: float


@dataclass(frozen=True)
class Attribution:
    """Which sources the answer's sentences come from."""

    # The answer with Folio's markers added, each as MATCHED_MARK + "[n]".
    text: str
    written: tuple[int, ...]  # markers the model wrote, valid ones, in order of first use
    matched: tuple[int, ...]  # markers Folio added, in order of first use
    reasons: Mapping[int, str]  # for each matched source: what the sentence repeats


# Put before a marker Folio added, so the view can show it unlike the model's own: a word
# joiner, invisible wherever the text is copied.
MATCHED_MARK = "\u2060"


def units(text: str) -> list[str]:
    """The quotable pieces of a passage: table rows as they are, prose lines joined into
    paragraphs and cut into sentences."""
    pieces: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            joined = re.sub(r"-\s+(?=[a-z])", "", " ".join(paragraph))
            pieces.extend(part.strip() for part in _SENTENCE_END.split(joined) if part.strip())
            paragraph.clear()

    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            flush()
        elif _is_row(line) or looks_like_heading(line):
            # A table row or a heading stands alone: joined to the prose around it, it would
            # make a “sentence” of a section title and a column of figures.
            flush()
            pieces.append(line)
        else:
            paragraph.append(line)
    flush()
    return [piece if len(piece) <= MAX_QUOTE_CHARS else _shorten(piece) for piece in pieces]


def _is_row(line: str) -> bool:
    """A table row: it ends in a figure, and holds an amount or several numbers (“Net sales
    $ 192,052 $ 163,220”, “Canada 89 16 105”); a line of prose that mentions figures goes on."""
    if len(line) > 160 or not re.search(r"[\d)%]$", line):
        return False
    return bool(_AMOUNT_LINE.search(line)) or len(_BARE_NUMBER.findall(line)) >= 2


def _shorten(piece: str) -> str:
    return piece[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0] + "…"


def quotes_for(
    question: str,
    sources: Sequence[EvidenceSource],
    weights: Mapping[str, float],
    limit: int = QUOTES_PER_ANSWER,
) -> list[Quote]:
    """The sentences of ``sources`` that answer ``question`` best (``weights``: the question's
    stems and their weights), at most one per source, best first; none when no sentence holds
    enough of the question."""
    if not weights:
        return []
    wants_amount = bool(_ASKS_FOR_AMOUNT.search(question))
    asked_figures = set(_figures(question))
    candidates: list[Quote] = []
    for source in sources:
        context_stems = text_stems(source.context)
        best: Quote | None = None
        for piece in units(source.text):
            stems = text_stems(piece)
            # The context line (document, statement, column heads) answers part of the
            # question too, at half weight: it is not what the quote itself says.
            held = coverage(weights, stems)
            around = coverage(weights, stems | context_stems) - held
            score = held + 0.5 * around
            new_figures = set(_figures(piece)) - asked_figures
            if wants_amount:
                score += 0.15 if new_figures else -0.15
            score *= 0.75 + 0.5 * source.relevance
            if not _is_row(piece) and not piece.rstrip('”")').endswith((".", "!", "?", ":")):
                # A sentence the passage cuts off (“… and sales at”) is a worse quote than
                # a whole one saying as much.
                score *= 0.85
            if best is None or score > best.score:
                is_row = bool(_AMOUNT_LINE.search(piece)) and not piece.endswith(".")
                best = Quote(
                    source.number, piece, _table_of(source.context) if is_row else "", score
                )
        if best is not None and best.score >= MIN_QUOTE_COVERAGE:
            candidates.append(best)
    candidates.sort(key=lambda quote: quote.score, reverse=True)
    if not candidates:
        return []
    top = candidates[0].score
    return [quote for quote in candidates[:limit] if quote.score >= SECOND_QUOTE_SHARE * top]


def _table_of(context: str) -> str:
    """The context line without the document's name: the statement and its column heads."""
    parts = context.split(" — ")
    return " — ".join(parts[1:]) if len(parts) > 1 else ""


def _figures(text: str) -> list[str]:
    """The figures of ``text``, normalised (“$192,052” and “192052” are one), years left out."""
    found: list[str] = []
    for match in _FIGURE.finditer(text):
        digits = re.sub(r"[^\d.]", "", match.group(0)).rstrip(".")
        if digits.endswith(".0"):
            digits = digits[:-2]
        if len(digits.replace(".", "")) < 2 or _YEAR.match(digits):
            continue
        found.append(digits)
    return found


def _content_words(text: str) -> list[str]:
    return [word for word in _WORDS.findall(text.lower()) if word not in STOPWORDS]


def attribute(answer: str, sources: Sequence[EvidenceSource]) -> Attribution:
    """Mark each sentence of ``answer`` that repeats a source's figure or wording with that
    source's number, where the model cited none; code is left alone."""
    valid = {source.number for source in sources}
    written: dict[int, None] = {}
    for match in _CITATION.finditer(answer):
        if int(match.group(1)) in valid:
            written.setdefault(int(match.group(1)), None)
    figures = {source.number: set(_figures(source.text)) for source in sources}
    phrases = {source.number: _phrases(source.text) for source in sources}
    words = {source.number: set(_content_words(source.text)) for source in sources}
    matched: dict[int, None] = {}
    reasons: dict[int, str] = {}
    pieces: list[str] = []
    position = 0
    for start, end in _sentence_spans(answer):
        sentence = answer[start:end]
        pieces.append(answer[position:start])
        position = end
        if _CITATION.search(sentence):
            pieces.append(sentence)
            continue
        found = _best_source(sentence, figures, phrases, words)
        if found is None:
            pieces.append(sentence)
            continue
        number, reason = found
        matched.setdefault(number, None)
        reasons.setdefault(number, reason)
        pieces.append(_with_marker(sentence, number))
    pieces.append(answer[position:])
    return Attribution("".join(pieces), tuple(written), tuple(matched), reasons)


def _phrases(text: str) -> set[tuple[str, ...]]:
    words = _content_words(text)
    return {tuple(words[i : i + PHRASE_WORDS]) for i in range(len(words) - PHRASE_WORDS + 1)}


def _best_source(
    sentence: str,
    figures: Mapping[int, set[str]],
    phrases: Mapping[int, set[tuple[str, ...]]],
    words: Mapping[int, set[str]],
) -> tuple[int, str] | None:
    """The source a sentence repeats: one holding a figure it states (of several, the one
    sharing most of its words), else the one sharing the most runs of its wording."""
    said = set(_content_words(sentence))
    for match in _FIGURE.finditer(sentence):
        for figure in _figures(match.group(0)):
            holders = [number for number, held in figures.items() if figure in held]
            if holders:
                best = max(holders, key=lambda number: (len(said & words[number]), -number))
                return best, f"repeats “{match.group(0).strip('()')}”"
    runs = _phrases(sentence)
    if not runs:
        return None
    shared = {number: len(runs & held) for number, held in phrases.items()}
    number, count = max(shared.items(), key=lambda pair: (pair[1], -pair[0]), default=(0, 0))
    if count == 0:
        return None
    return number, "repeats its wording"


def _sentence_spans(answer: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence outside code blocks."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for fence in [*_FENCE.finditer(answer), None]:
        stop = fence.start() if fence is not None else len(answer)
        segment = answer[cursor:stop]
        offset = cursor
        for line in re.finditer(r"[^\n]+", segment):
            line_start = offset + line.start()
            sentence_start = line_start
            for boundary in _SENTENCE_END.finditer(line.group(0)):
                spans.append((sentence_start, line_start + boundary.start()))
                sentence_start = line_start + boundary.end()
            spans.append((sentence_start, offset + line.end()))
        if fence is None:
            break
        cursor = fence.end()
    return [(start, end) for start, end in spans if answer[start:end].strip()]


def _with_marker(sentence: str, number: int) -> str:
    """The marker before the sentence's closing punctuation: “… 815 warehouses [1].”"""
    stripped = sentence.rstrip()
    trailing = sentence[len(stripped) :]
    marker = f"{MATCHED_MARK}[{number}]"
    if stripped and stripped[-1] in ".!?:;":
        return f"{stripped[:-1]} {marker}{stripped[-1]}{trailing}"
    return f"{stripped} {marker}{trailing}"
