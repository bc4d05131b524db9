"""What the model thought at each generated token: its probability, its rank and the words it
could have written instead, as the model saw them and after the sampler chain.

Everything here comes from the logits of the position being decoded, which llama.cpp holds for
the last token of every decode anyway: no second pass over the prompt and no ``logits_all``.
The raw view is a log-softmax over the whole vocabulary; the sampled view is what survived
top-k, top-p and min-p, rescaled by the temperature, as the chain's last stage saw it (or, for a
preview with no generation behind it, as :func:`apply_chain` computes it with llama.cpp's
arithmetic). All numbers are plain Python floats, so they go to JSON as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Alternative:
    """One word the model could have written at a position."""

    token: int
    text: str
    logprob: float
    # Within what the sampler chain kept, rescaled by the temperature; 0.0 when it was cut.
    # None when the chain is not known (a preview without sampling settings).
    sampled: float | None

    @property
    def probability(self) -> float:
        return math.exp(self.logprob)

    @property
    def kept(self) -> bool:
        return bool(self.sampled)

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"token": self.text, "logprob": round(self.logprob, 6)}
        if self.sampled is not None:
            entry["sampled_probability"] = round(self.sampled, 6)
        return entry


@dataclass(frozen=True)
class TokenProbabilities:
    """The generated token at one position, with the alternatives the model ranked highest."""

    token: int
    text: str
    logprob: float
    # 1 is the model's favourite; a seeded draw at a temperature can pick a lower one.
    rank: int
    top: tuple[Alternative, ...]
    # How many words the chain kept at this position (1 at temperature 0).
    kept_count: int
    # The model's probability of the words kept, before the chain rescaled them.
    kept_mass: float

    @property
    def probability(self) -> float:
        return math.exp(self.logprob)

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.text,
            "logprob": round(self.logprob, 6),
            "rank": self.rank,
            "kept": self.kept_count,
            "top": [alternative.to_json() for alternative in self.top],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenProbabilities:
        """The stored form back (token ids are not stored: the texts are what is shown)."""
        top = tuple(
            Alternative(
                token=-1,
                text=str(item["token"]),
                logprob=float(item["logprob"]),
                sampled=(
                    float(item["sampled_probability"]) if "sampled_probability" in item else None
                ),
            )
            for item in data.get("top", [])
        )
        kept = [alternative for alternative in top if alternative.kept]
        return cls(
            token=-1,
            text=str(data["token"]),
            logprob=float(data["logprob"]),
            rank=int(data.get("rank", 0)),
            top=top,
            kept_count=int(data.get("kept", len(kept))),
            kept_mass=sum(alternative.probability for alternative in kept),
        )


@dataclass(frozen=True)
class SequenceScore:
    """An answer's total log-probability and perplexity, over its generated tokens."""

    tokens: int
    total_logprob: float

    @property
    def perplexity(self) -> float:
        if self.tokens == 0:
            return 1.0
        return math.exp(-self.total_logprob / self.tokens)

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "total_logprob": round(self.total_logprob, 4),
            "perplexity": round(self.perplexity, 4),
        }


def score_sequence(steps: Sequence[TokenProbabilities]) -> SequenceScore:
    return SequenceScore(len(steps), float(sum(step.logprob for step in steps)))


@dataclass(frozen=True)
class ChainSettings:
    """The sampler settings that decide which words can be drawn."""

    temperature: float
    top_k: int
    top_p: float
    min_p: float

    def describe(self) -> str:
        """In one line, as under a compared answer and above the lab's results."""
        if self.temperature == 0:
            return "temperature 0 (always the likeliest token)"
        return (
            f"temperature {self.temperature:g} · top-k {self.top_k} · top-p {self.top_p:g} · "
            f"min-p {self.min_p:g}"
        )


@dataclass(frozen=True)
class KeptWords:
    """The words the chain kept at one position and their probabilities to be drawn."""

    tokens: IdArray
    probabilities: FloatArray

    def as_dict(self) -> dict[int, float]:
        return {
            int(token): float(p) for token, p in zip(self.tokens, self.probabilities, strict=True)
        }


def log_softmax(logits: FloatArray) -> npt.NDArray[np.float64]:
    """Log-probabilities of the whole vocabulary, computed in float64 so that the tail's tiny
    probabilities keep their digits."""
    values = logits.astype(np.float64)
    peak = float(values.max())
    return values - (peak + math.log(float(np.exp(values - peak).sum())))


def top_indices(values: npt.NDArray[Any], count: int) -> IdArray:
    """The indices of the ``count`` largest values, largest first (ties by lower index)."""
    count = min(count, values.shape[0])
    if count <= 0:
        return np.zeros(0, dtype=np.int32)
    part = np.argpartition(-values, count - 1)[:count]
    # A stable sort on (-value, index) keeps the order llama.cpp's sort would give equal logits.
    order = np.lexsort((part, -values[part]))
    return part[order].astype(np.int32)


def apply_chain(logits: FloatArray, settings: ChainSettings) -> KeptWords:
    """llama.cpp's top-k, top-p, min-p and temperature stages, in that order, on raw logits.

    Used where no generation runs (the settings' live preview). The arithmetic follows
    ``llama-sampling.cpp``: top-k keeps the k best (all when k <= 0); top-p keeps the smallest
    head whose probabilities, softmaxed over what top-k kept, reach p; min-p keeps the words
    whose probability is at least p times the best one's; the temperature divides the logits.
    Temperature 0 is greedy: the best word alone.
    """
    if settings.temperature <= 0:
        best = top_indices(logits, 1)
        return KeptWords(best, np.ones(1, dtype=np.float32))
    k = settings.top_k if settings.top_k > 0 else logits.shape[0]
    tokens = top_indices(logits, k)
    kept_logits = logits[tokens].astype(np.float64)
    if settings.top_p < 1.0:
        shifted = np.exp(kept_logits - kept_logits[0])
        cumulative = np.cumsum(shifted / shifted.sum())
        # The first position where the running sum reaches p is the last one kept.
        last = int(np.searchsorted(cumulative, settings.top_p, side="left")) + 1
        tokens, kept_logits = tokens[:last], kept_logits[:last]
    if settings.min_p > 0.0:
        floor = kept_logits[0] + math.log(settings.min_p)
        keep = kept_logits >= floor
        keep[0] = True
        tokens, kept_logits = tokens[keep], kept_logits[keep]
    scaled = kept_logits / settings.temperature
    weights = np.exp(scaled - scaled.max())
    return KeptWords(tokens.astype(np.int32), (weights / weights.sum()).astype(np.float32))


def kept_from_candidates(ids: IdArray, logits: FloatArray) -> KeptWords:
    """The chain's survivors as its last stage saw them: their logits are already divided by
    the temperature, so a softmax gives the draw's probabilities."""
    values = logits.astype(np.float64)
    weights = np.exp(values - values.max())
    return KeptWords(ids.astype(np.int32), (weights / weights.sum()).astype(np.float32))


def log_normaliser(logits: FloatArray) -> float:
    """log(sum(exp(logits))): a logit minus this is its log-probability. One pass of float32
    exponentials, summed in float64; this runs for every generated token."""
    peak = float(logits.max())
    return peak + math.log(float(np.exp(logits - peak).sum(dtype=np.float64)))


def describe_position(
    logits: FloatArray,
    chosen: int,
    top_n: int,
    text_of: Callable[[int], str],
    kept: KeptWords | None,
    chosen_text: str | None = None,
) -> TokenProbabilities:
    """The probabilities at one position, from its raw logits and what the chain kept.

    ``kept`` None means the chain is not known; the chosen word then counts as the one kept.
    ``chosen_text`` is the chosen token's share of the answer's text, where a character split
    over two tokens is written with the second.
    """
    normaliser = log_normaliser(logits)
    chosen_logit = logits[chosen]
    # Rank among the whole vocabulary: how many words the model found more likely, plus one.
    rank = int(np.count_nonzero(logits > chosen_logit)) + 1
    drawn = kept.as_dict() if kept is not None else None
    top = tuple(
        Alternative(
            token=int(token),
            text=text_of(int(token)),
            logprob=float(logits[token]) - normaliser,
            sampled=(drawn.get(int(token), 0.0) if drawn is not None else None),
        )
        for token in top_indices(logits, top_n)
    )
    chosen_logprob = float(chosen_logit) - normaliser
    if kept is not None:
        kept_count = int(kept.tokens.shape[0])
        kept_mass = float(np.exp(logits[kept.tokens].astype(np.float64) - normaliser).sum())
    else:
        kept_count, kept_mass = 1, math.exp(chosen_logprob)
    return TokenProbabilities(
        token=chosen,
        text=text_of(chosen) if chosen_text is None else chosen_text,
        logprob=chosen_logprob,
        rank=rank,
        top=top,
        kept_count=kept_count,
        kept_mass=kept_mass,
    )
