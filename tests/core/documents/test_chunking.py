"""Cutting pages into passages that cite one page, keep table rows whole and know their section."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from desktop.core.documents.chunking import Chunk, chunk_pages, looks_like_heading
from desktop.core.documents.extract import PageText, open_document
from tests.support.documents import make_pdf

DOCUMENT_ID = "3f2a9c0d51b7e6a48c1d0e9f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
CHUNK_ID = re.compile(r"^(?P<prefix>[0-9a-f]{16}):(?P<page>\d+):(?P<n>\d+)$")

TOPICS = [
    "the warehouse in Rotterdam shipped spare parts to customers in Belgium",
    "the finance team closed the books two days earlier than last year",
    "the support desk answered most tickets within four business hours",
    "the design group replaced the old logo with a simpler green one",
    "the legal department renewed the office lease until the end of 2029",
    "the research lab tested a battery that charges in twelve minutes",
]


def prose(lines: int, *, seed: int = 0) -> str:
    """Distinct sentences, one per line, the way pypdf gives a page of body text."""
    return "\n".join(
        f"In paragraph {seed}-{index}, {TOPICS[(seed + index) % len(TOPICS)]}."
        for index in range(lines)
    )


def page(number: int, text: str, label: str | None = None) -> PageText:
    return PageText(number=number, label=label or str(number), text=text)


def chunks_of(pages: list[PageText], name: str = "Field Report", title: str = "") -> list[Chunk]:
    return list(
        chunk_pages(pages, document_id=DOCUMENT_ID, document_name=name, title=title),
    )


def test_chunks_never_cross_pages_and_cite_their_own_page() -> None:
    pages = [page(1, prose(30, seed=1), "iv"), page(2, prose(30, seed=2), "v"), page(3, prose(3))]

    chunks = chunks_of(pages)

    assert {chunk.page_start for chunk in chunks} == {1, 2, 3}
    assert len(chunks) > 3, "long pages are cut into several passages"
    by_number = {p.number: p for p in pages}
    for chunk in chunks:
        assert chunk.page_start == chunk.page_end
        source = by_number[chunk.page_start]
        assert chunk.page_label == source.label
        assert chunk.text in source.text, "a passage holds text of its page only"


def test_chunk_ids_are_stable_and_name_the_document_page_and_position() -> None:
    pages = [page(1, prose(30, seed=3)), page(2, prose(2, seed=4)), page(7, prose(30, seed=5))]

    first = chunks_of(pages)
    second = chunks_of(pages)

    assert [chunk.id for chunk in first] == [chunk.id for chunk in second]
    assert len({chunk.id for chunk in first}) == len(first)
    positions: dict[int, list[int]] = {}
    for chunk in first:
        match = CHUNK_ID.match(chunk.id)
        assert match is not None, chunk.id
        assert match["prefix"] == DOCUMENT_ID[:16]
        assert int(match["page"]) == chunk.page_start
        assert chunk.document_id == DOCUMENT_ID
        positions.setdefault(chunk.page_start, []).append(int(match["n"]))
    assert positions[1] == list(range(len(positions[1])))
    assert positions[7] == list(range(len(positions[7])))
    assert positions[2] == [0]


def test_char_offsets_point_at_the_passage_inside_its_page(tmp_path: Path) -> None:
    pdf = make_pdf(
        tmp_path / "minutes.pdf",
        [prose(40, seed=6), "SUMMARY\n" + prose(25, seed=7)],
    )
    with open_document(pdf) as document:
        pages = list(document.pages())

    chunks = chunks_of(pages)

    assert len(chunks) >= 4
    for chunk in chunks:
        text = pages[chunk.page_start - 1].text
        assert 0 <= chunk.char_start < chunk.char_end <= len(text)
        located = text[chunk.char_start : chunk.char_end]
        assert chunk.text.splitlines()[0] in located
        assert located.strip() == chunk.text


def test_a_table_of_figures_is_never_cut_inside_a_row() -> None:
    rows = [
        f"{2000 + year} {4_000 + 37 * year:,}.{year % 10} {1_500 + 11 * year:,} {year * 3.25:.2f}%"
        for year in range(90)
    ]
    table = "\n".join(rows)

    chunks = chunks_of([page(1, "Five-Year Summary\n" + table)])

    assert len(chunks) >= 3, "the table is long enough to need several passages"
    whole_lines = {"Five-Year Summary", *rows}
    for chunk in chunks:
        for line in chunk.text.splitlines():
            assert line in whole_lines, f"row cut in two: {line!r}"
    covered = {line for chunk in chunks for line in chunk.text.splitlines()}
    assert set(rows) <= covered, "every row is in some passage"


@pytest.mark.parametrize(
    "line",
    [
        "Item 7.",
        "Item 1A. Risk Factors",
        "2.1 Results",
        "3. Methods",
        "RISK FACTORS",
        "Results of Operations",
        "Notes to the Consolidated Financial Statements",
    ],
)
def test_headings_are_recognised(line: str) -> None:
    assert looks_like_heading(line)


@pytest.mark.parametrize(
    "line",
    [
        "Net revenue increased 12% to $4.2 billion in 2017, driven by cloud.",
        "The tenant shall pay rent on the first day of each month.",
        "2017 4,213.5 3,100.2 1,050.0",
        "and so on",
        "",
        "AB",
    ],
)
def test_sentences_and_table_rows_are_not_headings(line: str) -> None:
    assert not looks_like_heading(line)


@pytest.mark.parametrize(
    "heading", ["Item 7.", "2.1 Results", "RISK FACTORS", "Results of Operations"]
)
def test_a_heading_becomes_the_section_and_part_of_the_context(heading: str) -> None:
    chunks = chunks_of([page(1, f"{heading}\n{prose(4, seed=8)}")], name="ACME 2017 10K")

    assert len(chunks) == 1
    assert chunks[0].section == heading
    assert chunks[0].context == f"ACME 2017 10K — {heading}"
    assert chunks[0].indexed_text == f"ACME 2017 10K — {heading}\n{chunks[0].text}"


def test_a_section_carries_on_over_the_next_pages_until_the_next_heading() -> None:
    pages = [
        page(1, "Item 7. Management's Discussion\n" + prose(4, seed=9)),
        page(2, prose(5, seed=10)),
        page(3, "Item 8. Financial Statements\n" + prose(4, seed=11)),
        page(4, prose(5, seed=12)),
    ]

    sections = {chunk.page_start: chunk.section for chunk in chunks_of(pages)}

    assert sections == {
        1: "Item 7. Management's Discussion",
        2: "Item 7. Management's Discussion",
        3: "Item 8. Financial Statements",
        4: "Item 8. Financial Statements",
    }


def test_a_running_header_stops_being_a_section_once_seen_on_three_pages() -> None:
    headings = ["OVERVIEW", "Revenue by Region", "OPERATING EXPENSES", "Cash Flow", "OUTLOOK"]
    pages = [
        page(number, f"Table of Contents\n{heading}\n{prose(4, seed=number)}")
        for number, heading in enumerate(headings, start=1)
    ]

    chunks = chunks_of(pages)

    for chunk in chunks:
        if chunk.page_start >= 3:
            assert chunk.section == headings[chunk.page_start - 1]
            assert "Table of Contents" not in chunk.context


@pytest.mark.parametrize(
    ("furniture", "at_top"), [("Table of Contents", True), ("Page {n} of 5", False)]
)
def test_a_running_header_or_footer_is_not_the_section_of_later_pages(
    furniture: str, at_top: bool
) -> None:
    pages = []
    for number in range(1, 6):
        line = furniture.format(n=number)
        body = prose(4, seed=20 + number)
        pages.append(page(number, f"{line}\n{body}" if at_top else f"{body}\n{line}"))

    chunks = chunks_of(pages)

    late = [chunk for chunk in chunks if chunk.page_start >= 3]
    assert late
    assert all(chunk.section == "" for chunk in late), [chunk.section for chunk in late]


def test_numbered_chapter_headings_are_not_mistaken_for_page_furniture() -> None:
    pages = []
    for chapter in range(1, 6):
        pages.append(page(2 * chapter - 1, f"Chapter {chapter}\n{prose(4, seed=chapter)}"))
        pages.append(page(2 * chapter, prose(5, seed=40 + chapter)))

    sections = {chunk.page_start: chunk.section for chunk in chunks_of(pages)}

    assert sections == {number: f"Chapter {(number + 1) // 2}" for number in range(1, 11)}


def test_the_context_starts_with_the_document_name_and_includes_its_title() -> None:
    chunks = chunks_of(
        [page(1, "Results of Operations\n" + prose(4, seed=13)), page(2, prose(4, seed=14))],
        name="AMAZON 2017 10K",
        title="Amazon.com Annual Report",
    )

    assert [chunk.context for chunk in chunks] == [
        "AMAZON 2017 10K — Amazon.com Annual Report — Results of Operations",
        "AMAZON 2017 10K — Amazon.com Annual Report — Results of Operations",
    ]


def test_a_title_that_is_only_the_file_name_is_not_repeated() -> None:
    chunks = chunks_of([page(1, prose(3, seed=15))], name="lease", title="lease")

    assert chunks[0].context == "lease"


def test_a_digits_only_title_is_left_out_of_the_context() -> None:
    chunks = chunks_of(
        [page(1, prose(3, seed=16))], name="AAPL 2022 10K", title="0000004962-23-000006"
    )

    assert chunks[0].context == "AAPL 2022 10K"
    assert "0000004962" not in chunks[0].indexed_text


def test_pages_with_almost_no_text_give_no_passage() -> None:
    pages = [
        page(1, "12"),
        page(2, ""),
        page(3, "Figure 3\n\n  \n"),
        page(4, prose(2, seed=17)),
        page(5, "- 5 -"),
    ]

    chunks = chunks_of(pages)

    assert [chunk.page_start for chunk in chunks] == [4]


def test_consecutive_passages_on_a_long_page_share_some_text() -> None:
    text = prose(60, seed=18)

    chunks = chunks_of([page(1, text)])

    assert len(chunks) >= 3
    for before, after in itertools.pairwise(chunks):
        assert after.char_start < before.char_end, "the next passage starts inside this one"
        shared = set(before.text.splitlines()) & set(after.text.splitlines())
        assert shared, "a sentence at a cut is in both passages"
        assert after.char_start > before.char_start, "and still moves forward"
    assert chunks[-1].text.endswith(text.splitlines()[-1])


def test_a_passage_ends_before_a_heading_and_the_next_one_starts_with_it() -> None:
    # Lines of 66 characters: the first section's heading and eight lines come just short of a
    # passage's size, so the next heading would be the last line of the first passage.
    body = [f"{line[:65]:<65}" for line in prose(16, seed=30).splitlines()]
    text = "\n".join(["Revenue Overview", *body[:8], "Cost of Sales Overview", *body[8:]])

    chunks = chunks_of([page(1, text)])

    assert len(chunks) == 2
    assert chunks[0].text.splitlines()[-1] == body[7].strip()
    assert chunks[1].text.splitlines()[0] == "Cost of Sales Overview"
    assert [chunk.section for chunk in chunks] == ["Revenue Overview", "Cost of Sales Overview"]


# What the embedder reads


def test_the_embedder_reads_the_heading_words_but_not_identifiers() -> None:
    from desktop.core.documents.chunking import embedding_text

    text = embedding_text(
        "7c3f6204b3241f142f0f8eb8e1fefe7a — Harbour Survey — Results", "Results", "Body."
    )
    assert text == "Harbour Survey — Results\nBody."
    assert embedding_text("2312.10997v5 — TABLE I", "TABLE I", "Body.") == "TABLE I\nBody."
    assert embedding_text("ACME 2017 10K — ACME 2017 10K", "", "Body.") == "ACME 2017 10K\nBody."
    assert embedding_text("", "", "Body.") == "Body."


def test_the_embedder_reads_table_rows_without_their_amounts() -> None:
    from desktop.core.documents.chunking import embedding_text

    text = embedding_text(
        "ACME 2017 10K — Membership Fees",
        "Membership Fees",
        "Membership fees $ 3,877 $ 3,541 (1,155) 12.5%\n\nIn 2021, Item 7 lists 3 methods.",
    )
    body = text.split("\n", 1)[1]
    assert body == "Membership fees\nIn 2021, Item 7 lists 3 methods."


def test_chunks_give_the_embedder_their_cleaned_text_and_the_keywords_everything() -> None:
    chunks = chunks_of(
        [page(1, "Results of Operations\nNet sales $ 4,213 $ 3,100\n" + prose(3, seed=2))],
        name="ACME 2017 10K",
    )
    assert "4,213" in chunks[0].indexed_text
    assert "4,213" not in chunks[0].embedding_text
    assert chunks[0].embedding_text.startswith("ACME 2017 10K — Results of Operations\nNet sales")
