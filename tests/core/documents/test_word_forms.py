"""Keyword search by word stems and by the other names of what a question asks about."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from desktop.core.documents.chunking import Chunk
from desktop.core.documents.keyword_index import (
    KeywordIndex,
    index_terms,
    query_terms,
    reference_phrases,
)
from desktop.core.documents.search import name_words
from desktop.core.documents.synonyms import other_names


def passage(chunk_id: str, context: str, text: str) -> Chunk:
    page = int(chunk_id.split(":")[1])
    return Chunk(
        id=chunk_id,
        document_id=chunk_id.split(":")[0],
        page_start=page,
        page_end=page,
        page_label=str(page),
        char_start=0,
        char_end=len(text),
        section=context,
        text=text,
        context=context,
    )


FILING = [
    passage(
        "filing:40:0",
        "Annual Report — CONSOLIDATED BALANCE SHEETS — August 29, 2021 August 30, 2020",
        "Total current liabilities 29,441 24,844\nOther long-term liabilities 2,415 2,097",
    ),
    passage(
        "filing:38:0",
        "Annual Report — CONSOLIDATED STATEMENTS OF INCOME — 52 Weeks Ended 2021 2020",
        "Net sales $ 192,052 $ 163,220\nMerchandise costs 170,684 144,939",
    ),
    passage(
        "filing:22:0",
        "Annual Report — Item 5 — Market for Registrant's Common Equity",
        "The Company repurchased 1,358,000 shares of common stock during 2021.",
    ),
    passage(
        "filing:12:0",
        "Annual Report — Item 2 — Properties",
        "Property and equipment, net, consisted of land, buildings and equipment.",
    ),
]


@pytest.fixture
def filing() -> Iterator[KeywordIndex]:
    connection = sqlite3.connect(":memory:")
    index = KeywordIndex(connection)
    index.add(FILING)
    yield index
    connection.close()


def test_words_are_indexed_by_their_stems() -> None:
    assert index_terms(["liability", "liabilities"]) == [("liabil",), ("liabil",)]
    assert index_terms(["repurchases", "repurchased"])[0] == index_terms(["repurchased"])[0]
    # A figure with its separators is several terms, matched as a phrase.
    assert len(index_terms(["$192,052"])[0]) == 2


def test_a_question_keeps_one_word_per_stem() -> None:
    assert query_terms("liability and liabilities of the liable") == ["liability", "liable"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What were the total current liability figures?", "filing:40:0"),
        ("How many shares were repurchased?", "filing:22:0"),
        ("the repurchases of shares", "filing:22:0"),
    ],
)
def test_another_form_of_a_word_finds_the_passage(
    filing: KeywordIndex, query: str, expected: str
) -> None:
    assert filing.search(query, 5)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What does the income statement say about revenue?", "filing:38:0"),
        ("the P&L for 2021", "filing:38:0"),
        ("What was the value of PP&E?", "filing:12:0"),
    ],
)
def test_a_statement_asked_for_by_another_name_is_found(
    filing: KeywordIndex, query: str, expected: str
) -> None:
    assert filing.search(query, 5)[0] == expected


def test_other_names_are_the_rest_of_the_group_first_mention_first() -> None:
    names = other_names("Compare the P&L with the balance sheet")

    assert "statements of income" in names and "statement of financial position" in names
    assert names.index("statements of income") < names.index("statement of financial position")
    assert "p&l" not in names and "balance sheet" not in names


@pytest.mark.parametrize(
    "query",
    [
        "What is the capital of France?",
        "Write a haiku about autumn.",
        "Who repaired the heating?",
        "",
    ],
)
def test_questions_naming_no_statement_or_line_item_get_no_other_names(query: str) -> None:
    assert other_names(query) == []


def test_names_are_matched_as_whole_words_with_their_spelling_variants() -> None:
    assert "statements of income" in other_names("P & L")
    assert "balance sheet" in other_names("total shareholders’ equity")
    assert other_names("the statement of shareholders' equity")
    assert other_names("epsilon delta") == []  # "eps" inside a word is not earnings per share


def test_a_library_indexed_before_stemming_is_built_again_with_its_passages() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(
        """
        CREATE TABLE chunks (
            rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, document_id TEXT NOT NULL,
            page_start INTEGER NOT NULL, page_end INTEGER NOT NULL, page_label TEXT NOT NULL,
            char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, section TEXT NOT NULL,
            context TEXT NOT NULL, text TEXT NOT NULL, embedded INTEGER NOT NULL DEFAULT 0
        );
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            context, text, content='chunks', content_rowid='rowid',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts (rowid, context, text)
            VALUES (new.rowid, new.context, new.text);
        END;
        """
    )
    connection.execute(
        "INSERT INTO chunks (id, document_id, page_start, page_end, page_label, char_start,"
        " char_end, section, context, text) VALUES ('old:3:0', 'old', 3, 3, '3', 0, 30, '',"
        " 'Notes', 'Deferred tax liabilities rose.')"
    )
    connection.commit()

    index = KeywordIndex(connection)

    assert index.search("deferred tax liability", 5) == ["old:3:0"]
    index.add([passage("new:1:0", "Notes", "Lease liabilities are listed here.")])
    assert set(index.search("liability", 5)) == {"old:3:0", "new:1:0"}
    # Opening it again does not build it a second time.
    tokenizer_sql = connection.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'"
    ).fetchone()[0]
    KeywordIndex(connection)
    assert "porter" in tokenizer_sql
    assert index.search("liabilities", 5)


def test_a_figure_brings_the_statement_it_is_read_from() -> None:
    names = other_names("Does the company have an improving gross margin?")

    assert "statements of operations" in names and "cost of sales" in names
    assert "balance sheet" in other_names("What is the quick ratio at year end?")
    assert "statement of cash flows" in other_names("How large was free cash flow?")


def test_a_name_in_two_groups_brings_the_names_of_both() -> None:
    names = other_names("cost of sales")

    assert "cost of goods sold" in names and "gross profit" in names


def test_a_margin_question_finds_the_income_statement_page(filing: KeywordIndex) -> None:
    assert filing.search("Is the operating margin improving?", 5)[0] == "filing:38:0"


def test_a_document_is_also_named_by_the_short_form_of_its_name() -> None:
    words = name_words("AMERICANEXPRESS_2022_10K American Express Company")

    assert {"american", "express", "amex"} <= words
    assert "the" not in words and "am" not in words


def test_words_a_question_quotes_are_searched_as_the_exact_phrase() -> None:
    assert reference_phrases('Based on "PSEUDOCODE FOR RETRIEVAL METHODS", which is longer?') == [
        "pseudocode for retrieval methods"
    ]
    assert reference_phrases("the “Risk Factors” section") == ["risk factors"]
    # One quoted word is no phrase, and an apostrophe is no quotation mark.
    assert reference_phrases('What does "EBITDA" mean in Costco\'s report?') == []


def test_a_quoted_heading_finds_its_passage_among_ones_sharing_its_words() -> None:
    connection = sqlite3.connect(":memory:")
    index = KeywordIndex(connection)
    index.add(
        [
            passage("paper:4:0", "Paper", "Retrieval methods compared: tree and collapsed tree."),
            passage("paper:5:0", "Paper", "Methods for retrieval are discussed at length here."),
            passage("paper:18:0", "Paper", "PSEUDOCODE FOR RETRIEVAL METHODS\nAlgorithm 1 Tree"),
        ]
    )

    found = index.search_references('Based on "Pseudocode for retrieval methods", which?', 5)

    assert found == ["paper:18:0"]
    connection.close()
