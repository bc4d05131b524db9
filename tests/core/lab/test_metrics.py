"""The prompt lab's metrics, checked against numbers worked out by hand."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from desktop.core.lab.metrics import (
    NO_LABEL,
    ClassificationReport,
    RougeScore,
    classification_report,
    counts_sentence,
    exact_match,
    label_counts,
    normalise_answer,
    rouge_l,
    rouge_n,
    rouge_tokens,
    text_report,
)

# The example of Lin (2004) and every ROUGE tutorial since.
CAT_REFERENCE = "the cat was under the bed"
CAT_CANDIDATE = "the cat was found under the bed"


def assert_scores(score: RougeScore, precision: float, recall: float, f1: float) -> None:
    assert score.precision == pytest.approx(precision)
    assert score.recall == pytest.approx(recall)
    assert score.f1 == pytest.approx(f1)


def three_label_report() -> ClassificationReport:
    #   item  reference  prediction
    #   0     pos        pos        right
    #   1     pos        pos        right
    #   2     pos        neg
    #   3     neg        neg        right
    #   4     neg        None       unlabelled
    #   5     neu        neu        right
    #   6     neu        pos
    #   7     neu        "maybe"    unlabelled (not a label)
    return classification_report(
        ["pos", "pos", "pos", "neg", "neg", "neu", "neu", "neu"],
        ["pos", "pos", "neg", "neg", None, "neu", "pos", "maybe"],
        ["pos", "neg", "neu"],
    )


# --- Labelling ------------------------------------------------------------------------------


def test_a_three_label_confusion_matrix_with_unlabelled_predictions() -> None:
    report = three_label_report()
    # Rows are references, columns predictions: pos, neg, neu, then the no-label column
    # (present because items 4 and 7 have no valid label).
    assert report.columns == ("pos", "neg", "neu", NO_LABEL)
    assert report.confusion == (
        (2, 1, 0, 0),
        (0, 1, 0, 1),
        (1, 0, 1, 1),
    )
    assert report.items == 8
    assert report.unlabelled == 2
    # Right: 2 pos + 1 neg + 1 neu = 4 of 8.
    assert report.correct == 4
    assert report.accuracy == 0.5


def test_per_label_precision_recall_and_f1_by_hand() -> None:
    report = three_label_report()
    pos, neg, neu = (report.scores_for(label) for label in ("pos", "neg", "neu"))
    # pos: 2 right of 3 predicted (items 0, 1, 6), 2 found of 3 references.
    #      P = 2/3, R = 2/3, F1 = 2/3.
    assert (pos.support, pos.predicted) == (3, 3)
    assert_scores(RougeScore(pos.precision, pos.recall, pos.f1), 2 / 3, 2 / 3, 2 / 3)
    # neg: 1 right of 2 predicted (items 2, 3), 1 found of 2 references. P = R = F1 = 1/2.
    assert (neg.support, neg.predicted) == (2, 2)
    assert_scores(RougeScore(neg.precision, neg.recall, neg.f1), 1 / 2, 1 / 2, 1 / 2)
    # neu: 1 right of 1 predicted, 1 found of 3 references. P = 1, R = 1/3,
    #      F1 = 2·1·(1/3) / (1 + 1/3) = (2/3) / (4/3) = 1/2.
    assert (neu.support, neu.predicted) == (3, 1)
    assert_scores(RougeScore(neu.precision, neu.recall, neu.f1), 1.0, 1 / 3, 1 / 2)
    # Macro F1 = (2/3 + 1/2 + 1/2) / 3 = (5/3) / 3 = 5/9.
    assert report.macro_f1 == pytest.approx(5 / 9)
    assert [scores.label for scores in report.per_label] == ["pos", "neg", "neu"]


def test_each_confusion_row_sums_to_the_support() -> None:
    report = three_label_report()
    for row, scores in zip(report.confusion, report.per_label, strict=True):
        assert sum(row) == scores.support


def test_no_extra_column_when_every_prediction_is_a_label() -> None:
    report = classification_report(["a", "b", "b"], ["a", "b", "a"], ["a", "b"])
    assert report.columns == ("a", "b")
    assert report.confusion == ((1, 0), (1, 1))
    assert report.unlabelled == 0
    # 2 of 3 right.
    assert report.accuracy == pytest.approx(2 / 3)


def test_zero_division_counts_as_zero() -> None:
    # a: 1 right of 1 predicted, 1 found of 2. P = 1, R = 1/2, F1 = 2·(1/2)/(3/2) = 2/3.
    # b: predicted once, never a reference: P = 0/1 = 0, R = 0 (no support), F1 = 0.
    # c: never predicted nor a reference: P = R = F1 = 0.
    report = classification_report(["a", "a"], ["a", "b"], ["a", "b", "c"])
    a, b, c = report.per_label
    assert_scores(RougeScore(a.precision, a.recall, a.f1), 1.0, 1 / 2, 2 / 3)
    assert (b.precision, b.recall, b.f1, b.support, b.predicted) == (0.0, 0.0, 0.0, 0, 1)
    assert (c.precision, c.recall, c.f1, c.support, c.predicted) == (0.0, 0.0, 0.0, 0, 0)
    # Labels without references still count in the macro average: (2/3 + 0 + 0) / 3 = 2/9.
    assert report.macro_f1 == pytest.approx(2 / 9)


def test_a_label_never_predicted_has_zero_precision_and_recall() -> None:
    report = classification_report(["a", "b"], ["a", "a"], ["a", "b"])
    b = report.scores_for("b")
    assert (b.precision, b.recall, b.f1, b.support, b.predicted) == (0.0, 0.0, 0.0, 1, 0)


def test_no_items_scores_zero() -> None:
    report = classification_report([], [], ["a", "b"])
    assert report.items == 0
    assert report.accuracy == 0.0
    assert report.macro_f1 == 0.0
    assert report.confusion == ((0, 0), (0, 0))


def test_all_unlabelled_predictions() -> None:
    report = classification_report(["a", "b"], [None, ""], ["a", "b"])
    assert report.confusion == ((0, 0, 1), (0, 0, 1))
    assert report.unlabelled == 2
    assert report.accuracy == 0.0


def test_predictions_are_compared_exactly() -> None:
    report = classification_report(["positive"], ["Positive"], ["positive", "negative"])
    assert report.unlabelled == 1
    assert report.correct == 0


def test_a_reference_outside_the_labels_is_named() -> None:
    with pytest.raises(ValueError, match=r"'mixed' \(item 1\) is not one of the labels"):
        classification_report(["pos", "mixed"], ["pos", "pos"], ["pos", "neg"])


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 references but 1 predictions"):
        classification_report(["a", "a"], ["a"], ["a"])


def test_labels_must_be_distinct_and_not_a_bare_string() -> None:
    with pytest.raises(ValueError, match="repeated: \\['a'\\]"):
        classification_report(["a"], ["a"], ["a", "b", "a"])
    with pytest.raises(TypeError, match="single string"):
        classification_report(["p"], ["p"], "positive")
    with pytest.raises(TypeError, match="single string"):
        label_counts("pos", ["pos"])


def test_label_counts_keep_label_order_and_zeros() -> None:
    counts = label_counts(["neg", "pos", "neg", None, "other"], ["pos", "neg", "neu"])
    assert counts == {"pos": 1, "neg": 2, "neu": 0, NO_LABEL: 2}
    assert list(counts) == ["pos", "neg", "neu", NO_LABEL]


def test_label_counts_omit_no_label_when_there_is_none() -> None:
    assert label_counts(iter(["b", "a", "b"]), ["a", "b"]) == {"a": 1, "b": 2}
    assert label_counts([], ["a"]) == {"a": 0}


def test_no_label_is_reserved() -> None:
    with pytest.raises(ValueError, match="reserved"):
        label_counts(["x"], ["x", NO_LABEL])


# --- The counts sentence ----------------------------------------------------------------------


def test_counts_sentence_for_two_labels() -> None:
    counts = {"positive": 112, "negative": 88}
    assert counts_sentence(counts) == "There are 112 positive and 88 negative items."
    assert counts_sentence(counts, "reviews") == "There are 112 positive and 88 negative reviews."


def test_counts_sentence_for_one_label() -> None:
    assert counts_sentence({"positive": 12}) == "There are 12 positive items."
    assert counts_sentence({"positive": 1}) == "There is 1 positive item."
    assert counts_sentence({"spam": 1}, "reviews") == "There is 1 spam review."
    assert counts_sentence({"x": 1}, "classes", "class") == "There is 1 x class."


def test_counts_sentence_for_three_labels() -> None:
    sentence = counts_sentence({"a": 12, "b": 3, "c": 4})
    assert sentence == "There are 12 a, 3 b and 4 c items."
    assert counts_sentence({"a": 1, "b": 0, "c": 4}) == "There is 1 a, 0 b and 4 c items."


def test_counts_sentence_when_there_is_nothing() -> None:
    assert counts_sentence({}) == "There are no items."
    assert counts_sentence({"a": 0, "b": 0}) == "There are no items."
    assert counts_sentence({"a": 0}, "reviews") == "There are no reviews."


def test_counts_sentence_tells_unlabelled_apart() -> None:
    counts = {"positive": 3, "negative": 1, NO_LABEL: 2}
    assert counts_sentence(counts) == (
        "There are 3 positive and 1 negative items, and 2 with no label."
    )
    assert counts_sentence({"a": 0, NO_LABEL: 1}) == "There is 1 item with no label."
    assert counts_sentence({NO_LABEL: 5}, "reviews") == "There are 5 reviews with no label."


def test_counts_sentence_groups_thousands() -> None:
    assert counts_sentence({"a": 1234, "b": 5}) == "There are 1,234 a and 5 b items."


def test_counts_sentence_reads_label_counts() -> None:
    counts = label_counts(["positive", "negative", "positive", None], ["positive", "negative"])
    expected = "There are 2 positive and 1 negative reviews, and 1 with no label."
    assert counts_sentence(counts, "reviews") == expected


# --- ROUGE ------------------------------------------------------------------------------------


def test_tokens_as_rouge_score_makes_them() -> None:
    assert rouge_tokens("Hello, World! It's 2024") == ["hello", "world", "it", "s", "2024"]
    assert rouge_tokens("  under_the-bed\n") == ["under", "the", "bed"]
    # Only ASCII letters and digits are kept, as in rouge-score.
    assert rouge_tokens("café") == ["caf"]
    assert rouge_tokens("!!! ...") == []


def test_rouge_1_on_the_classic_example() -> None:
    # Unigrams shared: the ×2, cat, was, under, bed = 6; reference has 6, candidate 7.
    # R = 6/6, P = 6/7, F1 = 2·(6/7)·1 / (6/7 + 1) = (12/7) / (13/7) = 12/13.
    assert_scores(rouge_n(CAT_REFERENCE, CAT_CANDIDATE, 1), 6 / 7, 1.0, 12 / 13)


def test_rouge_2_on_the_classic_example() -> None:
    # Reference bigrams (5): the cat, cat was, was under, under the, the bed.
    # Candidate bigrams (6): the cat, cat was, was found, found under, under the, the bed.
    # Shared: 4. R = 4/5, P = 4/6, F1 = 2·(4/5)(2/3) / (4/5 + 2/3) = (16/15) / (22/15) = 8/11.
    assert_scores(rouge_n(CAT_REFERENCE, CAT_CANDIDATE, 2), 4 / 6, 4 / 5, 8 / 11)


def test_rouge_l_on_the_classic_example() -> None:
    # LCS: "the cat was under the bed", all 6 reference tokens, of the candidate's 7.
    # R = 6/6, P = 6/7, F1 = 12/13.
    assert_scores(rouge_l(CAT_REFERENCE, CAT_CANDIDATE), 6 / 7, 1.0, 12 / 13)


def test_rouge_ignores_case_and_punctuation() -> None:
    assert rouge_n("The cat, under the BED.", "the cat under the bed", 2).f1 == 1.0
    assert rouge_l("The cat, under the BED.", "the cat under the bed").f1 == 1.0


def test_rouge_n_clips_repeated_ngrams() -> None:
    # "the" appears 3 times in the reference, once in the candidate: overlap = min(3, 1) = 1.
    # R = 1/3, P = 1/2, F1 = 2·(1/6) / (5/6) = 2/5.
    assert_scores(rouge_n("the the the", "the cat", 1), 1 / 2, 1 / 3, 2 / 5)
    # The other way round a candidate cannot score by repeating a word: overlap is still 1.
    # R = 1/2, P = 1/3.
    assert_scores(rouge_n("the cat", "the the the", 1), 1 / 3, 1 / 2, 2 / 5)
    # Bigrams: "the the" ×2 in the reference, ×1 in "the the cat": overlap 1. R = 1/2, P = 1/2.
    assert_scores(rouge_n("the the the", "the the cat", 2), 1 / 2, 1 / 2, 1 / 2)


def test_rouge_l_counts_a_subsequence_not_a_substring() -> None:
    # LCS of "a b c d e" and "a x c y e" is "a c e": 3 of 5 either way.
    assert_scores(rouge_l("a b c d e", "a x c y e"), 3 / 5, 3 / 5, 3 / 5)
    # Order matters: "c b a" shares only one token in order with "a b c".
    assert_scores(rouge_l("a b c", "c b a"), 1 / 3, 1 / 3, 1 / 3)
    # A short candidate inside a long reference: LCS 3. P = 3/3, R = 3/7, F1 = 2·(3/7)/(10/7).
    assert_scores(rouge_l("a b c d e f g", "b d f"), 1.0, 3 / 7, 3 / 5)
    assert_scores(rouge_l("b d f", "a b c d e f g"), 3 / 7, 1.0, 3 / 5)
    # Repeats: LCS of "the the the" and "the cat" is 1, as clipping gives for ROUGE-1.
    assert_scores(rouge_l("the the the", "the cat"), 1 / 2, 1 / 3, 2 / 5)


def _full_table_lcs(first: list[str], second: list[str]) -> int:
    table = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i, a in enumerate(first, start=1):
        for j, b in enumerate(second, start=1):
            if a == b:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def test_rouge_l_agrees_with_the_full_table() -> None:
    generator = random.Random(20040725)
    for _ in range(200):
        reference = [generator.choice("abcd") for _ in range(generator.randint(1, 12))]
        candidate = [generator.choice("abcd") for _ in range(generator.randint(1, 12))]
        common = _full_table_lcs(reference, candidate)
        score = rouge_l(" ".join(reference), " ".join(candidate))
        assert score.recall == pytest.approx(common / len(reference))
        assert score.precision == pytest.approx(common / len(candidate))


def test_empty_text_scores_zero() -> None:
    zero = RougeScore(0.0, 0.0, 0.0)
    for reference, candidate in [("", "the cat"), ("the cat", ""), ("", ""), ("...", "!?")]:
        assert rouge_n(reference, candidate, 1) == zero
        assert rouge_n(reference, candidate, 2) == zero
        assert rouge_l(reference, candidate) == zero


def test_text_shorter_than_n_has_no_ngrams() -> None:
    assert rouge_n("cat", "cat", 2) == RougeScore(0.0, 0.0, 0.0)
    assert rouge_n("a b", "a b", 3) == RougeScore(0.0, 0.0, 0.0)
    assert rouge_n("a b c", "a b c", 3) == RougeScore(1.0, 1.0, 1.0)


def test_rouge_n_needs_a_positive_n() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        rouge_n("a", "a", 0)


# --- Exact match ------------------------------------------------------------------------------


def test_exact_match_normalises_as_squad_does() -> None:
    assert exact_match("The Eiffel Tower.", "eiffel  tower")
    assert exact_match("  An apple!  ", "apple")
    assert exact_match("rock'n'roll", "rocknroll")
    assert exact_match("New\tYork", "new york")
    assert not exact_match("Paris", "Paris, France")
    assert not exact_match("42", "forty-two")


def test_exact_match_drops_only_whole_articles() -> None:
    assert normalise_answer("A  Theatre, the best.") == "theatre best"
    assert not exact_match("theatre", "atre")
    assert exact_match("a cat and the dog", "cat and dog")


def test_empty_answers_match_each_other() -> None:
    # SQuAD's rule: both normalise to "".
    assert exact_match("", "")
    assert exact_match("The.", "")
    assert not exact_match("", "cat")


# --- The text report --------------------------------------------------------------------------


def test_text_report_averages_over_items() -> None:
    report = text_report([CAT_REFERENCE, "Paris"], [CAT_CANDIDATE, "paris."])
    assert report.items == 2
    # Item 2 is a one-token match: ROUGE-1 and ROUGE-L 1.0 throughout, no bigrams so ROUGE-2 0.
    # ROUGE-1: P = (6/7 + 1)/2 = 13/14, R = (1 + 1)/2 = 1, F1 = (12/13 + 1)/2 = 25/26.
    assert_scores(report.rouge1, 13 / 14, 1.0, 25 / 26)
    # ROUGE-2: P = (2/3 + 0)/2 = 1/3, R = (4/5 + 0)/2 = 2/5, F1 = (8/11 + 0)/2 = 4/11.
    assert_scores(report.rouge2, 1 / 3, 2 / 5, 4 / 11)
    assert_scores(report.rouge_l, 13 / 14, 1.0, 25 / 26)
    # Only "Paris" / "paris." match exactly.
    assert report.exact_matches == 1
    assert report.exact_match_rate == 0.5


def test_an_empty_text_report_scores_zero() -> None:
    report = text_report([], [])
    zero = RougeScore(0.0, 0.0, 0.0)
    assert (report.items, report.exact_matches, report.exact_match_rate) == (0, 0, 0.0)
    assert report.rouge1 == report.rouge2 == report.rouge_l == zero


def test_text_report_refuses_unpaired_texts() -> None:
    with pytest.raises(ValueError, match="1 references but 2 candidates"):
        text_report(["a"], ["a", "b"])


# --- JSON -------------------------------------------------------------------------------------


def _assert_plain(value: Any, path: str = "$") -> None:
    # Exact types: a bool, a numpy float or a Fraction would each serialise differently.
    assert type(value) in (dict, list, str, int, float), f"{path}: {type(value).__name__}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, f"{path}: key {key!r}"
            _assert_plain(item, f"{path}.{key}")
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _assert_plain(item, f"{path}[{position}]")


def test_classification_json_is_plain() -> None:
    report = three_label_report()
    data = report.to_json()
    _assert_plain(data)
    assert json.loads(json.dumps(data)) == data
    assert data["labels"] == ["pos", "neg", "neu"]
    assert data["columns"] == ["pos", "neg", "neu", NO_LABEL]
    assert data["confusion"] == [[2, 1, 0, 0], [0, 1, 0, 1], [1, 0, 1, 1]]
    assert (data["items"], data["correct"], data["unlabelled"]) == (8, 4, 2)
    assert set(data["per_label"]["neu"]) == {"precision", "recall", "f1", "support", "predicted"}
    for key in ("items", "correct", "unlabelled"):
        assert type(data[key]) is int
    for key in ("accuracy", "macro_f1"):
        assert type(data[key]) is float
    for scores in data["per_label"].values():
        assert all(type(scores[key]) is float for key in ("precision", "recall", "f1"))
        assert all(type(scores[key]) is int for key in ("support", "predicted"))


def test_json_floats_stay_floats_at_zero_and_one() -> None:
    # A perfect run and a never-predicted label: 1.0 and 0.0 must not come out as 1 and 0.
    data = classification_report(["a", "a"], ["a", "a"], ["a", "b"]).to_json()
    assert type(data["accuracy"]) is float and data["accuracy"] == 1.0
    assert type(data["per_label"]["b"]["precision"]) is float
    empty = classification_report([], [], ["a"]).to_json()
    assert type(empty["accuracy"]) is float and type(empty["macro_f1"]) is float


def test_text_json_is_plain() -> None:
    for report in (text_report([CAT_REFERENCE, "x"], [CAT_CANDIDATE, "x"]), text_report([], [])):
        data = report.to_json()
        _assert_plain(data)
        assert json.loads(json.dumps(data)) == data
        assert set(data) == {"items", "rouge1", "rouge2", "rougeL", "exact_matches", "exact_match"}
        for name in ("rouge1", "rouge2", "rougeL"):
            assert set(data[name]) == {"precision", "recall", "f1"}
            assert all(type(number) is float for number in data[name].values())
        assert type(data["exact_match"]) is float
        assert type(data["items"]) is int and type(data["exact_matches"]) is int


# --- Against rouge-score, where it is installed -----------------------------------------------


def test_rouge_agrees_with_rouge_score() -> None:
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    pairs = [
        (CAT_REFERENCE, CAT_CANDIDATE),
        ("the the the", "the cat"),
        ("Police killed the gunman.", "The gunman was shot dead by police!"),
        ("", "anything"),
        ("Café au lait, s'il vous plaît", "cafe au lait please"),
    ]
    for reference, candidate in pairs:
        expected = scorer.score(reference, candidate)
        ours = {
            "rouge1": rouge_n(reference, candidate, 1),
            "rouge2": rouge_n(reference, candidate, 2),
            "rougeL": rouge_l(reference, candidate),
        }
        for name, score in ours.items():
            theirs = expected[name]
            assert_scores(score, theirs.precision, theirs.recall, theirs.fmeasure)
