"""Noticing an answer that has started to repeat itself, and where its first copy ends.

Small models fall into loops: a sentence, a line or a few tokens written again and again until
the length limit ("Costco operates gas stations. Costco operates gas stations. …"). Left alone,
such an answer buries whatever was right in it and costs the whole answer length in time. Two
signs are watched, both cheap per token:

- the newest tokens are one block said over and over: a block of ``period`` tokens repeated to
  cover at least ``REPEATS`` copies and ``MIN_SPAN`` tokens;
- a sentence or line of some length written for the ``SENTENCE_REPEATS``-th time, even with
  other sentences between the copies (a loop of several sentences, or one sampled with a little
  variety in between).

Legitimate repetition is shorter: a table's separator row, a list's "- ", a code block's closing
braces; the thresholds leave those alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_PERIOD = 100
REPEATS = 3
MIN_SPAN = 36
MIN_SENTENCE_CHARS = 24
SENTENCE_REPEATS = 3

# Where sentences and lines end; list numbering (“3. ”, “4) ”) is not part of what is said.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_LIST_NUMBER = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s*")


class RepetitionGuard:
    """Fed each generated token and the answer's text; says when the answer is looping."""

    def __init__(self) -> None:
        self._tokens: list[int] = []
        self._sentences: dict[str, int] = {}
        self._checked_chars = 0
        self.reason = ""

    def add_token(self, token: int) -> bool:
        """True once the newest tokens are a block repeated (see the module's description)."""
        tokens = self._tokens
        tokens.append(token)
        count = len(tokens)
        for period in range(1, min(MAX_PERIOD, count // REPEATS) + 1):
            if tokens[-1] != tokens[-1 - period]:
                continue
            span = max(REPEATS * period, MIN_SPAN)
            if span > count:
                continue
            tail = tokens[count - span :]
            if all(tail[index] == tail[index - period] for index in range(period, span)):
                self.reason = f"a block of {period} tokens repeated"
                return True
        return False

    def add_text(self, text: str) -> bool:
        """True once a sentence or line has been written ``SENTENCE_REPEATS`` times; ``text`` is
        the whole answer so far (only its completed sentences since the last call are read)."""
        pieces = _SENTENCE_END.split(text[self._checked_chars :])
        if len(pieces) < 2:
            return False
        # The last piece may still be growing: it is read once it has ended.
        complete = pieces[:-1]
        self._checked_chars = len(text) - len(pieces[-1])
        for sentence in complete:
            key = _sentence_key(sentence)
            if len(key) < MIN_SENTENCE_CHARS:
                continue
            seen = self._sentences.get(key, 0) + 1
            self._sentences[key] = seen
            if seen >= SENTENCE_REPEATS:
                self.reason = f"“{sentence.strip()[:60]}” written {seen} times"
                return True
        return False


def _sentence_key(sentence: str) -> str:
    return " ".join(_LIST_NUMBER.sub("", sentence).lower().split())


def without_repeats(text: str) -> str:
    """``text`` cut after the first copy of what it repeats at its end, or before the second
    copy of a sentence it writes again; unchanged when it does not repeat itself."""
    cut = _periodic_tail_start(text)
    if cut is None:
        cut = _second_sentence_copy(text)
    if cut is None:
        return text
    return text[:cut].rstrip()


def _periodic_tail_start(text: str, min_copies: int = 2, min_chars: int = 24) -> int | None:
    """Where the second copy starts of the shortest block the text ends with at least
    ``min_copies`` times over (its last copy may be cut short), the copies ``min_chars`` long
    or more together; None when the text does not end so."""
    length = len(text)
    for period in range(1, length // min_copies + 1):
        span = period
        while span < length and text[length - 1 - span] == text[length - 1 - span + period]:
            span += 1
        if span >= max(period * min_copies, min_chars):
            # The repeated stretch starts at length - span and its first copy ends one period
            # later, wherever in the block the stretch happened to start.
            first_copy_end = length - span + period
            return _to_boundary(text, first_copy_end, first_copy_end + period)
    return None


def _to_boundary(text: str, position: int, limit: int) -> int:
    """``position`` moved on to the end of a sentence, line or word, not past ``limit``: the
    first copy is kept whole, not cut inside a word."""
    ended = position
    while ended > 0 and text[ended - 1].isspace():
        ended -= 1
    if ended > 0 and text[ended - 1] in ".!?\n":
        return ended  # the copy ended a sentence just before the spaces
    for marks in (".!?\n", " "):
        for index in range(position, min(limit, len(text)) + 1):
            if index > 0 and text[index - 1] in marks:
                return index
    return position


def _second_sentence_copy(text: str) -> int | None:
    seen: set[str] = set()
    position = 0
    for piece in _sentences_with_offsets(text):
        sentence, start = piece
        key = _sentence_key(sentence)
        position = start
        if len(key) >= MIN_SENTENCE_CHARS:
            if key in seen:
                return position
            seen.add(key)
    return None


def _sentences_with_offsets(text: str) -> Sequence[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        found.append((text[start : match.start()], start))
        start = match.end()
    found.append((text[start:], start))
    return found
