"""Search by words and by meaning at once, fused by rank, one passage per page.

Vectors catch paraphrases that share no words with the question; keywords catch the names and
figures vectors blur. Reciprocal-rank fusion combines the two rankings without having to
calibrate BM25 scores against cosine similarities.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from desktop.core.documents.chunking import Chunk
from desktop.core.documents.keyword_index import STOPWORDS, KeywordIndex
from desktop.core.documents.relevance import coverage, relevance, text_stems
from desktop.core.documents.vector_index import VectorIndex

RRF_K = 60
# How many candidates each ranking contributes before fusion.
CANDIDATES = 50
REFERENCE_CANDIDATES = 10
# A word of a document's name or title names that document when at least this share of the
# library's passages using it belong to the document (“Boeing” in Boeing's filing, not
# “report”, which every document uses).
NAME_CONCENTRATION = 0.8
MIN_NAME_WORD = 3


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float
    keyword_rank: int | None
    vector_rank: int | None
    similarity: float | None
    # The one score shown to people (0 to 1, see relevance.py); ``score`` only orders.
    relevance: float = 0.0


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float], k: int = RRF_K
) -> list[tuple[str, float]]:
    scores: dict[str, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


def name_words(name: str) -> set[str]:
    """The words of a document's name or title that could name it in a question, and the
    short forms made of the beginnings of two of its words in a row (“AMEX” for American
    Express): questions use a company's abbreviation as often as its name."""
    words = [
        word
        for word in re.split(r"[^a-z]+", name.lower())
        if len(word) >= MIN_NAME_WORD and word not in STOPWORDS
    ]
    found = set(words)
    for first, second in itertools.pairwise(words):
        for head in (2, 3):
            for tail in (2, 3):
                found.add(first[:head] + second[:tail])
    return found


def question_words(query: str) -> set[str]:
    """The question's words, and each run of two or three of them written as one: file names
    squash names together (“BESTBUY”, “AMERICANEXPRESS”) that questions spell apart."""
    words = re.findall(r"[a-z]+", query.lower())
    found = set(words)
    for length in (2, 3):
        for start in range(len(words) - length + 1):
            found.add("".join(words[start : start + length]))
    return found


class HybridSearch:
    def __init__(
        self,
        keywords: KeywordIndex,
        vectors: VectorIndex,
        keyword_weight: float = 1.0,
        vector_weight: float = 1.0,
    ) -> None:
        self._keywords = keywords
        self._vectors = vectors
        self.keyword_weight = keyword_weight
        self.vector_weight = vector_weight

    def search(
        self,
        query: str,
        k: int = 10,
        documents: Sequence[str] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> list[SearchHit]:
        """The ``k`` best passages, one per page. With ``names`` (document id → its file name and
        title), a question that names documents (“Boeing's gross margin”) gets their passages
        first: generic wording otherwise matches whichever filing says it most often."""
        named = self.named_documents(query, names, documents) if names else []
        if not named:
            return self._search(query, k, documents)
        first = self._search(query, k, named)
        others = self._search(query, k, documents)
        rest = [hit for hit in others if hit.chunk.document_id not in named]
        return (first + rest)[:k]

    def named_documents(
        self, query: str, names: Mapping[str, str], documents: Sequence[str] | None = None
    ) -> list[str]:
        """The documents the question names by a word of their name or title that the library
        uses (almost) only in them."""
        candidates = names if documents is None else {d: names[d] for d in documents if d in names}
        if len(candidates) < 2:
            return []
        asked = question_words(query)
        named: list[str] = []
        for document, name in candidates.items():
            for word in sorted(name_words(name) & asked):
                use = self._keywords.passages_using(word)
                total = sum(use.values())
                if total == 0 or use.get(document, 0) / total >= NAME_CONCENTRATION:
                    named.append(document)
                    break
        # A question naming most of the library names none of it in particular.
        return named if len(named) <= len(candidates) // 2 else []

    def _search(self, query: str, k: int, documents: Sequence[str] | None) -> list[SearchHit]:
        # The two searches use different things (SQLite here, the embedder and Chroma there)
        # and both release the GIL while they work, so they run side by side.
        # A thread per search, not a pool: starting one costs microseconds against a search's
        # milliseconds, and nothing is left running between searches.
        found: list[list[tuple[str, float]]] = []
        failed: list[BaseException] = []

        def search_vectors() -> None:
            try:
                found.append(self._vectors.search(query, CANDIDATES, documents))
            except BaseException as error:  # handed to the caller's thread below
                failed.append(error)

        vector_thread = threading.Thread(target=search_vectors, name="folio-vector-search")
        vector_thread.start()
        keyword_ids = self._keywords.search(query, CANDIDATES, documents)
        vector_thread.join()
        if failed:
            raise failed[0]
        vector_hits = found[0]
        vector_ids = [chunk_id for chunk_id, _ in vector_hits]
        # Passages with a part the question names (“table II”) form a third ranking: a passage
        # found by its label and its words outranks one that is merely similar in both.
        reference_ids = self._keywords.search_references(query, REFERENCE_CANDIDATES, documents)
        similarity = dict(vector_hits)
        fused = reciprocal_rank_fusion(
            {"keyword": keyword_ids, "vector": vector_ids, "reference": reference_ids},
            {
                "keyword": self.keyword_weight,
                "vector": self.vector_weight,
                "reference": self.keyword_weight,
            },
        )
        stored = self._keywords.chunks([chunk_id for chunk_id, _ in fused])
        # One result per page: overlapping chunks of the same page would fill the list with
        # one place in the document, and a citation points at a page anyway.
        pages_seen: set[tuple[str, int]] = set()
        distinct: list[tuple[str, float]] = []
        for chunk_id, score in fused:
            chunk = stored.get(chunk_id)
            if chunk is None or (chunk.document_id, chunk.page_start) in pages_seen:
                continue
            pages_seen.add((chunk.document_id, chunk.page_start))
            distinct.append((chunk_id, score))
            if len(distinct) == k:
                break
        fused = distinct
        keyword_rank = {chunk_id: rank for rank, chunk_id in enumerate(keyword_ids)}
        vector_rank = {chunk_id: rank for rank, chunk_id in enumerate(vector_ids)}
        missing = [chunk_id for chunk_id, _ in fused if chunk_id not in similarity]
        if missing:
            similarity.update(self._vectors.similarities(query, missing))
        weights = self._keywords.term_weights(query)
        hits: list[SearchHit] = []
        for chunk_id, score in fused:
            chunk = stored[chunk_id]
            held = coverage(weights, text_stems(f"{chunk.context}\n{chunk.text}"))
            hits.append(
                SearchHit(
                    chunk=chunk,
                    score=score,
                    keyword_rank=keyword_rank.get(chunk_id),
                    vector_rank=vector_rank.get(chunk_id),
                    similarity=similarity.get(chunk_id),
                    relevance=relevance(similarity.get(chunk_id), held),
                )
            )
        return hits
