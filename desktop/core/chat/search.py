"""Finding chats by their words: the full-text index for whole words and word beginnings,
a literal substring for everything else, and a snippet of where each chat matched."""

from __future__ import annotations

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
    match = re.search(re.escape(literal), text, re.IGNORECASE)
    if match is None and words:
        alternatives = "|".join(re.escape(word) for word in words)
        match = re.search(rf"(?<!\w)(?:{alternatives})", text, re.IGNORECASE)
    start, end = (match.start(), match.end()) if match else (0, 0)
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


def placements(rows: Sequence[sqlite3.Row]) -> dict[int, tuple[int, int]]:
    """Message id to (chat id, position)."""
    return {int(row["id"]): (int(row["conversation_id"]), int(row["position"])) for row in rows}
