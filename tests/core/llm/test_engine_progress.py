"""The engine on the starter model: a looping answer is stopped and cut, and a long prompt
reports its reading progress."""

from __future__ import annotations

import threading
from dataclasses import replace

from desktop.core.llm.engine import PREFILL_SLICE_TOKENS, ChatEngine, ChatRequest, GenerationSink
from desktop.core.llm.repetition import without_repeats
from desktop.core.settings.schema import GenerationSettings

GREEDY = replace(GenerationSettings(), temperature=0.0, seed=0, max_tokens=300)


class ProgressSink(GenerationSink):
    def __init__(self) -> None:
        self.progress: list[tuple[int, int]] = []
        self.texts: list[str] = []

    def prefill_progressed(self, done: int, total: int) -> None:
        self.progress.append((done, total))

    def text_received(self, text: str) -> None:
        self.texts.append(text)


def test_an_answer_that_loops_is_stopped_long_before_its_length_limit(
    starter_engine: ChatEngine,
) -> None:
    # An answer already twelve copies deep into a loop, continued greedily: a small model
    # carries the pattern on, which is how such loops run to the length limit.
    request = ChatRequest(
        question="Say one sentence.", continue_from="The sky is blue. " * 12, params=GREEDY
    )

    result = starter_engine.generate(request, threading.Event()).result()

    if result.finish_reason == "repetition":
        assert result.completion_tokens < 100
        assert result.text.count("The sky is blue.") <= 1
    else:
        # Another CPU may write other words; whatever it wrote, no loop went unnoticed in it.
        assert without_repeats(result.text) == result.text


def test_an_ordinary_answer_is_not_taken_for_a_loop(starter_engine: ChatEngine) -> None:
    request = ChatRequest(question="Name three colours.", params=GREEDY)

    result = starter_engine.generate(request, threading.Event()).result()

    assert result.finish_reason in ("stop", "length") and result.text.strip()


def test_a_long_prompt_reports_its_reading_in_slices_then_answers(
    starter_engine: ChatEngine,
) -> None:
    sources = "\n".join(f"[{n}] The warehouse in town {n} opened in {1990 + n}." for n in range(80))
    sink = ProgressSink()
    params = replace(GREEDY, max_tokens=8)

    result = starter_engine.generate(
        ChatRequest(question=f"{sources}\nWhich warehouse opened first?", params=params),
        threading.Event(),
        sink,
    ).result()

    assert result.prompt_tokens > 3 * PREFILL_SLICE_TOKENS
    done = [tokens for tokens, _ in sink.progress]
    assert len(done) >= 3 and done == sorted(done)
    assert {total for _, total in sink.progress} == {result.prompt_tokens}
    # All but the last token are read in slices; the last one is decoded with the first answer.
    assert done[-1] == result.prompt_tokens - 1
    assert result.completion_tokens > 0 and "".join(sink.texts).strip()


def test_a_second_question_on_the_same_prompt_reads_only_what_is_new(
    starter_engine: ChatEngine,
) -> None:
    sources = "\n".join(f"[{n}] Store {n} sells {n * 3} bicycles a week." for n in range(60))
    params = replace(GenerationSettings(), temperature=0.7, seed=-1, max_tokens=4)
    first, second = ProgressSink(), ProgressSink()

    for sink in (first, second):
        starter_engine.generate(
            ChatRequest(question=f"{sources}\nWhich store sells most?", params=params),
            threading.Event(),
            sink,
        ).result()

    # The cached prefix counts as read from the start: the second reading starts far ahead.
    assert first.progress[0][0] < second.progress[0][0]
