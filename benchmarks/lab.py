"""The prompt lab's batch runner against the naive way of labelling reviews, same model, same run.

Data: ``../shared/eval/reviews/dev.tsv``, 200 restaurant-review sentences labelled positive or
negative. The reference is what a course notebook does: for each review, the whole prompt is
read afresh and the model writes freely at temperature 0 (through Folio's chat engine, which
starts greedy answers from a clean context); the answer is matched to a label by the first
label it names. Folio's runner reads the shared instructions and examples once and, per review,
only the review's own tokens, then either scores the two labels by their likelihood (with the
labels' bias on empty inputs divided out) or lets the model write only a label (constrained).
The few-shot examples are four short reviews written for this benchmark (none from the data):
a restaurant, a product and a film, both polarities.

    python -m benchmarks.lab [--items 200] [--model PATH ...] [--json]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, BenchResult, Goal, ReferenceUnavailableError, print_result
from desktop.core.lab.batch import BatchRunner, BatchSpec
from desktop.core.lab.item_prompts import match_label
from desktop.core.lab.reports import summarise
from desktop.core.lab.templates import Example
from desktop.core.llm.engine import ChatEngine, ChatRequest
from desktop.core.models.starter import starter_model_path, templateless_model_path
from desktop.core.settings.schema import GenerationSettings

DEV = REPO.parent / "shared" / "eval" / "reviews" / "dev.tsv"
LABELS = ("positive", "negative")
COURSE_PROMPT = (
    "Classify the following review as having either a positive or negative sentiment:\n\n{text}"
)
INSTRUCTIONS = "Classify the following review as having either a positive or negative sentiment."
TEMPLATE = "Review: {text}\nSentiment:"
EXAMPLES = (
    Example({"text": "The pasta was delicious and the staff were lovely."}, "positive"),
    Example({"text": "Stopped working after two days, a waste of money."}, "negative"),
    Example({"text": "A wonderful film, I loved every minute."}, "positive"),
    Example({"text": "We waited an hour and the food arrived cold."}, "negative"),
)
NAIVE_ANSWER_TOKENS = 48
ACCURACY_GOAL = 0.85
SPEED_GOAL = 5.0


def _reviews(limit: int) -> list[tuple[str, str]]:
    with DEV.open(encoding="utf-8", newline="") as data:
        rows = list(csv.DictReader(data, delimiter="\t"))
    return [(row["text"], row["label"]) for row in rows[:limit]]


def naive(engine: ChatEngine, reviews: list[tuple[str, str]]) -> dict[str, Any]:
    params = dataclasses.replace(
        GenerationSettings(), temperature=0.0, seed=0, max_tokens=NAIVE_ANSWER_TOKENS
    )
    correct = unlabelled = 0
    started = time.perf_counter()
    for text, label in reviews:
        request = ChatRequest(question=COURSE_PROMPT.format(text=text), params=params)
        answer = engine.generate(request, threading.Event()).result().text
        predicted = match_label(answer, LABELS)
        correct += predicted == label
        unlabelled += predicted is None
    elapsed = time.perf_counter() - started
    return {
        "accuracy": correct / len(reviews),
        "unlabelled": unlabelled,
        "items_per_s": len(reviews) / elapsed,
    }


def folio(
    engine: ChatEngine, data: Path, runs: Path, mode: str, examples: tuple[Example, ...]
) -> dict[str, Any]:
    spec = BatchSpec(
        data=data,
        template=TEMPLATE,
        system_prompt=INSTRUCTIONS,
        mode=mode,  # type: ignore[arg-type]  # one of the three, from this module
        labels=LABELS,
        examples=examples,
        reference_column="label",
    )
    runner = BatchRunner(spec, engine, runs)
    started = time.perf_counter()
    outcome = runner.run()
    elapsed = time.perf_counter() - started
    summary = summarise(runner)
    assert summary.classification is not None
    return {
        "accuracy": summary.classification.accuracy,
        "unlabelled": summary.classification.unlabelled,
        "items_per_s": outcome.done / elapsed,
        "counts": summary.counts,
    }


def measure(items: int, model_paths: list[Path]) -> BenchResult:
    if not DEV.is_file():
        raise ReferenceUnavailableError(f"the review data is not here: {DEV}")
    reviews = _reviews(items)
    result = BenchResult("lab")
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "reviews.tsv"
        with data.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter="\t", lineterminator="\n")
            writer.writerow(["text", "label"])
            writer.writerows(reviews)
        for model in model_paths:
            engine = ChatEngine()
            try:
                engine.load(model).result()
                name = model.stem
                figures: dict[str, Any] = {"items": len(reviews)}
                figures["naive"] = naive(engine, reviews)
                runs = Path(scratch) / f"runs-{name}"
                figures["likelihood_zero_shot"] = folio(engine, data, runs, "likelihood", ())
                figures["likelihood_few_shot"] = folio(engine, data, runs, "likelihood", EXAMPLES)
                figures["constrained_few_shot"] = folio(engine, data, runs, "constrained", EXAMPLES)
            finally:
                engine.close()
            result.figures[name] = figures
            reference = figures["naive"]["items_per_s"]
            best = figures["likelihood_few_shot"]
            for variant in ("likelihood_zero_shot", "likelihood_few_shot", "constrained_few_shot"):
                speed = figures[variant]["items_per_s"] / reference
                result.ratios[f"{name} {variant} items/s vs naive"] = speed
            if model == model_paths[0]:
                result.goals["accuracy on dev (few-shot likelihood)"] = Goal(
                    ACCURACY_GOAL, best["accuracy"]
                )
                result.goals["items/s vs naive (few-shot likelihood)"] = Goal(
                    SPEED_GOAL, best["items_per_s"] / reference
                )
    result.notes.append(
        f"naive: free generation at temperature 0, up to {NAIVE_ANSWER_TOKENS} tokens, the "
        "whole prompt read per review; answers matched to the first label they name"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--model", type=Path, action="append")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        paths = args.model or [
            path for path in (starter_model_path(), templateless_model_path(Path(cache))) if path
        ]
        if not paths:
            print("lab: no chat model installed to benchmark")
            return 4
        return print_result("lab", lambda: measure(args.items, paths), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
