"""Token probabilities: llama.cpp's own choice, its arithmetic, and plain numbers for JSON."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.core.llm import binding, sampling
from desktop.core.llm.engine import ChatEngine, ChatRequest
from desktop.core.llm.inspection import PromptInspection
from desktop.core.llm.probabilities import (
    ChainSettings,
    TokenProbabilities,
    apply_chain,
    describe_position,
    score_sequence,
)
from desktop.core.llm.prompting import ChatMessage
from desktop.core.settings.schema import GenerationSettings, ModelSettings


def _logits(*values: float) -> Any:
    return np.array(values, dtype=np.float32)


def test_top_k_keeps_the_best_words_and_temperature_zero_the_best_alone() -> None:
    logits = _logits(1.0, 3.0, 2.0, 0.0)
    kept = apply_chain(logits, ChainSettings(temperature=1.0, top_k=2, top_p=1.0, min_p=0.0))
    assert kept.tokens.tolist() == [1, 2]
    # Softmax over the two kept: e^3 / (e^3 + e^2).
    assert kept.probabilities[0] == pytest.approx(math.e / (math.e + 1), rel=1e-5)
    greedy = apply_chain(logits, ChainSettings(temperature=0.0, top_k=40, top_p=0.5, min_p=0.5))
    assert greedy.as_dict() == {1: 1.0}


def test_top_p_keeps_the_smallest_head_reaching_p() -> None:
    # Probabilities 0.5, 0.3, 0.15, 0.05: p 0.8 is reached by the second word, p 0.81 by the third.
    logits = _logits(*np.log([0.5, 0.3, 0.15, 0.05]).tolist())
    chain = ChainSettings(temperature=1.0, top_k=0, top_p=0.8, min_p=0.0)
    assert apply_chain(logits, chain).tokens.tolist() == [0, 1]
    chain = dataclasses.replace(chain, top_p=0.81)
    assert apply_chain(logits, chain).tokens.tolist() == [0, 1, 2]


def test_min_p_keeps_words_at_least_p_times_as_likely_as_the_best() -> None:
    logits = _logits(*np.log([0.5, 0.3, 0.15, 0.05]).tolist())
    # 0.3 / 0.5 = 0.6 and 0.15 / 0.5 = 0.3: min-p 0.29 keeps three, 0.31 two.
    kept = apply_chain(logits, ChainSettings(temperature=1.0, top_k=0, top_p=1.0, min_p=0.29))
    assert kept.tokens.tolist() == [0, 1, 2]
    kept = apply_chain(logits, ChainSettings(temperature=1.0, top_k=0, top_p=1.0, min_p=0.31))
    assert kept.tokens.tolist() == [0, 1]


def test_a_higher_temperature_flattens_what_is_kept() -> None:
    logits = _logits(2.0, 1.0, 0.0)
    cold = apply_chain(logits, ChainSettings(0.5, 0, 1.0, 0.0)).probabilities
    hot = apply_chain(logits, ChainSettings(2.0, 0, 1.0, 0.0)).probabilities
    assert cold[0] > hot[0] and cold[2] < hot[2]
    assert float(cold.sum()) == pytest.approx(1.0, abs=1e-6)


def test_a_position_gives_log_probabilities_a_rank_and_plain_floats() -> None:
    logits = _logits(0.0, 2.0, 1.0, -1.0)
    kept = apply_chain(logits, ChainSettings(1.0, 2, 1.0, 0.0))
    step = describe_position(logits, 2, 3, lambda token: f"w{token}", kept)
    total = math.log(sum(math.exp(value) for value in (0.0, 2.0, 1.0, -1.0)))
    assert step.rank == 2
    assert step.logprob == pytest.approx(1.0 - total, abs=1e-6)
    assert [alternative.text for alternative in step.top] == ["w1", "w2", "w0"]
    assert [alternative.kept for alternative in step.top] == [True, True, False]
    assert step.kept_mass == pytest.approx(math.exp(2 - total) + math.exp(1 - total), abs=1e-6)
    encoded = json.loads(json.dumps(step.to_json()))
    assert type(encoded["logprob"]) is float
    assert all(type(item["logprob"]) is float for item in encoded["top"])
    again = TokenProbabilities.from_json(encoded)
    assert again.text == "w2" and again.rank == 2 and again.kept_count == 2


@pytest.fixture(scope="module")
def engine(starter_model: Path) -> Iterator[ChatEngine]:
    instance = ChatEngine()
    instance.load(starter_model).result()
    yield instance
    instance.close()


def _answer(engine: ChatEngine, **settings: Any) -> Any:
    params = dataclasses.replace(GenerationSettings(), max_tokens=16, **settings)
    request = ChatRequest(question="Complete this: The sky is", params=params, logprobs=5)
    return engine.generate(request, threading.Event()).result()


def test_at_temperature_zero_the_chosen_token_is_the_models_favourite(
    engine: ChatEngine,
) -> None:
    result = _answer(engine, temperature=0.0, repeat_penalty=1.0)
    assert result.probabilities, "every generated token has its probabilities"
    assert len(result.probabilities) == result.completion_tokens
    for step in result.probabilities:
        assert step.rank == 1
        assert step.top[0].text == step.text or not step.text  # a split character shows later
        assert step.logprob <= 0.0
        assert sum(alternative.probability for alternative in step.top) <= 1.0 + 1e-6
        assert step.kept_count == 1
    # The tokens' texts are the answer (its first token loses the leading space it had).
    assert "".join(step.text for step in result.probabilities).strip() == result.text
    score = score_sequence(result.probabilities)
    assert score.perplexity >= 1.0
    assert score.total_logprob == pytest.approx(sum(s.logprob for s in result.probabilities))


def test_a_sampled_token_is_one_the_chain_kept(engine: ChatEngine) -> None:
    result = _answer(engine, temperature=1.0, top_p=0.9, seed=7)
    for step in result.probabilities:
        kept = [alternative for alternative in step.top if alternative.kept]
        assert step.kept_count >= 1
        sampled = sum(alternative.sampled or 0.0 for alternative in step.top)
        assert sampled <= 1.0 + 1e-5
        if step.rank <= len(step.top):
            assert step.top[step.rank - 1].kept, "the token drawn was among the words kept"
        assert len(kept) == min(step.kept_count, len(step.top)) or step.kept_count > len(kept)


def test_without_the_switch_nothing_is_recorded(engine: ChatEngine) -> None:
    params = dataclasses.replace(GenerationSettings(), max_tokens=4)
    result = engine.generate(ChatRequest("Hi", params=params), threading.Event()).result()
    assert result.probabilities == ()


@pytest.fixture(scope="module")
def llama(starter_model: Path) -> Iterator[Any]:
    from llama_cpp import Llama

    instance = Llama(str(starter_model), n_ctx=512, n_threads=1, flash_attn=True, verbose=False)
    yield instance
    instance.close()


@pytest.mark.parametrize(
    "chain",
    [ChainSettings(0.8, 40, 0.8, 0.05), ChainSettings(1.3, 10, 0.95, 0.0)],
    ids=["top-p 0.8", "top-k 10"],
)
def test_the_kept_words_are_those_llama_cpps_chain_keeps(llama: Any, chain: ChainSettings) -> None:
    """The preview's arithmetic against the chain's own survivors, token by token."""
    hooks = sampling.install(llama)
    hooks.observer = sampling.KeptObserver()
    try:
        llama.set_seed(5)
        prompt = llama.tokenize(b"Once upon a time, in a land far away,", add_bos=True)
        generator = llama.generate(
            prompt,
            temp=chain.temperature,
            top_k=chain.top_k,
            top_p=chain.top_p,
            min_p=chain.min_p,
            repeat_penalty=1.0,
            reset=True,
        )
        compared = 0
        for token in generator:
            observed = hooks.observer.kept
            assert observed is not None
            preview = apply_chain(binding.last_logits(llama), chain)
            assert sorted(preview.tokens.tolist()) == sorted(observed.tokens.tolist())
            assert token in observed.tokens.tolist()
            np.testing.assert_allclose(
                sorted(preview.probabilities), sorted(observed.probabilities), atol=1e-4
            )
            compared += 1
            if compared >= 24:
                break
        generator.close()
    finally:
        sampling.uninstall(llama)
    assert compared == 24


def test_the_prompts_parts_add_up_to_what_the_model_read(engine: ChatEngine) -> None:
    params = dataclasses.replace(GenerationSettings(), max_tokens=8)
    history: tuple[ChatMessage, ...] = (
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada!"},
    )
    request = ChatRequest(
        "What is my name?",
        history=history,
        system_prompt="Be brief.",
        params=params,
    )
    result = engine.generate(request, threading.Event()).result()
    inspection = result.prompt
    assert inspection is not None
    assert inspection.tokens == result.prompt_tokens
    assert sum(part.tokens for part in inspection.parts) == inspection.tokens
    assert [part.kind for part in inspection.parts] == [
        "system",
        "earlier",
        "earlier",
        "question",
        "template",
    ]
    assert all(part.tokens > 0 for part in inspection.parts)
    for part in inspection.parts[:-1]:
        assert part.text in inspection.text
    assert json.loads(json.dumps(inspection.to_json()))["tokens"] == inspection.tokens


def test_the_turns_that_did_not_fit_are_listed_apart_oldest_first(starter_model: Path) -> None:
    small = ChatEngine()
    try:
        small.load(starter_model, ModelSettings(context_length=512)).result()
        history: list[ChatMessage] = []
        for turn in range(12):
            history.append({"role": "user", "content": f"Turn {turn}: " + "tell me more. " * 12})
            history.append({"role": "assistant", "content": f"Answer {turn}: " + "more. " * 12})
        params = dataclasses.replace(GenerationSettings(), max_tokens=4)
        request = ChatRequest("And now?", history=tuple(history), params=params)
        result = small.generate(request, threading.Event()).result()
    finally:
        small.close()
    inspection = result.prompt
    assert inspection is not None and inspection.dropped_messages > 0
    left_out = inspection.left_out
    assert len(left_out) == inspection.dropped_messages
    oldest = history[: len(left_out)]
    assert [part.text for part in left_out] == [" ".join(m["content"].split()) for m in oldest]
    assert all(part.text not in inspection.text for part in left_out)
    assert sum(part.tokens for part in inspection.parts) == inspection.tokens, "not counted in"
    again = PromptInspection.from_json(json.loads(json.dumps(inspection.to_json())))
    assert again == inspection
