"""Continue: the engine writes on from an answer's last word; the two parts' figures add up; a
documents answer is continued from the same sources under the same numbers."""

from __future__ import annotations

import threading

import pytest

from desktop.core.chat.continuation import (
    continuation_prefix,
    grounded_question,
    grounded_system_prompt,
    merged_stats,
)
from desktop.core.chat.rag import SourceRef, ground_question
from desktop.core.documents.records import LibraryHit
from desktop.core.llm.engine import ChatEngine, ChatRequest, GenerationResult, GenerationSink
from desktop.core.llm.prompting import ChatMessage, FittedPrompt
from desktop.core.settings.schema import GenerationSettings
from tests.core.chat.test_rag import hit

QUESTION = "Write a long story about a dragon who bakes bread."


def _hit(text: str, page: int, label: str) -> LibraryHit:
    return hit(text, 0.8, page, label)


def _ask(engine: ChatEngine, max_tokens: int, continue_from: str = "") -> GenerationResult:
    request = ChatRequest(
        question=QUESTION,
        history=(),
        system_prompt="You are a helpful assistant.",
        params=GenerationSettings(temperature=0.0, max_tokens=max_tokens),
        continue_from=continue_from,
    )
    return engine.generate(request, threading.Event(), None).result()


def test_continue_writes_more_of_the_same_answer(starter_engine: ChatEngine) -> None:
    cut = _ask(starter_engine, max_tokens=8)
    assert cut.finish_reason == "length" and cut.text.strip()

    more = _ask(starter_engine, max_tokens=8, continue_from=continuation_prefix(cut.text))
    assert more.text.strip()
    assert 0 < more.completion_tokens <= 8
    # The model was shown the answer so far: its prompt is the question's and then some.
    assert more.prompt_tokens > cut.prompt_tokens
    # What comes back is only what was added, ready to be appended.
    assert not more.text.startswith(cut.text.strip())


class _FittedOnly(GenerationSink):
    """Keeps each fitted prompt and stops there: reading a long prompt is not what is tested."""

    def __init__(self) -> None:
        self.fitted: list[FittedPrompt] = []
        self.cancel = threading.Event()

    def prompt_prepared(self, fitted: FittedPrompt) -> None:
        self.fitted.append(fitted)
        self.cancel.set()


def test_the_answer_so_far_is_counted_in_what_the_context_must_hold(
    starter_engine: ChatEngine,
) -> None:
    history: list[ChatMessage] = []
    for n in range(8):
        history.append({"role": "user", "content": f"Question {n}: " + "words " * 120})
        history.append({"role": "assistant", "content": f"Answer {n}: " + "words " * 120})
    recorder = _FittedOnly()
    for continue_from in ("", "Once upon a time, a dragon baked bread. " * 60):
        request = ChatRequest(
            question=QUESTION,
            history=tuple(history),
            system_prompt="",
            params=GenerationSettings(temperature=0.0, max_tokens=4),
            continue_from=continue_from,
        )
        recorder.cancel.clear()
        starter_engine.generate(request, recorder.cancel, recorder).result()
    plain, continued = recorder.fitted
    # Room was made for the long answer so far: more of the history was left out.
    assert continued.dropped_messages > plain.dropped_messages


def test_the_figures_of_both_parts_add_up() -> None:
    earlier = {
        "completion_tokens": 11,
        "tokens_per_s": 10.0,
        "ttft_s": 0.5,
        "total_s": 1.5,
        "finish_reason": "length",
        "model": "smol",
    }
    later = {
        "completion_tokens": 21,
        "tokens_per_s": 20.0,
        "ttft_s": 0.9,
        "total_s": 1.9,
        "finish_reason": "stop",
    }
    merged = merged_stats(earlier, later)
    assert merged["completion_tokens"] == 32
    assert merged["total_s"] == pytest.approx(3.4)
    # The first token came with the first part; the answer ended as the last part did.
    assert merged["ttft_s"] == 0.5
    assert merged["finish_reason"] == "stop"
    assert merged["model"] == "smol"
    # 10 tokens in 1 s, then 20 in 1 s: 30 tokens in 2 s.
    assert merged["tokens_per_s"] == pytest.approx(15.0)
    assert merged["continued"] == 1
    assert merged_stats(merged, later)["continued"] == 2


def test_figures_that_are_missing_or_not_numbers_count_as_nothing() -> None:
    merged = merged_stats({"completion_tokens": "many"}, {"completion_tokens": 3})
    assert merged["completion_tokens"] == 3
    assert merged["tokens_per_s"] == 0.0


def test_a_documents_answer_is_continued_with_the_question_it_was_asked() -> None:
    hits = [
        _hit("The rent is 900 euros a month.", page=3, label="3"),
        _hit("The deposit is two months of rent.", page=5, label="v"),
    ]
    grounded = ground_question(
        "How much is the rent?",
        hits,
        system_prompt="Be brief.",
        count_tokens=len,
        token_budget=10_000,
        threshold=0.0,
    )
    assert grounded.sources
    saved = [SourceRef.from_meta(SourceRef.from_source(s).to_meta()) for s in grounded.sources]
    sources = [source for source in saved if source is not None]
    assert grounded_question("How much is the rent?", sources) == grounded.prompt
    assert grounded_system_prompt("Be brief.") == grounded.system_prompt
    assert grounded_question("How much?", []) == "How much?"


def test_the_answer_so_far_is_shown_without_trailing_space() -> None:
    assert continuation_prefix("The capital is \n") == "The capital is"
