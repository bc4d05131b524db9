"""LoRA adapters on the starter model: scale 0 is the model itself, a real scale changes what
it writes, and a wrong adapter is refused with why while the model keeps working."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.llm.engine import ChatEngine, ChatRequest, ModelInfo
from desktop.core.settings.schema import GenerationSettings, ModelSettings
from tests.support.lora import write_lora

QUESTION = "Name three colours."


@pytest.fixture(scope="module")
def adapter(starter_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lora(tmp_path_factory.mktemp("lora") / "colours.gguf", starter_model)


@pytest.fixture
def engine() -> Iterator[ChatEngine]:
    instance = ChatEngine()
    yield instance
    instance.close()


def _tokens(engine: ChatEngine) -> tuple[int, ...]:
    """The greedy answer's token ids (from its probabilities), not its words."""
    params = dataclasses.replace(GenerationSettings(), temperature=0.0, max_tokens=24)
    request = ChatRequest(QUESTION, params=params, logprobs=1)
    result = engine.generate(request, threading.Event()).result()
    return tuple(step.token for step in result.probabilities)


def _load(engine: ChatEngine, model: Path, lora: Path | None, scale: float = 1.0) -> ModelInfo:
    options = ModelSettings(
        context_length=512, lora_path=str(lora) if lora else "", lora_scale=scale
    )
    return engine.load(model, options).result()


def test_scale_zero_is_the_base_model_and_a_real_scale_changes_it(
    engine: ChatEngine, starter_model: Path, adapter: Path
) -> None:
    _load(engine, starter_model, None)
    base = _tokens(engine)
    info = _load(engine, starter_model, adapter, 0.0)
    assert info.lora == "colours" and info.lora_scale == 0.0 and not info.lora_problem
    assert _tokens(engine) == base
    info = _load(engine, starter_model, adapter, 1.0)
    assert info.lora == "colours" and info.lora_scale == 1.0
    assert _tokens(engine) != base


@pytest.mark.parametrize("kind", ["another architecture", "another size", "not a LoRA", "cut"])
def test_a_wrong_adapter_is_refused_with_why_and_the_model_still_answers(
    engine: ChatEngine, starter_model: Path, tmp_path: Path, kind: str
) -> None:
    if kind == "another architecture":
        wrong = write_lora(tmp_path / "gemma.gguf", starter_model, architecture="gemma3")
        expected = "for “gemma3” models"
    elif kind == "another size":
        wrong = write_lora(tmp_path / "small.gguf", starter_model, shrink=64)
        expected = "cannot be applied"
    elif kind == "not a LoRA":
        wrong = starter_model
        expected = "is not a LoRA adapter"
    else:
        whole = write_lora(tmp_path / "whole.gguf", starter_model).read_bytes()
        wrong = tmp_path / "cut.gguf"
        wrong.write_bytes(whole[: len(whole) // 2])
        expected = "truncated"
    info = _load(engine, starter_model, wrong)
    assert info.lora == "" and expected in info.lora_problem
    assert _tokens(engine), "the model works without the adapter"
