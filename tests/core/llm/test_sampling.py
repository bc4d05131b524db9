"""Folio's sampler chain: the same tokens as the binding's, for less work per token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.llm import sampling
from desktop.core.llm.sampling import SparsePenalties


def test_a_repeated_word_is_penalised_as_llama_cpp_does() -> None:
    penalties = SparsePenalties(last_n=64, repeat=1.25, frequency=0.5, presence=0.25)
    for token in (7, 7, 9):
        penalties.accept(token)
    penalised = penalties.penalise({7: 2.0, 9: -1.0, 11: 3.0})
    # Positive logits are divided, the others multiplied; then count * frequency + presence.
    assert penalised[7] == pytest.approx(2.0 / 1.25 - 2 * 0.5 - 0.25)
    assert penalised[9] == pytest.approx(-1.0 * 1.25 - 1 * 0.5 - 0.25)
    assert penalised[11] == 3.0


def test_only_the_last_n_generated_tokens_count() -> None:
    penalties = SparsePenalties(last_n=2, repeat=2.0, frequency=0.0, presence=0.0)
    for token in (1, 2, 3):
        penalties.accept(token)
    assert penalties.penalise({1: 4.0, 2: 4.0, 3: 4.0}) == {1: 4.0, 2: 2.0, 3: 2.0}


def _candidates(ids: list[int], logits: list[float]) -> tuple[object, object]:
    import ctypes

    import llama_cpp

    data = (llama_cpp.llama_token_data * len(ids))(
        *(
            llama_cpp.llama_token_data(token, logit, 0.0)
            for token, logit in zip(ids, logits, strict=True)
        )
    )
    array = llama_cpp.llama_token_data_array(data, len(ids), -1, True)
    return data, ctypes.pointer(array)


@pytest.mark.parametrize("ids", [[0, 1, 2, 3], [3, 0, 2]])
def test_the_stage_finds_repeated_words_in_the_whole_list_or_a_shortened_one(
    ids: list[int],
) -> None:
    penalties = SparsePenalties(last_n=8, repeat=2.0, frequency=0.0, presence=0.0)
    penalties.accept(2)
    penalties.accept(3)
    data, pointer = _candidates(ids, [4.0] * len(ids))
    penalties.apply(pointer)
    logits = {entry.id: entry.logit for entry in data}  # type: ignore[attr-defined]
    assert logits == {token: 2.0 if token in (2, 3) else 4.0 for token in ids}
    assert not pointer.contents.sorted  # type: ignore[attr-defined]


def test_neutral_penalties_leave_the_stage_out() -> None:
    assert SparsePenalties(64, 1.0, 0.0, 0.0).disabled
    assert SparsePenalties(0, 1.3, 0.0, 0.0).disabled
    assert not SparsePenalties(64, 1.0, 0.0, 0.1).disabled


@pytest.fixture(scope="module")
def llama(starter_model: Path) -> Iterator[object]:
    from llama_cpp import Llama

    instance = Llama(str(starter_model), n_ctx=512, n_threads=1, flash_attn=True, verbose=False)
    yield instance
    instance.close()


def _tokens(llama: object, repeat_penalty: float, count: int = 60) -> list[int]:
    llama.set_seed(11)  # type: ignore[attr-defined]
    prompt = llama.tokenize(b"The cat sat on the the the the", add_bos=True)  # type: ignore[attr-defined]
    produced: list[int] = []
    generator = llama.generate(  # type: ignore[attr-defined]
        prompt,
        temp=0.9,
        top_k=40,
        top_p=0.95,
        min_p=0.05,
        repeat_penalty=repeat_penalty,
        frequency_penalty=0.2,
        presence_penalty=0.3,
        reset=True,
    )
    for token in generator:
        produced.append(token)
        if len(produced) >= count:
            break
    generator.close()
    return produced


@pytest.mark.parametrize("repeat_penalty", [1.1, 1.6])
def test_the_chain_draws_the_same_tokens_as_the_binding(
    llama: object, repeat_penalty: float
) -> None:
    binding = _tokens(llama, repeat_penalty)
    sampling.install(llama)
    try:
        folio = _tokens(llama, repeat_penalty)
    finally:
        sampling.uninstall(llama)
    assert folio == binding
    # Strong penalties really changed the draw (the test would pass trivially otherwise).
    assert binding != _tokens(llama, 1.0)
