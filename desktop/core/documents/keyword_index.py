"""Finding passages by their words: SQLite FTS5 over each passage's text and context.

Keyword search catches exact names, numbers and rare terms that embeddings blur. BM25 ranks the
matches, with the question's rarer words scored first when they alone settle the ranking. Words
are matched by their stem (Porter's, SQLite's own), so "liability" finds "liabilities" and
"repurchased" finds "repurchases": a question rarely uses the document's exact form of a word.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from desktop.core.documents.chunking import Chunk
from desktop.core.documents.synonyms import other_names

log = logging.getLogger(__name__)

# Below this many passages every search term is kept: a search is fast anyway.
MIN_PASSAGES_TO_PRUNE = 1000
# Passages the rarer terms of a question may match for them to be scored first (or a twentieth
# of the library, if more); FTS5's BM25 constants, for the bound on what common terms can add.
RARE_TERM_PASSAGES = 2000
BM25_K1 = 1.2

_TOKEN = re.compile(r"[\w$%.-]+", re.UNICODE)
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their theirs them then there these they
    this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours according based give describe explain
    """.split()  # noqa: SIM905 (a word list reads better as prose)
)

# FTS5's tokenizer: Porter stems over Unicode words, accents folded.
TOKENIZER = "porter unicode61 remove_diacritics 2"

CHUNK_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS chunks (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        document_id TEXT NOT NULL,
        page_start INTEGER NOT NULL,
        page_end INTEGER NOT NULL,
        page_label TEXT NOT NULL,
        char_start INTEGER NOT NULL,
        char_end INTEGER NOT NULL,
        section TEXT NOT NULL,
        text TEXT NOT NULL,
        context TEXT NOT NULL,
        embedded INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (document_id)",
    f"""
    CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
        context, text, content='chunks', content_rowid='rowid',
        tokenize='{TOKENIZER}'
    )
    """,
    # How many passages use each word: read to leave out words too common to rank by.
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row')",
    """
    CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, context, text) VALUES (new.rowid, new.context, new.text);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, context, text)
        VALUES ('delete', old.rowid, old.context, old.text);
    END
    """,
)


# The full-text index and its triggers, dropped and built again from the passages when the
# tokenizer changes (a library indexed before words were stemmed).
_FULL_TEXT_OBJECTS = ("chunks_ai", "chunks_ad", "chunks_vocab", "chunks_fts")


class _Stemmer:
    """Words as the full-text index stores them, from SQLite's own tokenizer (an in-memory FTS5
    table and its vocabulary), so that counts can be looked up by the index's own terms."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._conn.execute(f"CREATE VIRTUAL TABLE words USING fts5(word, tokenize='{TOKENIZER}')")
        self._conn.execute("CREATE VIRTUAL TABLE word_terms USING fts5vocab(words, 'instance')")

    def terms(self, words: Sequence[str]) -> list[tuple[str, ...]]:
        """The index terms of each word ("$192,052" is two: 192 and 052)."""
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT INTO words (rowid, word) VALUES (?, ?)", list(enumerate(words, 1))
            )
            rows = self._conn.execute(
                "SELECT doc, term FROM word_terms ORDER BY doc, offset"
            ).fetchall()
            self._conn.execute("DELETE FROM words")
        found: dict[int, list[str]] = {}
        for row, term in rows:
            found.setdefault(int(row), []).append(str(term))
        return [tuple(found.get(index, ())) for index in range(1, len(words) + 1)]


_STEMMER = _Stemmer()


def index_terms(words: Sequence[str]) -> list[tuple[str, ...]]:
    return _STEMMER.terms(words)


def _any_of(terms: Sequence[str]) -> str:
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _fts5_idf(passages: int, matching: int) -> float:
    """IDF as FTS5's bm25() computes it: log((N - n + 0.5) / (n + 0.5)), at least 1e-6."""
    idf = math.log((passages - matching + 0.5) / (matching + 0.5))
    return idf if idf > 0 else 1e-6


def query_terms(query: str) -> list[str]:
    """Words worth matching: lowercased, stopwords and one-letter tokens dropped, one word per
    stem (“liability” and “liabilities” are one term)."""
    seen: dict[str, None] = {}
    for raw in _TOKEN.findall(query.lower()):
        token = raw.strip(".-")
        if len(token) > 1 and token not in STOPWORDS:
            seen.setdefault(token, None)
    words = list(seen)
    kept: dict[tuple[str, ...], str] = {}
    for word, terms in zip(words, index_terms(words), strict=True):
        if terms:
            kept.setdefault(terms, word)
    return list(kept.values())


# “Table II”, “Figure 3”, “Section 4.2”, “Item 7A”, “Note 11”: a document's own labels for its
# parts. A question naming one means that exact part; as separate words (“table”, “ii”) they are
# too common for BM25 to single it out.
_REFERENCE = re.compile(
    r"\b(table|figure|fig\.|section|chapter|appendix|exhibit|item|note|part|schedule|step)"
    r"\s+(\d+(?:\.\d+)*[a-z]?|[ivxlc]+)\b",
    re.IGNORECASE,
)


# Words a question puts in quotation marks: a title, a heading or a term as the document
# writes it (“Based on "PSEUDOCODE FOR RETRIEVAL METHODS", …”), searched as the exact phrase.
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]{3,80})[\"“”„«»]")
MIN_QUOTED_WORDS = 2


def reference_phrases(query: str) -> list[str]:
    """The labelled references in a question (“table ii”, “figure 3”) and the phrases it
    quotes, lowercased."""
    seen: dict[str, None] = {}
    for quoted in _QUOTED.findall(query):
        words = re.findall(r"\w+", quoted.lower())
        if len(words) >= MIN_QUOTED_WORDS:
            seen.setdefault(" ".join(words), None)
    for kind, label in _REFERENCE.findall(query):
        kind, label = kind.lower(), label.lower()
        # Figures are labelled both ways in documents.
        kinds = ("figure", "fig") if kind in ("figure", "fig.") else (kind,)
        for name in kinds:
            seen.setdefault(f"{name} {label}", None)
    return list(seen)


class KeywordIndex:
    """BM25 over chunk text and context, in the library's SQLite file."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        with self._conn:
            rebuild = self._tokenizer_changed()
            for statement in CHUNK_SCHEMA:
                self._conn.execute(statement)
            if rebuild:
                log.info("building the keyword index again with stemmed words")
                self._conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild')")

    def _tokenizer_changed(self) -> bool:
        """Whether the full-text index was built with another tokenizer; it is then dropped
        (the passages stay) to be built again."""
        row = self._conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'"
        ).fetchone()
        if row is None or TOKENIZER in str(row[0]):
            return False
        for name in _FULL_TEXT_OBJECTS:
            kind = "TRIGGER" if name.startswith("chunks_a") else "TABLE"
            self._conn.execute(f"DROP {kind} IF EXISTS {name}")
        return True

    def add(self, chunks: Iterable[Chunk]) -> None:
        chunks = list(chunks)
        with self._conn:
            # A plain DELETE fires the trigger that removes old words from the full-text index;
            # INSERT OR REPLACE would not, and the old words would stay findable.
            self._conn.executemany("DELETE FROM chunks WHERE id = ?", [(c.id,) for c in chunks])
            self._conn.executemany(
                "INSERT INTO chunks (id, document_id, page_start, page_end, page_label,"
                " char_start, char_end, section, text, context)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        c.id,
                        c.document_id,
                        c.page_start,
                        c.page_end,
                        c.page_label,
                        c.char_start,
                        c.char_end,
                        c.section,
                        c.text,
                        c.context,
                    )
                    for c in chunks
                ],
            )

    def mark_embedded(self, chunk_ids: Sequence[str]) -> None:
        with self._conn:
            self._conn.executemany(
                "UPDATE chunks SET embedded = 1 WHERE id = ?", [(i,) for i in chunk_ids]
            )

    def remove_document(self, document_id: str) -> list[str]:
        with self._conn:
            ids = [
                row[0]
                for row in self._conn.execute(
                    "SELECT id FROM chunks WHERE document_id = ?", (document_id,)
                )
            ]
            self._conn.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        return ids

    def search(self, query: str, limit: int, documents: Sequence[str] | None = None) -> list[str]:
        words = query_terms(query)
        asked = len(words)
        # A question's names for statements and line items, and the names documents use.
        words += [name for name in other_names(query) if name not in words]
        counts, passages = self._passage_counts(words, asked)
        terms = list(counts)
        if not terms:
            return []
        match = _any_of(terms)
        first = self._ranked_by_rare_terms(match, counts, passages, limit, documents)
        if first is not None:
            return first
        return self._ranked(match, limit, documents, query)

    def term_weights(self, query: str) -> dict[str, float]:
        """The question's index terms (stems), each weighted by how rare it is in the library
        (BM25's IDF, kept above zero), for judging how much of a question a passage holds."""
        words = query_terms(query)
        stems = {stem for terms in index_terms(words) for stem in terms}
        if not stems:
            return {}
        passages = int(self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        weights: dict[str, float] = {}
        for stem in sorted(stems):
            row = self._conn.execute(
                "SELECT doc FROM chunks_vocab WHERE term = ?", (stem,)
            ).fetchone()
            using = int(row[0]) if row else 0
            weights[stem] = math.log(1.0 + (passages - using + 0.5) / (using + 0.5))
        return weights

    def _passage_counts(
        self, terms: list[str], asked: int | None = None
    ) -> tuple[dict[str, int], int]:
        """How many passages use each term, without the terms used by more than half of all
        passages; and how many passages there are. FTS5's BM25 gives such a term no weight at
        all (its IDF is below zero and clamped), so it cannot change the order; but matching it
        makes SQLite score nearly every passage, which at 100k passages is most of a search's
        time. A question made only of such words keeps them. Counts are -1 when not read
        (small libraries, one-word questions)."""
        if len(terms) < 2:
            return dict.fromkeys(terms, -1), 0
        passages = int(self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        if passages < MIN_PASSAGES_TO_PRUNE:
            return dict.fromkeys(terms, -1), passages
        counts: dict[str, int] = {}
        for term, stems in zip(terms, index_terms(terms), strict=True):
            if len(stems) != 1:
                # A phrase ("$192,052"): its passages are not counted in the vocabulary, and
                # counting it as rare is safe for the bound below (it is scored, not skipped).
                counts[term] = 0
                continue
            # One term at a time: the vocabulary table looks an equality up directly, while
            # an IN list would walk the whole vocabulary.
            row = self._conn.execute(
                "SELECT doc FROM chunks_vocab WHERE term = ?", (stems[0],)
            ).fetchone()
            counts[term] = int(row[0]) if row else 0
        kept = {term: count for term, count in counts.items() if count * 2 <= passages}
        # The question's own words decide: other names alone (the first ``asked`` terms are
        # the question's) do not stand in for words that were all too common.
        if not any(term in kept for term in terms[: len(terms) if asked is None else asked]):
            return counts, passages
        return kept, passages

    def _ranked_by_rare_terms(
        self,
        match: str,
        counts: Mapping[str, int],
        passages: int,
        limit: int,
        documents: Sequence[str] | None,
    ) -> list[str] | None:
        """The same ranking as scoring every match, when the question's rarer terms settle it.

        Scoring is what costs: a common term can match half the library. So the passages with
        at least one of the rarer terms are scored first (with every term of the question, as
        the full search would). A passage with none of them can score at most what the common
        terms could give at unbounded frequency: the sum of their IDF × (k1 + 1) in FTS5's
        BM25. If the last of the ``limit`` best already scores above that, no other passage
        can enter, and this is the answer; otherwise None, and every match is scored.
        """
        if passages <= 0 or any(count < 0 for count in counts.values()):
            return None
        by_rarity = sorted(counts, key=lambda term: counts[term])
        budget = max(RARE_TERM_PASSAGES, passages // 20)
        rare: list[str] = []
        covered = 0
        for term in by_rarity:
            if covered + counts[term] > budget:
                break
            rare.append(term)
            covered += counts[term]
        common = by_rarity[len(rare) :]
        if not rare or not common:
            return None
        bound = sum(_fts5_idf(passages, counts[term]) for term in common) * (BM25_K1 + 1)
        scored = self._scored(match, limit, documents, within=_any_of(rare))
        if len(scored) < limit or -scored[-1][1] <= bound * (1 + 1e-9):
            return None
        return [chunk_id for chunk_id, _ in scored]

    def _scored(
        self, match: str, limit: int, documents: Sequence[str] | None, within: str
    ) -> list[tuple[str, float]]:
        # "+rowid" keeps FTS5 from taking the IN list itself, which would look every one of
        # its rows up in the index again instead of filtering the matches it walks anyway.
        sql = (
            "SELECT rowid, bm25(chunks_fts, 2.0, 1.0) AS score FROM chunks_fts"
            " WHERE chunks_fts MATCH ?"
            " AND +rowid IN (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?)"
        )
        parameters: list[Any] = [match, within]
        if documents is not None:
            sql += (
                " AND +rowid IN (SELECT rowid FROM chunks WHERE document_id IN"
                f" ({','.join('?' * len(documents))}))"
            )
            parameters.extend(documents)
        sql += " ORDER BY score LIMIT ?"
        parameters.append(limit)
        sql = (
            f"SELECT c.id, ranked.score FROM ({sql}) AS ranked"
            " JOIN chunks AS c ON c.rowid = ranked.rowid ORDER BY ranked.score"
        )
        try:
            return [(row[0], float(row[1])) for row in self._conn.execute(sql, parameters)]
        except sqlite3.OperationalError:
            log.exception("keyword search failed for %r", match)
            return []

    def search_references(
        self, query: str, limit: int, documents: Sequence[str] | None = None
    ) -> list[str]:
        """Chunks holding a labelled reference of the question as an exact phrase."""
        phrases = reference_phrases(query)
        if not phrases:
            return []
        match = " OR ".join(f'text : "{phrase}"' for phrase in phrases)
        return self._ranked(match, limit, documents, query)

    def _ranked(
        self, match: str, limit: int, documents: Sequence[str] | None, query: str
    ) -> list[str]:
        # Ranked inside the full-text index first and joined to the passages only for the
        # few kept: joining every match before the LIMIT costs as much again as ranking.
        sql = (
            "SELECT rowid, bm25(chunks_fts, 2.0, 1.0) AS score FROM chunks_fts"
            " WHERE chunks_fts MATCH ?"
        )
        parameters: list[Any] = [match]
        if documents is not None:
            sql += (
                " AND +rowid IN (SELECT rowid FROM chunks WHERE document_id IN"
                f" ({','.join('?' * len(documents))}))"
            )
            parameters.extend(documents)
        # The context (document, section) counts twice as much as a word in the passage.
        sql += " ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT ?"
        parameters.append(limit)
        sql = f"SELECT c.id FROM ({sql}) AS ranked JOIN chunks AS c ON c.rowid = ranked.rowid"
        try:
            return [row[0] for row in self._conn.execute(sql, parameters)]
        except sqlite3.OperationalError:
            log.exception("keyword search failed for %r", query)
            return []

    def passages_using(self, word: str) -> dict[str, int]:
        """How many passages of each document use ``word`` in their text (not their context)."""
        rows = self._conn.execute(
            "SELECT c.document_id, COUNT(*) FROM chunks_fts JOIN chunks AS c"
            " ON c.rowid = chunks_fts.rowid WHERE chunks_fts MATCH ? GROUP BY c.document_id",
            ['text : "' + word.replace('"', '""') + '"'],
        ).fetchall()
        return {str(document): int(count) for document, count in rows}

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        rows = self._conn.execute(
            "SELECT id, document_id, page_start, page_end, page_label, char_start, char_end,"
            f" section, text, context FROM chunks WHERE id IN ({','.join('?' * len(chunk_ids))})",
            list(chunk_ids),
        ).fetchall()
        return {row[0]: Chunk(*row) for row in rows}

    def count(self, document_id: str) -> int:
        return int(
            self._conn.execute(
                "SELECT COUNT(*) FROM chunks WHERE document_id = ?", (document_id,)
            ).fetchone()[0]
        )

    def unembedded(self, document_id: str) -> list[Chunk]:
        """The document's chunks that have no vector yet, in document order."""
        rows = self._conn.execute(
            "SELECT id, document_id, page_start, page_end, page_label, char_start, char_end,"
            " section, text, context FROM chunks WHERE document_id = ? AND embedded = 0"
            " ORDER BY rowid",
            (document_id,),
        ).fetchall()
        return [Chunk(*row) for row in rows]
