"""How an answer becomes a label, worked by hand: the spellings a label is scored over, the
first label a free answer names, the labels' distribution, the calibration that divides out
the prompt's bias, and the trie that lets a constrained answer be only a label."""

from __future__ import annotations

import math

import pytest

from desktop.core.lab.item_prompts import (
    LabelTrie,
    calibrated,
    combine_variants,
    first_token_bias,
    label_distribution,
    label_variants,
    match_label,
)

END = 99


def test_a_label_is_scored_as_given_and_capitalised() -> None:
    assert label_variants("positive") == ("positive", "Positive")
    assert label_variants("Positive") == ("Positive",)
    assert label_variants("4 stars") == ("4 stars",)


def test_spellings_add_up_as_probabilities() -> None:
    assert combine_variants([math.log(0.2), math.log(0.3)]) == pytest.approx(math.log(0.5))
    assert combine_variants([-1000.0, math.log(0.25)]) == pytest.approx(math.log(0.25))


def test_a_free_answer_names_the_label_it_mentions_first_as_a_word() -> None:
    labels = ["positive", "negative"]
    assert match_label("Negative. Although the staff were positive…", labels) == "negative"
    assert match_label("It is POSITIVE!", labels) == "positive"
    assert match_label("nonpositive", labels) is None
    assert match_label("I cannot tell.", labels) is None


def test_the_labels_distribution_and_its_calibration_by_hand() -> None:
    scores = [math.log(0.6), math.log(0.2)]
    assert label_distribution(scores) == pytest.approx([0.75, 0.25])
    # The prompt alone favours the first label 3 to 1: divided out, 0.75/0.75 vs 0.25/0.25.
    assert [math.exp(s) for s in calibrated(scores, [0.75, 0.25])] == pytest.approx([0.5, 0.5])
    # With no bias, calibration changes nothing.
    assert [math.exp(s) for s in calibrated(scores, [0.5, 0.5])] == pytest.approx([0.75, 0.25])


def test_a_constrained_answer_can_only_spell_a_label() -> None:
    # "pos" "itive" | "Positive" | "neg" "ative"
    trie = LabelTrie([(1, 2), (3,), (4, 5)], [END])
    assert trie.allowed(()) == [1, 3, 4]
    assert trie.allowed((1,)) == [2]
    assert trie.allowed((1, 2)) == [], "a whole label ends the answer"
    assert trie.allowed((7,)) == []
    assert trie.label_of((4, 5, END), ["positive", "Positive", "negative"]) == "negative"
    assert trie.label_of((1,), ["positive", "Positive", "negative"]) is None


def test_a_label_that_begins_another_may_end_or_go_on() -> None:
    trie = LabelTrie([(1,), (1, 2)], [END])
    assert trie.allowed((1,)) == [2, END]


def test_the_first_token_bias_divides_out_each_labels_prior() -> None:
    # positive spelled (1, 2) and (3,); negative spelled (4,).
    bias = first_token_bias([(1, 2), (3,), (4,)], [0, 0, 1], [0.8, 0.2])
    assert bias == pytest.approx({1: -math.log(0.8), 3: -math.log(0.8), 4: -math.log(0.2)})
    # Logits 2.0 and 1.0 favour positive e to 1 (2.7 to 1); the prompt alone favours it 4 to
    # 1, so once that is divided out, negative is the likelier answer.
    assert 1.0 + bias[4] > 2.0 + bias[1]


def test_labels_sharing_a_first_token_are_not_calibrated_at_the_first_step() -> None:
    assert first_token_bias([(1, 2), (1, 3)], [0, 1], [0.5, 0.5]) == {}
