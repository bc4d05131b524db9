"""How well a passage matches a question, on one scale from 0 to 1.

Search ranks passages by fusing two rankings, which says which passage is better but not whether
any is good: a fused score of 0.03 means nothing to a reader, and a cosine similarity of 0.6 is a
strong match for one question and a weak one for another. Relevance combines the two things a
reader would check — does the passage mean the same (the embedder's cosine similarity) and does
it contain what the question names (the share of the question's words, weighted by how rare they
are in the library, that the passage or its context line contains) — in a logistic curve fitted
to the evaluation questions: passages on an evidence page against the other candidates, and the
best candidates of prompts no library answers (a poem, a joke, general knowledge).

It is the one score the window, the CLI and the automatic documents mode read: above
``ANSWERS_LIKELY`` a passage usually answers the question; the automatic mode answers from the
library when its best passage reaches ``LIBRARY_COVERS``.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Set

from desktop.core.documents.keyword_index import index_terms

# Fitted by benchmarks/relevance_fit.py on the development questions and ordinary prompts.
BIAS = -4.44
SIMILARITY_WEIGHT = 6.97
COVERAGE_WEIGHT = 1.34
# A passage without a vector yet (still being embedded) is judged by its words, as if its meaning
# were as close as a typical candidate's.
TYPICAL_SIMILARITY = 0.35

ANSWERS_LIKELY = 0.5
LIBRARY_COVERS = 0.25

EXPLANATION = (
    "Relevance, from 0 to 1: how closely the passage's meaning matches the question, and how "
    "many of the question's rarer words it contains. Above 0.5 a passage usually answers the "
    "question; below 0.2 it is probably unrelated."
)

_WORD = re.compile(r"[\w$%.-]+", re.UNICODE)
_STEM_CACHE_LIMIT = 200_000


class _StemCache:
    """Each word's stems, asked of SQLite's tokenizer once: a library's vocabulary is small."""

    def __init__(self) -> None:
        self._stems: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def stems(self, text: str) -> frozenset[str]:
        words = {word.strip(".-") for word in _WORD.findall(text.lower())}
        words.discard("")
        with self._lock:
            missing = [word for word in words if word not in self._stems]
        if missing:
            found = dict(zip(missing, index_terms(missing), strict=True))
            with self._lock:
                if len(self._stems) > _STEM_CACHE_LIMIT:
                    self._stems.clear()
                self._stems.update(found)
        with self._lock:
            return frozenset(stem for word in words for stem in self._stems.get(word, ()))


_CACHE = _StemCache()


def text_stems(text: str) -> frozenset[str]:
    """The index terms (stems) of every word of ``text``."""
    return _CACHE.stems(text)


def coverage(weights: Mapping[str, float], stems: Set[str]) -> float:
    """The weighted share of the question's terms (``weights``: stem → weight) in ``stems``."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(weight for stem, weight in weights.items() if stem in stems) / total


def relevance(similarity: float | None, word_coverage: float) -> float:
    """The one relevance score, from 0 to 1."""
    meaning = TYPICAL_SIMILARITY if similarity is None else similarity
    logit = BIAS + SIMILARITY_WEIGHT * meaning + COVERAGE_WEIGHT * word_coverage
    return 1.0 / (1.0 + math.exp(-logit))


def describe(score: float) -> str:
    """“0.72”: the score as the window and the CLI print it."""
    return f"{score:.2f}"
