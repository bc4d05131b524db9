"""What a document is called: a real metadata title, else its first heading, else its file name.

Headings are read from PDFs written byte by byte with lines in the sizes and weights real ones
use (a 24-point title over 10-point body text, a letterhead over an address, a filing stamp,
an arXiv stamp in the margin), and from printed lines given directly.
"""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest

from desktop.core.documents.extract import PageText, clean_page_text, open_document
from desktop.core.documents.titles import (
    Heading,
    PrintedLine,
    display_title,
    first_heading,
    heading_of_page,
    looks_like_real_title,
    text_and_heading,
    title_from_file_name,
)
from tests.support.documents import Line, make_pdf

BODY = "The committee met twice this year to review the budget and the plans for next year."


def headings_of(path: Path) -> list[Heading | None]:
    with open_document(path) as document:
        return [page.heading for page in document.pages()]


def lines(*specs: tuple[str, float]) -> list[PrintedLine]:
    """Printed lines from the top of a page down, each a little lower than the one before."""
    printed, y = [], 740.0
    for text, size in specs:
        y -= size * 1.2
        printed.append(PrintedLine(text, size, y=y))
    return printed


# Titles from metadata


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "untitled",
        "Untitled-3",
        "Document1",
        "Presentation1",
        "Book1",
        "Microsoft Word - doc1.docx",
        "Microsoft PowerPoint - Q3 review.pptx",
        "scan0001.pdf",
        "\ufffd\ufffd",
        "Report \ufffd final",
        "C:\\Users\\ann\\Desktop\\report.doc",
        "C:/Users/ann/report",
        "/home/ann/reports/q3",
        "~/Documents/plans/q3",
        "https://example.com/reports/q3",
        "NNNEEEBBB",
        "NNNEEEBBBRRRAAASSSKKKAAA HHHIIISSSTTTOOORRRIIICCC",
        "20240131",
        "0001018724-18-000005",
        "2312.10997v5",
        "a4f3ced0696009fec3179f493e4f28c4",
        "Business_Plan_v2",
        "Table of Contents",
        "CONTENTS",
        "FORM 10-K",
        "Page 3 of 12",
        "Chapter 1",
        "DRAFT VERSION OCTOBER 28, 2025",
        "EFiled: Jan 14 2013 09:42AM EST",
        "The tenant shall pay the rent on the first day of each month " * 5,
    ],
)
def test_junk_is_not_a_title(junk: str) -> None:
    assert not looks_like_real_title(junk)


@pytest.mark.parametrize(
    "title",
    [
        "Quarterly Report — Q3 2024",
        "Annual Report 2017",
        "RAPTOR: Recursive Abstractive Processing for Tree-Organized Retrieval",
        "GPT-4 Technical Report",
        "World War III",
        "AC/DC",
        "Ünïcödé — 契約書 (final)",
        "Minutes of the board meeting of March 3, 2020",
        "MMDetection",
    ],
)
def test_real_titles_are_titles(title: str) -> None:
    assert looks_like_real_title(title)


def test_an_overprinted_metadata_title_is_junk_although_cleaning_would_mend_it(
    tmp_path: Path,
) -> None:
    path = make_pdf(tmp_path / "survey.pdf", ["Body"], title="NNNEEEBBBRRRAAASSSKKKAAA")

    with open_document(path) as document:
        assert document.title == "survey"


def test_the_file_name_title_is_the_stem_with_separators_as_spaces() -> None:
    assert title_from_file_name("AMAZON_2017_10K.pdf") == "AMAZON 2017 10K"
    assert title_from_file_name(Path("q3__final-v2.pdf")) == "q3 final v2"


def test_the_title_shown_is_the_metadata_then_the_heading_then_the_file_name() -> None:
    hashed = "a4f3ced0696009fec3179f493e4f28c4.pdf"
    assert display_title("Residential Lease", "LEASE AGREEMENT", "lease.pdf") == (
        "Residential Lease"
    )
    # No metadata title: extraction stored the file name as the title.
    assert display_title(title_from_file_name(hashed), "Court of Appeals", hashed) == (
        "Court of Appeals"
    )
    # Junk stored by a library indexed before it was recognised as junk.
    assert display_title("0001018724-18-000005", "AMAZON.COM, INC.", "AMAZON_2017_10K.pdf") == (
        "AMAZON.COM, INC."
    )
    assert display_title("Microsoft Word - doc1.docx", "", "budget_2024.pdf") == "budget 2024"
    assert display_title("", "", hashed) == "a4f3ced0696009fec3179f493e4f28c4"


# Headings of printed pages


def test_the_largest_type_is_the_heading_and_a_title_over_two_lines_is_one(
    tmp_path: Path,
) -> None:
    path = make_pdf(
        tmp_path / "a4f3ced0696009fec3179f493e4f28c4.pdf",
        [
            [
                Line("1", 9),
                Line("Retrieval-Augmented Generation for Large", 24),
                Line("Language Models: A Survey", 24),
                Line("Yunfan Gao, Yun Xiong and Haofen Wang", 11),
                Line(BODY, 10),
                Line(BODY, 10),
            ],
            BODY,
        ],
    )

    first, second = headings_of(path)

    assert first == Heading(
        "Retrieval-Augmented Generation for Large Language Models: A Survey", 2.4
    )
    assert second is None, "a page of body text has no heading"


def test_a_stamp_turned_in_the_margin_is_not_the_heading(tmp_path: Path) -> None:
    path = make_pdf(
        tmp_path / "2401.18059v1.pdf",
        [
            [
                Line("arXiv:2401.18059v1 [cs.CL] 31 Jan 2024", 30, rotated=True),
                Line("RAPTOR: Recursive Abstractive Processing", 17),
                Line(BODY, 10),
            ]
        ],
    )

    heading = headings_of(path)[0]

    assert heading is not None and heading.text == "RAPTOR: Recursive Abstractive Processing"


def test_a_letterhead_and_the_name_of_the_form_give_way_to_the_company() -> None:
    page = lines(
        ("UNITED STATES", 10),
        ("SECURITIES AND EXCHANGE COMMISSION", 10),
        ("Washington, D.C. 20549", 7),
        ("FORM 10-K", 10),
        ("ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d)", 6.5),
        ("BEST BUY CO., INC.", 10),
        ("(Exact name of registrant as specified in its charter)", 6.5),
        *[(BODY, 6.5)] * 8,
    )

    assert heading_of_page(page) == Heading("BEST BUY CO., INC.", 1.54)


def test_a_filing_stamp_and_a_docket_number_are_not_headings() -> None:
    page = lines(
        ("EFiled: Jan 14 2013 09:42AM EST", 12),
        ("Filing ID 48897809", 12),
        ("No. 21-13199", 14),
        *[(BODY, 10)] * 6,
    )

    assert heading_of_page(page) is None


def test_a_contents_page_has_no_title() -> None:
    page = lines(("Contents", 22), *[(f"Chapter {n} {'.' * 20} {n * 7}", 12) for n in range(9)])

    assert heading_of_page(page) is None


def test_a_cover_takes_its_largest_type_although_it_is_most_of_the_page() -> None:
    page = lines(("MMDetection", 24.8), ("Release 2.18.0", 17.2), ("MMDetection Authors", 17.2))

    assert heading_of_page(page) == Heading("MMDetection", 1.46)


def test_a_heading_cut_inside_a_parenthesis_keeps_what_came_before() -> None:
    page = lines(
        ("BUSINESS MANAGEMENT AND ENTREPRENEURSHIP (Articulated course with Chaffey", 14),
        ("College, in partnership with CSUSB)", 11),
        *[(BODY, 11)] * 6,
    )

    heading = heading_of_page(page)

    assert heading is not None and heading.text == "BUSINESS MANAGEMENT AND ENTREPRENEURSHIP"


def test_a_page_printed_in_one_size_has_its_first_line_in_capitals_as_heading(
    tmp_path: Path,
) -> None:
    lease = make_pdf(
        tmp_path / "lease.pdf",
        ["RESIDENTIAL LEASE AGREEMENT\nThe tenant shall pay rent of 1,200 dollars."],
    )
    letter = make_pdf(tmp_path / "letter.pdf", ["Dear tenant,\nThe rent is due on Monday."])

    assert headings_of(lease) == [Heading("RESIDENTIAL LEASE AGREEMENT", 1.0)]
    assert headings_of(letter) == [None]


def test_a_bold_first_line_is_a_heading_but_a_bold_sentence_is_not() -> None:
    body = [PrintedLine(BODY, 11, y=700 - 14 * row) for row in range(1, 5)]

    titled = heading_of_page([PrintedLine("Notice of Annual Meeting", 11, bold=True, y=720), *body])
    sentence = heading_of_page(
        [PrintedLine("Please read this notice carefully.", 11, bold=True, y=720), *body]
    )

    assert titled == Heading("Notice of Annual Meeting", 1.0)
    assert sentence is None


def test_words_drawn_one_by_one_keep_the_spaces_between_them(tmp_path: Path) -> None:
    path = make_pdf(
        tmp_path / "course.pdf",
        [[Line("BUSINESS MANAGEMENT AND ENTREPRENEURSHIP", 14, word_by_word=True), Line(BODY, 11)]],
    )

    heading = headings_of(path)[0]

    assert heading is not None and heading.text == "BUSINESS MANAGEMENT AND ENTREPRENEURSHIP"


def test_a_drawing_without_text_is_left_out_of_the_pass_and_the_text_is_the_same(
    tmp_path: Path,
) -> None:
    # A map drawn as one large form that shows no text, and a small form that does.
    city_map = b"0 0 m 100 100 l S\n" * 20_000
    caption = b"BT /F1 8 Tf 72 100 Td (Map of the city) Tj ET"
    path = make_pdf(
        tmp_path / "brief.pdf",
        [[Line("Rezonings and Growth", 30), Line(BODY, 10)]],
        drawings=[city_map, caption],
    )
    reader = pypdf.PdfReader(path)

    text, heading = text_and_heading(reader.pages[0], clean_page_text)

    assert text == reader.pages[0].extract_text()
    assert "Map of the city" in text
    assert heading == Heading("Rezonings and Growth", 3.0)


# The heading of a document


def page(text: str, heading: Heading | None) -> PageText:
    return PageText(number=1, label="1", text=text, heading=heading)


def test_a_plain_heading_that_comes_back_on_the_next_page_is_a_running_header() -> None:
    header = "PUBLISHED AS A CONFERENCE PAPER AT ICLR 2024"
    pages = [
        page(f"{header}\nText of the first page", Heading(header, 1.0)),
        page(f"{header}\nText of the second page", None),
    ]

    assert first_heading(pages) == ""


def test_a_large_title_repeated_at_the_top_of_every_page_is_still_the_title() -> None:
    title = "How Have Recent Rezonings Affected the City's Ability to Grow?"
    pages = [
        page(f"{title}\nIn October 2009 …", Heading(title, 3.4)),
        page(f"{title}\nOverview of rezoning activity", Heading("Overview", 1.8)),
    ]

    assert first_heading(pages) == title


def test_a_cover_without_text_gives_way_to_the_heading_of_the_second_page() -> None:
    pages = [page("", None), page("ANNUAL REPORT\n…", Heading("Annual Report 2017", 2.0))]

    assert first_heading(pages) == "Annual Report 2017"
