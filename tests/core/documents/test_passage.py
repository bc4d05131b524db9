"""Finding a retrieved passage again in a viewer's text of the page."""

from __future__ import annotations

from desktop.core.documents.passage import locate_passage, search_phrase

PAGE = (
    "Table of Contents\r\nMembership Fees\r\n2021 2020 2019\r\nMembership fees $ 3,877 $ 3,541\r\n"
    "Membership fees increased 9% in 2021, driven by sign-ups and upgrades to Execu-\r\ntive "
    "membership. Our renewal rate is a trailing calculation.\r\n26"
)


def test_the_passage_is_found_despite_other_line_breaks_and_case() -> None:
    passage = "MEMBERSHIP FEES increased 9% in 2021, driven by sign-ups and upgrades"
    span = locate_passage(passage, PAGE)

    assert span is not None
    assert search_phrase(PAGE, span) == (
        "Membership fees increased 9% in 2021, driven by sign-ups and upgrades"
    )


def test_the_longest_shared_run_wins_when_extraction_differs() -> None:
    # pypdf joined the hyphenated word; the viewer's text keeps "Execu-" and "tive" apart.
    passage = "upgrades to Executive membership. Our renewal rate is a trailing calculation."
    span = locate_passage(passage, PAGE)

    assert span is not None
    assert search_phrase(PAGE, span) == "membership. Our renewal rate is a trailing calculation"


def test_unrelated_or_empty_text_is_not_located() -> None:
    assert locate_passage("The lake cruise departs from the pier at ten.", PAGE) is None
    assert locate_passage("", PAGE) is None
    assert locate_passage("Membership fees", "") is None
    # Three shared words are too few to be sure it is the passage.
    assert locate_passage("our renewal rate was high", PAGE) is None


def test_a_very_long_match_is_capped() -> None:
    words = [f"word{n}" for n in range(200)]
    text = " ".join(words)
    span = locate_passage(text, text, max_words=50)
    assert span is not None and span.words == 50
    assert search_phrase(text, span) == " ".join(words[:50])


def test_a_short_passage_matches_whole() -> None:
    span = locate_passage("Membership fees", PAGE)
    assert span is not None and search_phrase(PAGE, span) == "Membership Fees"
