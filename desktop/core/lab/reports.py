"""A run's results read back with its data file: the counts, the scores against the reference
column, and the export that keeps every input column."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.lab.batch import BatchRunner
from desktop.core.lab.datasets import read_rows
from desktop.core.lab.metrics import (
    ClassificationReport,
    TextReport,
    classification_report,
    counts_sentence,
    label_counts,
    text_report,
)


@dataclass(frozen=True)
class JoinedResult:
    """One row of the data with its result."""

    row: int
    inputs: dict[str, str]
    result: dict[str, Any]
    time_s: float | None


def joined_results(runner: BatchRunner) -> Iterator[JoinedResult]:
    """Results in row order beside their inputs, streamed (a 100,000-row file is never whole
    in memory)."""
    timings = runner.stored_timings()
    rows = read_rows(runner.spec.data, runner.dataset)
    for result in runner.stored_results():
        for row in rows:
            if row.number == result["row"]:
                yield JoinedResult(row.number, dict(row.values), result, timings.get(row.number))
                break


@dataclass(frozen=True)
class RunSummary:
    items: int
    errors: int
    counts: dict[str, int]
    sentence: str
    classification: ClassificationReport | None
    text: TextReport | None

    def to_json(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "items": self.items,
            "errors": self.errors,
            "counts": dict(self.counts),
            "counts_sentence": self.sentence,
        }
        if self.classification is not None:
            report = self.classification.to_json()
            summary.update(
                accuracy=report["accuracy"],
                macro_f1=report["macro_f1"],
                per_label=report["per_label"],
                confusion=report["confusion"],
                confusion_labels=report["columns"],
            )
        if self.text is not None:
            summary["text"] = self.text.to_json()
        return summary


def summarise(runner: BatchRunner, noun: str = "items") -> RunSummary:
    spec = runner.spec
    labels = list(spec.labels)
    predictions: list[str | None] = []
    references: list[str] = []
    outputs: list[str] = []
    skipped_references = 0
    errors = 0
    for joined in joined_results(runner):
        result = joined.result
        if result.get("error"):
            errors += 1
            continue
        predictions.append(result.get("label"))
        outputs.append(str(result.get("output", "")))
        if spec.reference_column is not None:
            reference = joined.inputs.get(spec.reference_column, "").strip()
            references.append(reference)
    classification = None
    text = None
    if spec.reference_column is not None:
        if labels:
            pairs = [
                (reference, prediction)
                for reference, prediction in zip(references, predictions, strict=True)
                if reference in labels
            ]
            skipped_references = len(references) - len(pairs)
            if pairs:
                classification = classification_report(
                    [reference for reference, _ in pairs],
                    [prediction for _, prediction in pairs],
                    labels,
                )
        else:
            text = text_report(references, outputs)
    counts = label_counts(predictions, labels) if labels else {}
    sentence = counts_sentence(counts, noun) if labels else f"{len(outputs):,} answers."
    if skipped_references:
        sentence += (
            f" {skipped_references:,} rows have a reference that is none of the labels and are "
            "not scored."
        )
    return RunSummary(len(predictions) + errors, errors, counts, sentence, classification, text)


def export_csv(runner: BatchRunner, destination: Path) -> int:
    """Every input column, then the output, label, probability, tokens read and written, time
    and error, and the model, temperature and seed the row was answered with (so exports of
    several runs can be put together); the file is replaced whole, never left half written.
    Returns the rows written."""
    columns = list(runner.dataset.columns)
    reference = runner.spec.reference_column
    extra = ["output", "label", "probability", "prompt_tokens", "tokens", "time_s", "error"]
    extra += ["model", "temperature", "seed"]
    run = {
        "model": runner.model_name,
        "temperature": f"{runner.spec.temperature:g}",
        "seed": str(runner.spec.seed),
    }
    if reference is not None and runner.spec.labels:
        extra.insert(2, "correct")
    header = columns + [name if name not in columns else f"result_{name}" for name in extra]
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".export-", dir=destination.parent)
    written = 0
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            for joined in joined_results(runner):
                result = joined.result
                values = [joined.inputs.get(column, "") for column in columns]
                probability = result.get("probability")
                cells = {
                    "output": result.get("output", ""),
                    "label": result.get("label") or "",
                    "probability": "" if probability is None else f"{probability:.4f}",
                    "prompt_tokens": result.get("prompt_tokens", ""),
                    "tokens": result.get("tokens", 0),
                    "time_s": "" if joined.time_s is None else f"{joined.time_s:.3f}",
                    "error": result.get("error") or "",
                    **run,
                }
                if "correct" in extra and reference is not None:
                    cells["correct"] = str(
                        result.get("label") == joined.inputs.get(reference, "").strip()
                    ).lower()
                writer.writerow(values + [cells[name] for name in extra])
                written += 1
        Path(temporary).replace(destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written
