"""Find a retrieved passage again in a page's text, to highlight it.

The passage was extracted by pypdf; the viewer reads the page with another engine (pdfium), so
whitespace, hyphenation, ligatures and even word order at column breaks differ. Rather than an
exact search, the longest run of words the two share is located and returned as a span of the
viewer's own text, which its search then finds exactly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

_WORD = re.compile(r"\w+", re.UNICODE)
# Shorter runs than this are too likely to be found by chance on another line.
MIN_WORDS = 4


@dataclass(frozen=True)
class PassageSpan:
    start: int
    end: int
    words: int


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKC", word).casefold()


def locate_passage(passage: str, page_text: str, max_words: int = 80) -> PassageSpan | None:
    """The span of ``page_text`` holding the longest run of ``passage``'s words (at most
    ``max_words``), or None when they share no run of at least ``MIN_WORDS`` words."""
    page_words = list(_WORD.finditer(page_text))
    passage_words = [_fold(m.group()) for m in _WORD.finditer(passage)]
    if not page_words or not passage_words:
        return None
    folded_page = [_fold(m.group()) for m in page_words]
    matcher = SequenceMatcher(None, passage_words, folded_page, autojunk=False)
    match = matcher.find_longest_match(0, len(passage_words), 0, len(folded_page))
    if match.size < min(MIN_WORDS, len(passage_words)):
        return None
    size = min(match.size, max_words)
    first, last = page_words[match.b], page_words[match.b + size - 1]
    return PassageSpan(first.start(), last.end(), size)


def search_phrase(page_text: str, span: PassageSpan) -> str:
    """The span as a one-line search string (line breaks become spaces, as viewers match them)."""
    return " ".join(page_text[span.start : span.end].split())
