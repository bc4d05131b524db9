"""Quoting the sources' own sentences, and tying the answer's sentences to the sources."""

from __future__ import annotations

from desktop.core.chat.evidence import (
    MATCHED_MARK,
    EvidenceSource,
    attribute,
    quotes_for,
    units,
)
from desktop.core.documents.keyword_index import query_terms
from desktop.core.documents.relevance import text_stems

BUSINESS = EvidenceSource(
    1,
    "Costco Wholesale Corporation and its subsidiaries operate membership\n"
    "warehouses based on the concept that offering members low prices\n"
    "on a limited selection of products will produce high sales volumes.\n"
    "At August 29, 2021, Costco operated 815 warehouses worldwide: 564 in the United\n"
    "States and Puerto Rico, 105 in Canada, 40 in Mexico.\n",
    "Costco 10-K — Item 1 — Business",
    0.8,
)
INCOME = EvidenceSource(
    2,
    "REVENUE\nNet sales $ 192,052 $ 163,220 $ 149,351\nMembership fees 3,877 3,541 3,352\n"
    "Total revenue 195,929 166,761 152,703",
    "Costco 10-K — CONSOLIDATED STATEMENTS OF INCOME — August 29, 2021 August 30, 2020",
    0.7,
)
RISKS = EvidenceSource(
    3,
    "We are highly dependent on the financial performance of our U.S. and Canadian\n"
    "operations, and weather and natural disasters may affect our results.",
    "Costco 10-K — Item 1A — Risk Factors",
    0.4,
)


def weights(question: str) -> dict[str, float]:
    """The question's terms, all equally rare (the library weighs them by rarity)."""
    return dict.fromkeys(text_stems(" ".join(query_terms(question))), 1.0)


def test_prose_becomes_sentences_and_table_rows_stay_whole() -> None:
    pieces = units(BUSINESS.text + "\n" + INCOME.text)

    assert (
        "At August 29, 2021, Costco operated 815 warehouses worldwide: 564 in the United "
        "States and Puerto Rico, 105 in Canada, 40 in Mexico." in pieces
    )
    assert "Net sales $ 192,052 $ 163,220 $ 149,351" in pieces
    assert all("\n" not in piece for piece in pieces)


def test_the_sentence_holding_the_figure_asked_for_is_quoted_first() -> None:
    question = "How many membership warehouses did Costco operate at the end of 2021?"

    quotes = quotes_for(question, [RISKS, INCOME, BUSINESS], weights(question))

    assert quotes and quotes[0].source == 1
    assert "815 warehouses" in quotes[0].text
    assert all(quote.source != 3 for quote in quotes)


def test_a_table_row_is_quoted_with_its_statement_and_columns() -> None:
    question = "What were Costco net sales in 2021?"

    quotes = quotes_for(question, [BUSINESS, INCOME, RISKS], weights(question))

    assert quotes[0].source == 2
    assert quotes[0].text == "Net sales $ 192,052 $ 163,220 $ 149,351"
    assert quotes[0].table.startswith("CONSOLIDATED STATEMENTS OF INCOME")
    assert "August 29, 2021" in quotes[0].table


def test_nothing_is_quoted_when_no_sentence_holds_the_question() -> None:
    question = "What is the boiling point of mercury?"

    assert quotes_for(question, [BUSINESS, INCOME], weights(question)) == []
    assert quotes_for("anything", [BUSINESS], {}) == []


def test_a_sentence_repeating_a_figure_gets_that_source_s_marker() -> None:
    answer = "Costco had 815 warehouses. Its net sales were $192,052 million. It is a big company."

    attribution = attribute(answer, [BUSINESS, INCOME, RISKS])

    assert attribution.matched == (1, 2) and attribution.written == ()
    assert f"815 warehouses {MATCHED_MARK}[1]." in attribution.text
    assert f"$192,052 million {MATCHED_MARK}[2]." in attribution.text
    assert attribution.text.endswith("It is a big company.")
    assert "815" in attribution.reasons[1]


def test_a_sentence_repeating_a_run_of_wording_is_matched_too() -> None:
    answer = "The company is highly dependent on the financial performance of its operations"

    attribution = attribute(answer, [BUSINESS, RISKS])

    assert attribution.matched == (3,)
    assert attribution.text.endswith(f"operations {MATCHED_MARK}[3]")


def test_markers_the_model_wrote_are_kept_and_not_doubled() -> None:
    answer = "Costco operated 815 warehouses [1]. Net sales were 192,052 [9]."

    attribution = attribute(answer, [BUSINESS, INCOME])

    assert attribution.written == (1,)
    assert attribution.matched == ()  # the second sentence already cites (an invented) [9]
    assert attribution.text == answer


def test_years_and_code_are_not_evidence() -> None:
    answer = "In 2021 things changed.\n```\nwarehouses = 815\n```\nThat is all."

    attribution = attribute(answer, [BUSINESS])

    assert attribution.matched == () and attribution.text == answer


def test_headings_and_rows_of_bare_numbers_are_not_joined_to_the_sentence_between_them() -> None:
    text = (
        "Item 2—Properties\nWarehouse Properties\n"
        "At August 29, 2021, we operated 815 membership warehouses:\n"
        "Own Land and Building Lease Land and/or Building Total\n"
        "United States and Puerto Rico 454 110 564\nCanada 89 16 105"
    )

    pieces = units(text)

    assert "At August 29, 2021, we operated 815 membership warehouses:" in pieces
    assert "United States and Puerto Rico 454 110 564" in pieces
    assert "Item 2—Properties" in pieces


def test_a_figure_several_sources_hold_goes_to_the_one_sharing_the_sentence_s_words() -> None:
    overview = EvidenceSource(5, "Costco is a membership retailer with 815 locations.", "", 0.9)

    attribution = attribute("Costco operated 815 warehouses worldwide.", [overview, BUSINESS])

    assert attribution.matched == (BUSINESS.number,)
