"""The batch runner on the starter model: the same bytes twice and after a resume, answers
that are labels, a bad row that does not stop the run, and a model switch that does."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.lab.batch import (
    BatchRunner,
    BatchSpec,
    ModelChangedError,
    Progress,
    RunControl,
)
from desktop.core.lab.reports import export_csv, summarise
from desktop.core.lab.templates import Example
from desktop.core.llm.engine import ChatEngine
from desktop.core.settings.schema import ModelSettings

REVIEWS = [
    ("The food was wonderful and the waiter charming.", "positive"),
    ("Cold soup, rude staff, never again.", "negative"),
    ("Best pizza in town!", "positive"),
    ("I waited forty minutes for a dry burger.", "negative"),
    ("Lovely place, we will come back.", "positive"),
    ("The fish tasted old and the bill was wrong.", "negative"),
    ("Great coffee, friendly people.", "positive"),
    ("Overpriced and bland.", "negative"),
]
LABELS = ("positive", "negative")
TEMPLATE = "Review: {text}\nSentiment:"
EXAMPLES = (
    Example({"text": "Delicious, I loved it."}, "positive"),
    Example({"text": "Awful, a waste of money."}, "negative"),
)


def _data(folder: Path, rows: list[tuple[str, str]] = REVIEWS) -> Path:
    path = folder / "reviews.tsv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def engine(starter_model: Path) -> Iterator[ChatEngine]:
    instance = ChatEngine()
    instance.load(starter_model, ModelSettings(context_length=512)).result()
    yield instance
    instance.close()


def _spec(data: Path, **changes: object) -> BatchSpec:
    fields: dict[str, object] = {
        "data": data,
        "template": TEMPLATE,
        "labels": LABELS,
        "examples": EXAMPLES,
        "reference_column": "label",
    }
    fields.update(changes)
    return BatchSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["likelihood", "constrained", "free"])
def test_the_same_run_twice_gives_the_same_bytes_and_a_resume_too(
    engine: ChatEngine, tmp_path: Path, mode: str
) -> None:
    data = _data(tmp_path)
    spec = _spec(data, mode=mode, max_tokens=8)
    first = BatchRunner(spec, engine, tmp_path / "first")
    assert first.run().state == "finished"
    # Something else on the model between runs (a chat answer would do the same).
    again = BatchRunner(spec, engine, tmp_path / "again")
    control = RunControl()

    def pause_after_three(progress: Progress) -> None:
        if progress.done == 3:
            control.pause.set()

    stopped = again.run(control, pause_after_three)
    assert (stopped.state, stopped.done, stopped.total) == ("paused", 3, len(REVIEWS))
    resumed = BatchRunner(spec, engine, tmp_path / "again")
    assert resumed.completed() == 3
    assert resumed.run().done == len(REVIEWS)
    results = (first.folder / "results.jsonl").read_bytes()
    assert results == (resumed.folder / "results.jsonl").read_bytes()
    assert len(results.splitlines()) == len(REVIEWS)


def test_labels_are_chosen_with_their_probability(engine: ChatEngine, tmp_path: Path) -> None:
    for mode in ("likelihood", "constrained"):
        runner = BatchRunner(_spec(_data(tmp_path), mode=mode), engine, tmp_path / mode)
        runner.run()
        for result in runner.stored_results():
            assert result["label"] in LABELS, "even a tiny model can only answer a label"
            assert 0.0 < result["probability"] <= 1.0
            if mode == "likelihood":
                assert set(result["scores"]) == set(LABELS)
                assert result["probability"] >= 0.5


def test_the_summary_counts_and_scores_what_the_results_say(
    engine: ChatEngine, tmp_path: Path
) -> None:
    runner = BatchRunner(_spec(_data(tmp_path)), engine, tmp_path / "runs")
    runner.run()
    summary = summarise(runner, noun="reviews")
    predictions = [result["label"] for result in runner.stored_results()]
    references = [label for _, label in REVIEWS]
    assert summary.counts == {label: predictions.count(label) for label in LABELS}
    assert str(predictions.count("positive")) in summary.sentence
    report = summary.classification
    assert report is not None
    correct = sum(p == r for p, r in zip(predictions, references, strict=True))
    assert report.correct == correct
    assert report.accuracy == correct / len(REVIEWS)
    confusion = [[0, 0], [0, 0]]
    for reference, prediction in zip(references, predictions, strict=True):
        confusion[LABELS.index(reference)][LABELS.index(prediction)] += 1
    assert [list(row) for row in report.confusion] == confusion
    json.dumps(summary.to_json())


def test_a_bad_row_gets_its_reason_and_the_run_goes_on(engine: ChatEngine, tmp_path: Path) -> None:
    data = tmp_path / "mixed.csv"
    long_review = "The soup was fine. " * 400  # far past a 512-token context
    data.write_text(
        "text,label\n"
        "Great food,positive\n"
        f'"{long_review}",negative\n'
        "Too,many,cells,here\n"
        "Awful service,negative\n",
        encoding="utf-8",
    )
    runner = BatchRunner(_spec(data), engine, tmp_path / "runs")
    outcome = runner.run()
    assert outcome.done == 4
    results = list(runner.stored_results())
    assert results[0]["error"] is None and results[3]["error"] is None
    assert "context window" in results[1]["error"]
    assert "cells" in results[2]["error"]
    summary = summarise(runner)
    assert summary.errors == 2 and summary.items == 4


def test_a_line_a_kill_left_half_written_is_read_again(engine: ChatEngine, tmp_path: Path) -> None:
    spec = _spec(_data(tmp_path))
    whole = BatchRunner(spec, engine, tmp_path / "whole")
    whole.run()
    expected = (whole.folder / "results.jsonl").read_bytes()
    cut = BatchRunner(spec, engine, tmp_path / "cut")
    cut.folder.mkdir(parents=True)
    lines = expected.splitlines(keepends=True)
    (cut.folder / "results.jsonl").write_bytes(b"".join(lines[:2]) + lines[2][:9])
    assert cut.completed() == 2
    cut.run()
    assert (cut.folder / "results.jsonl").read_bytes() == expected


def test_the_export_keeps_every_input_column(engine: ChatEngine, tmp_path: Path) -> None:
    data = tmp_path / "reviews.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": index, "text": text, "label": label, "shop": "Chez Ünïcode"}) + "\n"
            for index, (text, label) in enumerate(REVIEWS[:3])
        ),
        encoding="utf-8",
    )
    runner = BatchRunner(_spec(data), engine, tmp_path / "runs")
    runner.run()
    exported = tmp_path / "out" / "results.csv"
    assert export_csv(runner, exported) == 3
    with exported.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0])[:4] == ["id", "text", "label", "shop"]
    assert rows[2]["shop"] == "Chez Ünïcode" and rows[2]["id"] == "2"
    assert {row["result_label"] for row in rows} <= set(LABELS)
    assert {row["correct"] for row in rows} <= {"true", "false"}
    # Each row says what it was answered from: the prompt it read, the model and the seed.
    assert all(int(row["prompt_tokens"]) > int(row["tokens"]) >= 1 for row in rows)
    assert {(row["model"], row["seed"]) for row in rows} == {(runner.model_name, "0")}


def test_a_model_switched_during_a_run_stops_it_where_it_was(
    starter_model: Path, templateless_model: Path, tmp_path: Path
) -> None:
    engine = ChatEngine()
    try:
        engine.load(starter_model, ModelSettings(context_length=512)).result()
        runner = BatchRunner(_spec(_data(tmp_path)), engine, tmp_path / "runs")

        def switch_after_two(progress: Progress) -> None:
            if progress.done == 2:
                engine.load(templateless_model, ModelSettings(context_length=512)).result()

        with pytest.raises(ModelChangedError, match="changed"):
            runner.run(on_progress=switch_after_two)
        assert runner.completed() == 2, "what was done is kept"
    finally:
        engine.close()
