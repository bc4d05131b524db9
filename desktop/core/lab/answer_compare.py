"""One question answered from two to four sides (another model, LoRA scale, temperature, seed),
each answer with what it cost and how likely the model found it: the chat's comparison of a
single prompt, as the lab's variants compare a whole file.

Sides run one after another, each on its own model's engine (see ``variant_models``), so their
speeds are measured alike and never share the processor; each answer streams as it is written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from desktop.core.lab.variant_models import ModelChoice, engine_for
from desktop.core.llm.engine import ChatEngine, ChatRequest, GenerationSink
from desktop.core.llm.probabilities import (
    ChainSettings,
    SequenceScore,
    TokenProbabilities,
    score_sequence,
)
from desktop.core.settings.schema import GenerationSettings

MAX_SIDES = 4


@dataclass(frozen=True)
class AnswerSide:
    """``model`` None: the chat's model as it is loaded when the side runs."""

    model: ModelChoice | None
    params: GenerationSettings


@dataclass(frozen=True)
class ComparedAnswer:
    model: str
    settings: str
    text: str
    finish_reason: str
    prompt_tokens: int
    tokens_per_s: float
    total_s: float
    seed: int
    score: SequenceScore

    def facts(self) -> str:
        """The answer's figures in one line, as under each side (the seed is in
        ``settings``)."""
        return (
            f"{self.score.tokens:,} tokens · {self.tokens_per_s:.1f} tokens/s · "
            f"log-probability {self.score.total_logprob:.2f} · perplexity "
            f"{self.score.perplexity:.2f} · ended: {self.finish_reason}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "settings": self.settings,
            "text": self.text,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "tokens_per_s": round(self.tokens_per_s, 2),
            "total_s": round(self.total_s, 3),
            "seed": self.seed,
            **self.score.to_json(),
        }


def describe_generation(params: GenerationSettings) -> str:
    """The sampling settings that decide the words, in one line."""
    seed = "a random seed" if params.seed < 0 else f"seed {params.seed}"
    chain = ChainSettings(params.temperature, params.top_k, params.top_p, params.min_p)
    return f"{chain.describe()} · {seed}"


class _Streamed(GenerationSink):
    def __init__(self, on_text: Callable[[str], None]) -> None:
        self._on_text = on_text

    def text_received(self, text: str) -> None:
        self._on_text(text)

    def token_scored(self, step: TokenProbabilities) -> None:
        """Kept by the engine in the result; nothing to do as it comes."""


def answer_from(
    question: str,
    side: AnswerSide,
    chat: ChatEngine,
    cancel: threading.Event,
    on_text: Callable[[str], None] = lambda _text: None,
) -> ComparedAnswer:
    """``question`` answered as ``side`` says, with nothing of the conversation before it (so
    the sides differ only by what they are set to). EngineError says why a side could not
    run; ``cancel`` stops the answer where it is."""
    params = side.params
    with engine_for(side.model, chat) as engine:
        assert engine.info is not None  # engine_for loads one or refuses
        # Read now: the chat's model could be switched once this answer is written.
        model = engine.info.identity
        request = ChatRequest(
            question=question,
            system_prompt=params.system_prompt,
            params=params,
            logprobs=1,
        )
        result = engine.generate(request, cancel, _Streamed(on_text)).result()
    return ComparedAnswer(
        model=model,
        settings=describe_generation(params),
        text=result.text,
        finish_reason=str(result.finish_reason),
        prompt_tokens=result.prompt_tokens,
        tokens_per_s=float(result.tokens_per_s),
        total_s=float(result.total_s),
        seed=result.seed,
        score=score_sequence(result.probabilities),
    )
