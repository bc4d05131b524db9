"""Variants compared over the same rows: what each says about itself, what may be compared, the
rows where they disagree, and variants that differ by model or by LoRA scale, each run on an
engine of its own while the chat's stays as it was."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.errors import EngineError
from desktop.core.lab.batch import BatchRunner, BatchSpec
from desktop.core.lab.compare import (
    check_comparable,
    compared_rows,
    describe_settings,
    describe_spec,
    variant_result,
)
from desktop.core.lab.templates import Example
from desktop.core.lab.variant_models import (
    ModelChoice,
    chat_choice,
    engine_for,
    installed_chat_models,
)
from desktop.core.llm.engine import ChatEngine
from desktop.core.settings.schema import ModelSettings
from tests.support.lora import write_lora

REVIEWS = [
    ("The food was wonderful.", "positive"),
    ("Cold soup and rude staff.", "negative"),
    ("Best pizza in town!", "positive"),
    ("A dry, overpriced burger.", "negative"),
]
LABELS = ("positive", "negative")
TEMPLATE = "Review: {text}\nSentiment:"
OPTIONS = ModelSettings(context_length=512)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.tsv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(REVIEWS)
    return path


@pytest.fixture
def chat(starter_model: Path) -> Iterator[ChatEngine]:
    engine = ChatEngine()
    engine.load(starter_model, OPTIONS).result()
    yield engine
    engine.close()


def _spec(data: Path, **changes: object) -> BatchSpec:
    spec = BatchSpec(data, TEMPLATE, labels=LABELS, reference_column="label")
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]


def test_a_variant_and_its_settings_are_described_in_words(data: Path) -> None:
    few_shot = _spec(data, examples=(Example({"text": "Yum."}, "positive"),))
    assert describe_spec(_spec(data)).startswith("likeliest label, no examples")
    assert describe_spec(few_shot).startswith("likeliest label, 1 examples")
    sampled = _spec(data, mode="free", temperature=0.7, seed=5)
    assert "temperature 0.7" in describe_spec(sampled)
    line = describe_settings(sampled, "SmolLM2")
    assert line.startswith("Run on SmolLM2")
    assert "top-p 0.95" in line and "seed 5" in line and "up to 32 tokens" in line
    assert "no sampling" in describe_settings(_spec(data), "SmolLM2")


def test_only_the_same_rows_against_the_same_reference_are_compared(
    data: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.tsv"
    other.write_bytes(data.read_bytes())
    check_comparable([_spec(data), _spec(data, examples=())])
    with pytest.raises(EngineError, match="two to 4"):
        check_comparable([_spec(data)])
    with pytest.raises(EngineError, match="same file"):
        check_comparable([_spec(data), _spec(other)])
    with pytest.raises(EngineError, match="same reference"):
        check_comparable([_spec(data), _spec(data, reference_column=None)])


def test_rows_are_joined_across_variants_and_disagreements_found(
    chat: ChatEngine, data: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    likelihood = BatchRunner(_spec(data), chat, runs)
    constrained = BatchRunner(_spec(data, mode="constrained"), chat, runs)
    likelihood.run()
    constrained.run(control=None)
    rows = list(compared_rows([likelihood, constrained]))
    assert [row.row for row in rows] == list(range(1, len(REVIEWS) + 1))
    assert [row.reference for row in rows] == [label for _, label in REVIEWS]
    for row in rows:
        assert all(answer in LABELS for answer in row.answers)
        assert row.agree == (row.answers[0] == row.answers[1])
    result = variant_result("A", likelihood)
    reply = result.to_json()
    assert reply["name"] == "A" and reply["done"] == len(REVIEWS)
    assert 0.0 <= reply["accuracy"] <= 1.0 and reply["items_per_s"] > 0


def test_a_variant_on_another_model_gets_an_engine_of_its_own(
    chat: ChatEngine, starter_model: Path, templateless_model: Path, data: Path, tmp_path: Path
) -> None:
    before = chat_choice(chat)
    assert before is not None
    with engine_for(before, chat) as same:
        assert same is chat, "the chat's own model is not loaded twice"
    other = before.on_model(templateless_model)
    with engine_for(other, chat) as engine:
        assert engine is not chat
        assert engine.info is not None and engine.info.path == templateless_model
        runner = BatchRunner(_spec(data), engine, tmp_path / "runs")
        assert runner.run().state == "finished"
        assert runner.model_name == other.identity
    assert chat_choice(chat) == before, "the chat keeps its model"
    adapter = write_lora(tmp_path / "adapter.gguf", starter_model)
    found = installed_chat_models(tmp_path, [templateless_model, templateless_model])
    assert found == [templateless_model], "each model once, and an adapter is no model"
    assert adapter.is_file()


def test_lora_scales_are_variants_and_scale_zero_answers_as_the_model(
    chat: ChatEngine, starter_model: Path, data: Path, tmp_path: Path
) -> None:
    adapter = write_lora(tmp_path / "strong.gguf", starter_model, strength=4.0)
    with_adapter = ModelChoice(starter_model, dataclasses.replace(OPTIONS, lora_path=str(adapter)))
    assert with_adapter.identity == f"{starter_model.stem} + LoRA strong ×1"
    spec = _spec(data)
    runs = tmp_path / "runs"
    scores: dict[float, list[dict[str, float]]] = {}
    for scale in (0.0, 1.0):
        choice = with_adapter.with_lora_scale(scale)
        with engine_for(choice, chat) as engine:
            assert engine is not chat
            runner = BatchRunner(spec, engine, runs)
            runner.run()
            assert runner.model_name == choice.identity
            scores[scale] = [result["scores"] for result in runner.stored_results()]
    base = BatchRunner(spec, chat, runs)
    base.run()
    plain = [result["scores"] for result in base.stored_results()]
    flat = [score for row in plain for score in row.values()]
    at_zero = [score for row in scores[0.0] for score in row.values()]
    at_one = [score for row in scores[1.0] for score in row.values()]
    assert at_zero == pytest.approx(flat, abs=1e-4), "scale 0 scores as the model alone"
    assert max(abs(a - b) for a, b in zip(at_one, flat, strict=True)) > 1e-2, "it changes them"


def test_a_choice_that_cannot_load_says_why_and_the_chat_goes_on(
    chat: ChatEngine, starter_model: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "not-an-adapter.gguf"
    wrong.write_bytes(starter_model.read_bytes()[:4096])
    choice = ModelChoice(starter_model, dataclasses.replace(OPTIONS, lora_path=str(wrong)))
    with pytest.raises(EngineError), engine_for(choice, chat):
        pass
    missing = ModelChoice(tmp_path / "gone.gguf", OPTIONS)
    with pytest.raises(EngineError), engine_for(missing, chat):
        pass
    assert chat.info is not None and chat.info.path == starter_model
