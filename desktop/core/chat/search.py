"""Finding chats by their words: the full-text index for whole words and word beginnings,
a literal substring for everything else, and a snippet of where each chat matched, with the
spans of the query's words in it (``snippet_marks``) for the window to mark."""

from __future__ import annotations

import functools
import re
import sqlite3
import unicodedata
from collections.abc import Sequence

WORD = re.compile(r"\w+")
# Queries made only of words (and quotes around them) go through the full-text index; anything
# with other punctuation ("c++", "a.b", "x=1") is meant literally, and splitting it into words
# would match far more than the user asked for.
WORDS_ONLY = re.compile(r"[\w\s\"'“”‘’]+")
QUOTES = "\"'“”‘’`"
LIKE_SPECIALS = re.compile(r"([\\%_])")
SNIPPET_RADIUS = 60

# (start, end) offsets of a match in a text, end excluded.
Span = tuple[int, int]


def query_parts(query: str) -> tuple[str, list[str]]:
    """The literal text to look for, and the words to match as word beginnings (none when the
    query holds punctuation other than quotes: then it is meant literally)."""
    needle = query.strip()
    literal = " ".join((needle.strip(QUOTES) or needle).split())
    words = WORD.findall(needle) if WORDS_ONLY.fullmatch(needle) else []
    return literal, words


def best_message_hits(
    connection: sqlite3.Connection, literal: str, words: Sequence[str]
) -> dict[int, int]:
    """For each visible chat with a matching message, the id of the message to quote.

    Messages that match both ways beat word-only matches, which beat substring-only ones;
    within a tier the full-text rank, then the earliest position, decides.
    """
    word_hits: dict[int, tuple[int, int]] = {}
    word_ranks: dict[int, float] = {}
    if words:
        match_expression = " ".join(f'"{word}"*' for word in words)
        try:
            rows = connection.execute(
                "SELECT m.id, m.conversation_id, m.position, bm25(messages_fts) AS rank"
                " FROM messages_fts"
                " JOIN messages AS m ON m.id = messages_fts.rowid"
                " JOIN conversations AS c ON c.id = m.conversation_id"
                " WHERE messages_fts MATCH ? AND c.deleted_at IS NULL",
                (match_expression,),
            ).fetchall()
        except sqlite3.OperationalError:
            rows = []
        word_hits = placements(rows)
        word_ranks = {int(row["id"]): float(row["rank"]) for row in rows}

    visible_messages = (
        "SELECT m.id, m.conversation_id, m.position FROM messages AS m"
        " JOIN conversations AS c ON c.id = m.conversation_id"
        " WHERE c.deleted_at IS NULL AND "
    )
    if literal.isascii():
        # LIKE folds ASCII case in C, which keeps the common search fast.
        pattern = "%" + LIKE_SPECIALS.sub(r"\\\1", literal) + "%"
        substring_rows = connection.execute(
            visible_messages + "m.content LIKE ? ESCAPE '\\'", (pattern,)
        ).fetchall()
    else:
        substring_rows = connection.execute(
            visible_messages + "instr(folio_fold(m.content), ?) > 0", (fold(literal),)
        ).fetchall()
    substring_hits = placements(substring_rows)

    best: dict[int, tuple[tuple[int, float, int], int]] = {}
    for message_id, (conversation_id, position) in (word_hits | substring_hits).items():
        in_words = message_id in word_hits
        in_substring = message_id in substring_hits
        tier = 0 if in_words and in_substring else 1 if in_words else 2
        key = (tier, word_ranks.get(message_id, 0.0), position)
        current = best.get(conversation_id)
        if current is None or key < current[0]:
            best[conversation_id] = (key, message_id)
    return {conversation_id: hit[1] for conversation_id, hit in best.items()}


def fold(text: str) -> str:
    """Lower-cased with accents removed, so "Café" and "cafe" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def title_matches(title: str, literal: str, words: Sequence[str]) -> bool:
    folded_title = fold(title)
    if fold(literal) in folded_title:
        return True
    if not words:
        return False
    title_words = WORD.findall(folded_title)
    return all(
        any(title_word.startswith(fold(word)) for title_word in title_words) for word in words
    )


def snippet(content: str, literal: str, words: Sequence[str]) -> str:
    """A one-line excerpt of ``content`` around the first match, cut at word boundaries."""
    text = " ".join(content.split())
    folded = _Folded(text)
    hits = folded.find(_literal_pattern(literal)) or folded.find(_words_pattern(words))
    start, end = hits[0] if hits else (0, 0)
    left = max(0, start - SNIPPET_RADIUS)
    right = min(len(text), end + SNIPPET_RADIUS)
    if left > 0:
        space = text.find(" ", left, start)
        if space != -1:
            left = space + 1
    if right < len(text):
        space = text.rfind(" ", end, right)
        if space != -1:
            right = space
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(text) else ""
    return f"{prefix}{text[left:right].strip()}{suffix}"


def snippet_marks(snippet_text: str, query: str) -> list[Span]:
    """Where the words of ``query`` are in a snippet of a chat it found, to be marked there."""
    literal, words = query_parts(query)
    return match_spans(snippet_text, literal, words)


def match_spans(text: str, literal: str, words: Sequence[str]) -> list[Span]:
    """Every place ``text`` matches as the search matches (case and accents aside): the literal
    text anywhere, and each word at the beginning of a word ("bud" in "budget"). Sorted, with
    overlapping spans joined."""
    folded = _Folded(text)
    spans = sorted(folded.find(_literal_pattern(literal)) + folded.find(_words_pattern(words)))
    joined: list[Span] = []
    for start, end in spans:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


class _Folded:
    """A text folded as ``fold`` folds it, remembering which character each folded one came
    from, so that a match in the folded text has its place in the original."""

    def __init__(self, text: str) -> None:
        if text.isascii():
            self.text = text.lower()
            self._origin: list[int] | None = None
            return
        pieces: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            folded = _fold_character(char)
            pieces.append(folded)
            origin.extend([index] * len(folded))
        self.text = "".join(pieces)
        self._origin = origin

    def find(self, pattern: str | None) -> list[Span]:
        if pattern is None:
            return []
        origin = self._origin
        return [
            (match.start(), match.end())
            if origin is None
            else (origin[match.start()], origin[match.end() - 1] + 1)
            for match in re.finditer(pattern, self.text)
            if match.end() > match.start()
        ]


@functools.lru_cache(maxsize=4096)
def _fold_character(char: str) -> str:
    # One character at a time folds as the whole text does: accents are characters of their own
    # once decomposed, and casefold looks at no neighbour.
    return fold(char)


def _literal_pattern(literal: str) -> str | None:
    needle = fold(literal)
    return re.escape(needle) if needle else None


def _words_pattern(words: Sequence[str]) -> str | None:
    # Longest first: of "bud" and "budget", "budget" is the one to mark in "budgets".
    needles = sorted({fold(word) for word in words if word}, key=len, reverse=True)
    if not needles:
        return None
    return rf"(?<!\w)(?:{'|'.join(re.escape(needle) for needle in needles)})"


def placements(rows: Sequence[sqlite3.Row]) -> dict[int, tuple[int, int]]:
    """Message id to (chat id, position)."""
    return {int(row["id"]): (int(row["conversation_id"]), int(row["position"])) for row in rows}
