"""Reading many prompts that begin alike, and scoring what follows them, on the engine's model.

A batch of prompts shares its instructions and examples; only the item differs. The shared
prefix is read once and kept in the context; each item then reads only its own tokens after it
(measured about 3x faster than a full prompt per item on the starter model, more with examples).
The prefix is always read the same way, from an empty context in the same slices, and each item
from the same position, so an item's numbers do not depend on what ran before it: a run
resumed after a restart gives the same bytes as one that never stopped. ``Llama.generate``'s
own prefix reuse would not promise that (it reads a varying part of each prompt).

Every method runs on the engine's owner thread (see ``ChatEngine.run_on_model``).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop.core.errors import EngineError
from desktop.core.llm import binding
from desktop.core.llm.probabilities import (
    ChainSettings,
    FloatArray,
    apply_chain,
    log_normaliser,
    top_indices,
)
from desktop.core.llm.prompting import PromptFormat

if TYPE_CHECKING:
    from llama_cpp import Llama


class ItemTooLongError(EngineError):
    """One item does not fit in the context window with the shared prefix and the answer."""


@dataclass(frozen=True)
class NextWords:
    """The likeliest next tokens, best first: their texts and raw logits; a logit minus
    ``normaliser`` is its log-probability over the whole vocabulary."""

    texts: tuple[str, ...]
    logits: tuple[float, ...]
    normaliser: float


@dataclass(frozen=True)
class Decoded:
    tokens: tuple[int, ...]
    text: str
    logprob: float
    finish: str


class PrefixScorer:
    """Scores continuations of prompts that share a prefix, on one ``Llama``."""

    def __init__(
        self,
        llama: Llama,
        prompt_format: PromptFormat,
        n_ctx: int,
        model_name: str,
        tokenize: Callable[[str], list[int]],
    ) -> None:
        self._llama = llama
        self.prompt_format = prompt_format
        self.n_ctx = n_ctx
        self.model_name = model_name
        self.tokenize = tokenize
        self._pieces = binding.TokenPieces(llama)
        self._vocab = binding.vocabulary(llama)
        self._primed: tuple[int, ...] | None = None

    def invalidate(self) -> None:
        """Something else used the context (a chat answer): the prefix is read again."""
        self._primed = None

    def token_text(self, token: int) -> str:
        return self._pieces(token).decode("utf-8", errors="replace")

    def text_of(self, tokens: Sequence[int]) -> str:
        return b"".join(self._pieces(token) for token in tokens).decode("utf-8", errors="replace")

    def prime(self, prefix: Sequence[int]) -> None:
        """Read ``prefix`` into the context from empty, unless it is the prefix read last."""
        key = tuple(prefix)
        if self._primed == key:
            return
        llama = self._llama
        llama.reset()  # type: ignore[no-untyped-call]  # unannotated in the binding
        if key:
            llama.eval(list(key))
        self._primed = key

    def read_item(self, tokens: Sequence[int], answer_room: int) -> tuple[int, FloatArray]:
        """Read the item's whole prompt ``tokens`` (which begin with the primed prefix, or part
        of it), returning the position after it and the logits of its last token."""
        if self._primed is None:
            raise EngineError("The shared prefix was not read before the item.")
        if len(tokens) + answer_room > self.n_ctx:
            raise ItemTooLongError(
                f"This item's prompt is {len(tokens):,} tokens; with room for the answer "
                f"({answer_room:,}) it needs more than the context window of {self.n_ctx:,}. "
                "Shorten the item or the instructions, or raise the context length."
            )
        shared = 0
        for old, new in zip(self._primed, tokens, strict=False):
            if old != new:
                break
            shared += 1
        # The item's last token must be read here for its logits, so at least one is left.
        shared = min(shared, len(tokens) - 1)
        llama = self._llama
        llama.n_tokens = shared
        llama.eval(list(tokens[shared:]))
        return len(tokens), binding.last_logits(llama)

    def _step(self, position: int, token: int) -> FloatArray:
        llama = self._llama
        llama.n_tokens = position
        llama.eval([token])
        return binding.last_logits(llama)

    def sequence_logprobs(
        self, position: int, logits: FloatArray, sequences: Sequence[Sequence[int]]
    ) -> list[float]:
        """The log-probability of each token sequence following the item, summed over its
        tokens (sequences that share a beginning read it once)."""
        cache: dict[tuple[int, ...], FloatArray] = {(): logits}
        scores: list[float] = []
        for sequence in sequences:
            total = 0.0
            for index, token in enumerate(sequence):
                head = tuple(sequence[:index])
                current = cache.get(head)
                if current is None:
                    current = self._step(position + index - 1, sequence[index - 1])
                    cache[head] = current
                total += float(current[token]) - log_normaliser(current)
            scores.append(total)
        return scores

    def decode(
        self,
        position: int,
        logits: FloatArray,
        max_tokens: int,
        chain: ChainSettings,
        rng: np.random.Generator,
        allowed: Callable[[tuple[int, ...]], Sequence[int] | None] | None = None,
        stop_strings: Sequence[str] = (),
        first_bias: Mapping[int, float] | None = None,
    ) -> Decoded:
        """Write up to ``max_tokens`` tokens after the item.

        ``allowed(tokens so far)`` lists the only tokens that may come next (an empty list ends
        the answer) or returns None for no limit: a constrained answer picks among them alone.
        Greedy at temperature 0; otherwise a draw from ``rng`` after llama.cpp's chain, so the
        same seed gives the same answer whatever ran before. ``first_bias`` is added to the
        first token's logits before it is chosen (a constrained answer's calibration); the
        answer's log-probability stays the model's own.
        """
        produced: list[int] = []
        logprob = 0.0
        finish = "length"
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = ""
        current = logits
        while len(produced) < max_tokens:
            if position + len(produced) >= self.n_ctx:
                break
            choices = allowed(tuple(produced)) if allowed is not None else None
            if choices is not None and not choices:
                finish = "stop"
                break
            weighed = current
            if first_bias and not produced:
                weighed = current.copy()
                for biased, bias in first_bias.items():
                    weighed[biased] += bias
            token = self._choose(weighed, chain, rng, choices)
            if choices is None and binding.ends_generation(self._vocab, token):
                finish = "stop"
                break
            logprob += float(current[token]) - log_normaliser(current)
            produced.append(token)
            text += decoder.decode(self._pieces(token))
            cut = _first_stop(text, stop_strings)
            if cut is not None:
                text = text[:cut]
                finish = "stop"
                break
            if len(produced) < max_tokens:
                current = self._step(position + len(produced) - 1, token)
        text += decoder.decode(b"", final=True)
        return Decoded(tuple(produced), text, logprob, finish)

    def _choose(
        self,
        logits: FloatArray,
        chain: ChainSettings,
        rng: np.random.Generator,
        choices: Sequence[int] | None,
    ) -> int:
        if choices is not None:
            candidates = np.asarray(choices, dtype=np.int64)
            values = logits[candidates].astype(np.float64)
            if chain.temperature <= 0 or len(candidates) == 1:
                return int(candidates[int(np.argmax(values))])
            weights = np.exp((values - values.max()) / chain.temperature)
            return int(rng.choice(candidates, p=weights / weights.sum()))
        kept = apply_chain(logits, chain)
        if kept.tokens.shape[0] == 1:
            return int(kept.tokens[0])
        probabilities = kept.probabilities.astype(np.float64)
        return int(rng.choice(kept.tokens, p=probabilities / probabilities.sum()))

    def next_words(self, text: str, count: int = 200) -> NextWords:
        """The ``count`` likeliest next tokens after ``text`` read as a plain continuation (the
        settings' preview of the sampler)."""
        self.prime([])
        tokens = self.tokenize(text)
        position, logits = self.read_item(tokens, 1)
        del position
        best = top_indices(logits, count)
        return NextWords(
            texts=tuple(self.token_text(int(token)) for token in best),
            logits=tuple(float(logits[token]) for token in best),
            normaliser=log_normaliser(logits),
        )

    def end_tokens(self) -> tuple[int, ...]:
        """The tokens that end a turn in this model (for a constrained answer's last step)."""
        eos = self._llama.token_eos()
        return (eos,) if eos >= 0 else ()

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_name, "n_ctx": self.n_ctx}


def _first_stop(text: str, stops: Sequence[str]) -> int | None:
    positions = [index for stop in stops if stop and (index := text.find(stop)) >= 0]
    return min(positions) if positions else None
