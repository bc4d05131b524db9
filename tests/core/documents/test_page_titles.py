"""A page's title block (a statement's name and its column heads) in every passage's context."""

from __future__ import annotations

import pytest

from desktop.core.documents.chunking import (
    chunk_pages,
    looks_like_column_header,
    looks_like_heading,
    page_title,
)
from desktop.core.documents.extract import PageText

DOCUMENT_ID = "c0ffee" * 10 + "abcd"

INCOME_STATEMENT = """COSTCO WHOLESALE CORPORATION
CONSOLIDATED STATEMENTS OF INCOME
(amounts in millions, except per share data)
52 Weeks Ended 52 Weeks Ended 53 Weeks Ended
August 29, 2021 August 30, 2020 September 1, 2019
REVENUE
Net sales $ 192,052 $ 163,220 $ 149,351
Membership fees 3,877 3,541 3,352
Total revenue 195,929 166,761 152,703
""" + "\n".join(
    f"Line item number {index} {index},{index:03d} {index},{index + 1:03d}"
    for index in range(1, 60)
)


def never_furniture(line: str) -> bool:
    return False


@pytest.mark.parametrize(
    "line",
    ["2022 2021 2020", "August 29, 2021 August 30, 2020", "52 Weeks Ended 2021", "Fiscal 2023"],
)
def test_years_and_dates_are_column_heads(line: str) -> None:
    assert looks_like_column_header(line)


@pytest.mark.parametrize(
    "line",
    ["Net sales $ 192,052 $ 163,220", "The Company opened 2021 and 2022 warehouses in Japan", ""],
)
def test_rows_and_sentences_are_not_column_heads(line: str) -> None:
    assert not looks_like_column_header(line)


def test_a_table_row_with_an_amount_is_not_a_heading() -> None:
    assert not looks_like_heading("TOTAL ASSETS $ 59,268")
    assert not looks_like_heading("Total Liabilities (3,200)")


def test_a_statement_page_is_titled_by_its_name_and_column_heads() -> None:
    title = page_title(INCOME_STATEMENT.splitlines(), never_furniture)

    assert title.startswith("COSTCO WHOLESALE CORPORATION — CONSOLIDATED STATEMENTS OF INCOME")
    assert "August 29, 2021 August 30, 2020" in title
    assert "amounts in millions" not in title and "192,052" not in title


def test_a_page_that_opens_in_running_text_has_no_title() -> None:
    lines = ["and so the lease continued on the same terms as before.", "Rent Review", "text"]

    assert page_title(lines, never_furniture) == ""


def test_page_furniture_is_skipped_before_the_title() -> None:
    lines = ["Table of Contents", "Notes to the Financial Statements", "Note 4 Income Taxes"]

    title = page_title(lines, lambda line: line == "Table of Contents")

    assert title == "Notes to the Financial Statements — Note 4 Income Taxes"


def test_every_passage_of_a_long_statement_page_carries_the_statement_name() -> None:
    page = PageText(number=38, label="38", text=INCOME_STATEMENT)

    chunks = list(
        chunk_pages([page], document_id=DOCUMENT_ID, document_name="Costco 10-K", title="")
    )

    assert len(chunks) >= 2
    for chunk in chunks:
        assert "CONSOLIDATED STATEMENTS OF INCOME" in chunk.context
        assert chunk.context.count("CONSOLIDATED STATEMENTS OF INCOME") == 1
    # The last passage holds only rows, yet keeps the statement and its years.
    assert "Net sales" not in chunks[-1].text
    assert "August 29, 2021" in chunks[-1].context
