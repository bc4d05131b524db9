"""Where a chat search matched: the spans of a snippet the window marks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.chat.messages import Role
from desktop.core.chat.search import match_spans, query_parts, snippet, snippet_marks
from desktop.core.chat.store import ConversationStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    opened = ConversationStore(tmp_path / "chats.db")
    yield opened
    opened.close()


def marked(text: str, query: str) -> list[str]:
    return [text[start:end] for start, end in snippet_marks(text, query)]


def test_a_word_is_marked_where_a_word_begins_with_it() -> None:
    text = "The Budget for the Budapest trip, and a rosebud."
    assert marked(text, "bud") == ["Bud", "Bud", "bud"], "the literal text matches anywhere too"
    assert marked(text, "budget trip") == ["Budget", "trip"]
    assert marked("What is the capital of France?", "capit france") == ["capit", "France"]


def test_the_longer_of_two_words_and_overlapping_matches_are_marked_once() -> None:
    text = "Budgets are plans."
    assert marked(text, "bud budget") == ["Budget"]
    assert snippet_marks(text, "budgets budget") == [(0, 7)]
    assert marked("aaaa", "aa") == ["aaaa"], "overlapping literal matches join"


def test_case_and_accents_are_ignored_as_the_search_ignores_them() -> None:
    assert marked("A Café in Zürich", "cafe zurich") == ["Café", "Zürich"]
    assert marked("a cafe in zurich", "CAFÉ") == ["cafe"]
    assert marked("Die Straße", "strasse") == ["Straße"]


def test_a_query_with_punctuation_is_marked_literally() -> None:
    text = "C and C++ and c++17"
    assert marked(text, "c++") == ["C++", "c++"]
    assert marked("x = a.b or a b", "a.b") == ["a.b"]
    assert marked('She said "hello there"', '"hello there"') == ["hello there"]


def test_nothing_is_marked_where_nothing_matched() -> None:
    assert snippet_marks("Nothing to see here", "zebra") == []
    assert snippet_marks("", "zebra") == []
    assert match_spans("some text", "", []) == []


def test_a_snippet_is_cut_around_a_match_without_its_accents() -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4
    content = f"{filler}We met at the Café Central at noon. {filler}"
    literal, words = query_parts("cafe")

    excerpt = snippet(content, literal, words)

    assert excerpt.startswith("…") and excerpt.endswith("…")
    assert marked(excerpt, "cafe") == ["Café"]


def test_the_store_finds_a_chat_and_its_snippet_marks_the_query(store: ConversationStore) -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 5
    chat = store.create_conversation("Money")
    store.add_message(chat, Role.USER, "How do I plan?")
    store.add_message(chat, Role.ASSISTANT, f"{filler}Start with a monthly budget. {filler}")

    for query, expected in (
        ("bud", ["bud"]),
        ("monthly budg", ["monthly budg"]),
        ("budget month", ["month", "budget"]),
    ):
        (hit,) = store.search(query)
        assert hit.id == chat
        spans = snippet_marks(hit.snippet, query)
        assert [hit.snippet[start:end] for start, end in spans] == expected, query
