"""Noticing a looping answer, and keeping its first copy."""

from __future__ import annotations

import pytest

from desktop.core.llm.repetition import MIN_SPAN, RepetitionGuard, without_repeats


def fed_tokens(tokens: list[int]) -> int | None:
    """The number of tokens after which the guard called it a loop, or None."""
    guard = RepetitionGuard()
    for count, token in enumerate(tokens, 1):
        if guard.add_token(token):
            return count
    return None


def fed_text(pieces: list[str]) -> bool:
    guard = RepetitionGuard()
    text = ""
    for piece in pieces:
        text += piece
        if guard.add_text(text):
            return True
    return False


def test_a_block_of_tokens_said_over_and_over_is_a_loop() -> None:
    sentence = list(range(100, 117))  # 17 tokens
    tokens = list(range(30)) + sentence * 5

    stopped_after = fed_tokens(tokens)

    assert stopped_after is not None
    # Called once three copies are written, not at the length limit.
    assert stopped_after == 30 + 3 * len(sentence)


def test_one_token_repeated_is_a_loop_only_after_a_long_run() -> None:
    assert fed_tokens([7] * (MIN_SPAN - 1)) is None
    assert fed_tokens([7] * MIN_SPAN) == MIN_SPAN


def test_varied_text_and_short_legitimate_repeats_are_not_loops() -> None:
    assert fed_tokens(list(range(500))) is None
    # A table's separator row: a few tokens, a few times.
    assert fed_tokens([1, 2, 3, 9, 9] + [4, 5] * 6 + list(range(10, 60))) is None


def test_a_sentence_written_a_third_time_is_a_loop_even_with_others_between() -> None:
    pieces = [
        "Costco operates gas stations at most warehouses. ",
        "It sells fuel to members. ",
        "Costco operates gas stations at most warehouses. ",
        "Members like it. ",
        "Costco operates gas stations at most warehouses. ",
        "And so on",
    ]

    assert fed_text(pieces)


def test_list_numbers_do_not_hide_a_repeated_line() -> None:
    pieces = [f"{number}. The warehouse sells gasoline to its members\n" for number in range(1, 5)]

    assert fed_text(pieces)


def test_short_lines_and_different_sentences_with_the_same_shape_are_not_loops() -> None:
    assert not fed_text(["}\n"] * 10)
    assert not fed_text(
        [f"Revenue in {year} was {year - 2000} million dollars. " for year in range(2015, 2024)]
    )


def test_the_first_copy_is_kept_and_the_rest_cut() -> None:
    looped = (
        "Net sales were $192,052 million. "
        + "Costco operates gas stations in many places. " * 4
        + "Costco oper"
    )

    assert without_repeats(looped) == (
        "Net sales were $192,052 million. Costco operates gas stations in many places."
    )


def test_a_repeated_sentence_among_others_is_cut_before_its_second_copy() -> None:
    text = (
        "There are 815 warehouses. The first reason is long enough here. "
        "Another sentence follows it. The first reason is long enough here. Another"
    )

    assert without_repeats(text) == (
        "There are 815 warehouses. The first reason is long enough here. "
        "Another sentence follows it."
    )


@pytest.mark.parametrize(
    "text",
    ["", "A normal answer. With two sentences.", "x = 1\ny = 2\n", "Ha ha ha!"],
)
def test_text_that_does_not_repeat_is_left_as_it_is(text: str) -> None:
    assert without_repeats(text) == text


def test_a_loop_of_whole_sentences_keeps_exactly_one_copy() -> None:
    assert without_repeats("\n" + "The sky is blue. " * 5 + "The sky") == "\nThe sky is blue."
