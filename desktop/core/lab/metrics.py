"""How good a batch of model outputs is: the prompt lab's scores, in plain Python.

The prompt lab runs a prompt over a dataset and compares each output with a reference. Two kinds
of task are scored here:

* labelling (a review is ``positive`` or ``negative``): a confusion matrix, accuracy, and
  per-label precision, recall and F1 with their macro average, following scikit-learn's
  conventions with ``zero_division=0``;
* free text (a summary, an answer): ROUGE-1, ROUGE-2 and ROUGE-L as the ``rouge-score`` package
  computes them (its default tokenizer, no stemming), and SQuAD's exact match.

Everything is computed exactly, over every item: nothing is sampled, truncated or capped, so a
score shown in the lab is the score of the whole batch. Every report has a ``to_json()`` made
only of ``dict``, ``list``, ``str``, ``int`` and ``float``, to save beside a run.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The key and confusion column for predictions that are None or not one of the labels. Its
# parentheses keep it from passing for a label a dataset would plausibly use.
NO_LABEL = "(no label)"


def _reject_bare_string(value: object, name: str) -> None:
    # A str is a Sequence[str] to the type checker, so labels="positive" would otherwise become
    # the eight labels "p", "o", "s", … without a word.
    if isinstance(value, str):
        raise TypeError(f"{name} must be a sequence of strings, not the single string {value!r}")


def _check_same_length(first: Sequence[object], second: Sequence[object], what: str) -> None:
    if len(first) != len(second):
        raise ValueError(f"{len(first)} references but {len(second)} {what}: they must pair up")


def _checked_labels(labels: Sequence[str]) -> tuple[str, ...]:
    _reject_bare_string(labels, "labels")
    unique = tuple(dict.fromkeys(labels))
    if len(unique) != len(labels):
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        raise ValueError(f"each label must be listed once; repeated: {repeated}")
    return unique


def _ratio(part: int, whole: int) -> float:
    # scikit-learn's zero_division=0: a ratio over nothing counts as 0.0, never as an error.
    return part / whole if whole else 0.0


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


# --- Labelling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelScores:
    """One label's scores: of the items predicted as it, how many were it (precision); of the
    items that are it, how many were found (recall)."""

    label: str
    precision: float
    recall: float
    f1: float
    # References with this label.
    support: int
    # Predictions of this label, right or wrong.
    predicted: int

    def to_json(self) -> dict[str, Any]:
        return {
            "precision": float(self.precision),
            "recall": float(self.recall),
            "f1": float(self.f1),
            "support": int(self.support),
            "predicted": int(self.predicted),
        }


@dataclass(frozen=True)
class ClassificationReport:
    """A labelling run scored against its references.

    ``confusion[i][j]`` counts the items whose reference is ``labels[i]`` and whose prediction
    is ``columns[j]``. The columns are the labels in order, followed by one more, ``NO_LABEL``,
    only when some prediction was None or not one of the labels (``unlabelled > 0``): such a
    prediction is always wrong, and the extra column shows which references it missed. Each
    row therefore sums to that label's support.
    """

    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    items: int
    correct: int
    accuracy: float
    per_label: tuple[LabelScores, ...]
    # The unweighted mean of every label's F1, including labels no reference has (as
    # scikit-learn does when given the labels), so a label the prompt never finds counts.
    macro_f1: float
    unlabelled: int

    @property
    def columns(self) -> tuple[str, ...]:
        """What each confusion column counts: the labels, then ``NO_LABEL`` if present."""
        return (*self.labels, NO_LABEL) if self.unlabelled else self.labels

    def scores_for(self, label: str) -> LabelScores:
        for scores in self.per_label:
            if scores.label == label:
                return scores
        raise KeyError(label)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": int(self.items),
            "correct": int(self.correct),
            "accuracy": float(self.accuracy),
            "macro_f1": float(self.macro_f1),
            "unlabelled": int(self.unlabelled),
            "labels": list(self.labels),
            "columns": list(self.columns),
            "per_label": {scores.label: scores.to_json() for scores in self.per_label},
            "confusion": [[int(count) for count in row] for row in self.confusion],
        }


def classification_report(
    references: Sequence[str], predictions: Sequence[str | None], labels: Sequence[str]
) -> ClassificationReport:
    """Score ``predictions`` against ``references``, pairwise, over the given ``labels``.

    Predictions are compared exactly: parsing a model's reply into a label (case, quotes, a
    trailing full stop) is the caller's job, and anything still not a label counts as
    unlabelled. A reference that is not one of the labels is a mistake in the dataset, so it
    raises ValueError rather than being scored; rows without a reference must be left out by
    the caller.
    """
    _reject_bare_string(references, "references")
    _reject_bare_string(predictions, "predictions")
    ordered = _checked_labels(labels)
    _check_same_length(references, predictions, "predictions")
    index = {label: position for position, label in enumerate(ordered)}
    none_column = len(ordered)

    counts = [[0] * (len(ordered) + 1) for _ in ordered]
    for row, (reference, prediction) in enumerate(zip(references, predictions, strict=True)):
        if reference not in index:
            raise ValueError(
                f"reference {reference!r} (item {row}) is not one of the labels {list(ordered)}"
            )
        column = index.get(prediction, none_column) if prediction is not None else none_column
        counts[index[reference]][column] += 1

    unlabelled = sum(row[none_column] for row in counts)
    width = len(ordered) + 1 if unlabelled else len(ordered)
    confusion = tuple(tuple(row[:width]) for row in counts)

    per_label = []
    for position, label in enumerate(ordered):
        right = counts[position][position]
        support = sum(counts[position])
        predicted = sum(row[position] for row in counts)
        precision = _ratio(right, predicted)
        recall = _ratio(right, support)
        per_label.append(
            LabelScores(label, precision, recall, _f1(precision, recall), support, predicted)
        )

    items = len(references)
    correct = sum(counts[position][position] for position in range(len(ordered)))
    macro_f1 = sum(scores.f1 for scores in per_label) / len(per_label) if per_label else 0.0
    return ClassificationReport(
        labels=ordered,
        confusion=confusion,
        items=items,
        correct=correct,
        accuracy=_ratio(correct, items),
        per_label=tuple(per_label),
        macro_f1=macro_f1,
        unlabelled=unlabelled,
    )


def label_counts(predictions: Iterable[str | None], labels: Sequence[str]) -> dict[str, int]:
    """How many of each label, in label order (zeros included), then ``NO_LABEL`` for the
    predictions that are None or not a label, only if there are any."""
    _reject_bare_string(predictions, "predictions")
    ordered = _checked_labels(labels)
    if NO_LABEL in ordered:
        raise ValueError(f"{NO_LABEL!r} is reserved for predictions outside the labels")
    counts = dict.fromkeys(ordered, 0)
    unlabelled = 0
    for prediction in predictions:
        if prediction is not None and prediction in counts:
            counts[prediction] += 1
        else:
            unlabelled += 1
    if unlabelled:
        counts[NO_LABEL] = unlabelled
    return counts


def counts_sentence(counts: Mapping[str, int], noun: str = "items", singular: str = "") -> str:
    """“There are 112 positive and 88 negative items.”: label counts as a sentence.

    ``noun`` is plural; ``singular`` defaults to it without a final “s” (pass it for nouns
    like “classes”). A ``NO_LABEL`` count is told apart, “…, and 3 with no label.”, because
    “3 (no label) items” reads as a label. Labels counted zero are still named, since a label
    nothing was given is worth seeing.
    """
    one = singular or noun.removesuffix("s")
    labelled = [(label, count) for label, count in counts.items() if label != NO_LABEL]
    unlabelled = counts.get(NO_LABEL, 0)
    if sum(count for _, count in labelled) + unlabelled == 0:
        return f"There are no {noun}."
    if not any(count for _, count in labelled):
        return f"There {_verb(unlabelled)} {_number(unlabelled, noun, one)} with no label."

    parts = [f"{count:,} {label}" for label, count in labelled]
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    # A list of several reads as a whole, so its noun is plural ("1 positive and 1 negative
    # items"); the verb agrees with the number nearest it ("There is 1 positive and 3 …").
    plural = len(labelled) > 1 or labelled[0][1] != 1
    sentence = f"There {_verb(labelled[0][1])} {listed} {noun if plural else one}"
    if unlabelled:
        sentence += f", and {unlabelled:,} with no label"
    return sentence + "."


def _verb(count: int) -> str:
    return "is" if count == 1 else "are"


def _number(count: int, plural: str, singular: str) -> str:
    return f"{count:,} {singular if count == 1 else plural}"


# --- Free text ------------------------------------------------------------------------------


# rouge-score's default tokenizer: lowercase, anything but ASCII letters and digits separates
# tokens. Accented letters are therefore separators too; matching it keeps scores comparable
# with published ones.
_ROUGE_SEPARATORS = re.compile(r"[^a-z0-9]+")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True)
class RougeScore:
    precision: float
    recall: float
    f1: float

    def to_json(self) -> dict[str, Any]:
        return {
            "precision": float(self.precision),
            "recall": float(self.recall),
            "f1": float(self.f1),
        }


_ZERO = RougeScore(0.0, 0.0, 0.0)


def rouge_tokens(text: str) -> list[str]:
    """The tokens ROUGE compares, as ``rouge-score`` makes them without stemming."""
    return _ROUGE_SEPARATORS.sub(" ", text.lower()).split()


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[start : start + n]) for start in range(len(tokens) - n + 1))


def _rouge_from_counts(overlap: int, candidate_total: int, reference_total: int) -> RougeScore:
    precision = _ratio(overlap, candidate_total)
    recall = _ratio(overlap, reference_total)
    return RougeScore(precision, recall, _f1(precision, recall))


def rouge_n(reference: str, candidate: str, n: int) -> RougeScore:
    """ROUGE-N: the n-grams the candidate shares with the reference.

    Counts are clipped, so a candidate repeating “the” three times is credited for only as
    many as the reference has. Text shorter than n tokens has no n-grams and scores zero.
    """
    if n < 1:
        raise ValueError(f"ROUGE-N needs n of at least 1, not {n}")
    reference_ngrams = _ngrams(rouge_tokens(reference), n)
    candidate_ngrams = _ngrams(rouge_tokens(candidate), n)
    overlap = sum((reference_ngrams & candidate_ngrams).values())
    return _rouge_from_counts(
        overlap, sum(candidate_ngrams.values()), sum(reference_ngrams.values())
    )


def _lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    # Two rows over the shorter sequence: the length is all ROUGE-L needs, not the alignment.
    longer, shorter = (first, second) if len(first) >= len(second) else (second, first)
    previous = [0] * (len(shorter) + 1)
    for token in longer:
        current = [0] * (len(shorter) + 1)
        for position, other in enumerate(shorter, start=1):
            if token == other:
                current[position] = previous[position - 1] + 1
            else:
                current[position] = max(previous[position], current[position - 1])
        previous = current
    return previous[-1]


def rouge_l(reference: str, candidate: str) -> RougeScore:
    """Sentence-level ROUGE-L: the longest common subsequence of tokens, over the candidate's
    length (precision) and the reference's (recall), with F1 weighing both alike (β = 1)."""
    reference_tokens = rouge_tokens(reference)
    candidate_tokens = rouge_tokens(candidate)
    if not reference_tokens or not candidate_tokens:
        return _ZERO
    common = _lcs_length(reference_tokens, candidate_tokens)
    return _rouge_from_counts(common, len(candidate_tokens), len(reference_tokens))


def normalise_answer(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, drop ASCII punctuation, drop the articles
    a/an/the, collapse whitespace."""
    without_punctuation = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", without_punctuation).split())


def exact_match(reference: str, candidate: str) -> bool:
    """Whether the candidate says the same as the reference once both are normalised, as in
    SQuAD: “The Eiffel Tower.” matches “eiffel  tower”. Two texts that normalise to nothing
    (“”, “The.”) match each other, as SQuAD's script has it."""
    return normalise_answer(reference) == normalise_answer(candidate)


@dataclass(frozen=True)
class TextReport:
    """Free-text answers scored against their references, averaged over the items.

    Each of precision, recall and F1 is the mean of the per-item values, as rouge-score's
    aggregator and most papers report them: the mean F1 is not the F1 of the mean precision
    and recall.
    """

    items: int
    rouge1: RougeScore
    rouge2: RougeScore
    rouge_l: RougeScore
    exact_matches: int
    exact_match_rate: float

    def to_json(self) -> dict[str, Any]:
        return {
            "items": int(self.items),
            "rouge1": self.rouge1.to_json(),
            "rouge2": self.rouge2.to_json(),
            "rougeL": self.rouge_l.to_json(),
            "exact_matches": int(self.exact_matches),
            "exact_match": float(self.exact_match_rate),
        }


def _mean(scores: Sequence[RougeScore]) -> RougeScore:
    if not scores:
        return _ZERO
    count = len(scores)
    return RougeScore(
        sum(score.precision for score in scores) / count,
        sum(score.recall for score in scores) / count,
        sum(score.f1 for score in scores) / count,
    )


def text_report(references: Sequence[str], candidates: Sequence[str]) -> TextReport:
    """Score each candidate against the reference at the same position; no items scores
    zero throughout."""
    _reject_bare_string(references, "references")
    _reject_bare_string(candidates, "candidates")
    _check_same_length(references, candidates, "candidates")
    pairs = list(zip(references, candidates, strict=True))
    exact_matches = sum(exact_match(reference, candidate) for reference, candidate in pairs)
    return TextReport(
        items=len(pairs),
        rouge1=_mean([rouge_n(reference, candidate, 1) for reference, candidate in pairs]),
        rouge2=_mean([rouge_n(reference, candidate, 2) for reference, candidate in pairs]),
        rouge_l=_mean([rouge_l(reference, candidate) for reference, candidate in pairs]),
        exact_matches=exact_matches,
        exact_match_rate=_ratio(exact_matches, len(pairs)),
    )
