"""The sampler chain the chat engine gives llama.cpp, with a repetition penalty that costs
what it touches.

llama.cpp's penalties sampler looks every word of the vocabulary up in a hash map, every token:
about 1 ms per token for Gemma 3's 262,144 words, 4 % of its decode time on one core here. The
same penalty only ever changes the (at most ``last_n``) words recently generated, so this one
visits just those. The rest of the chain is llama-cpp-python's own, in its order: penalties,
top-k, top-p, min-p, temperature, then the seeded draw (or greedy at temperature 0). Typical-p,
mirostat and grammars, which Folio does not use, stay with the binding's own chain.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from desktop.core.llm import binding
from desktop.core.llm.probabilities import KeptWords, kept_from_candidates


class SparsePenalties:
    """Repeat, frequency and presence penalties over the last ``last_n`` generated tokens.

    Same arithmetic as llama.cpp's ``llama_sampler_penalties``: a repeated word's logit is
    divided by ``repeat`` (multiplied when not positive), then ``count * frequency + presence``
    is subtracted.
    """

    def __init__(self, last_n: int, repeat: float, frequency: float, presence: float) -> None:
        self.last_n = last_n
        self.repeat = repeat
        self.frequency = frequency
        self.presence = presence
        self._recent: deque[int] = deque()
        self._counts: Counter[int] = Counter()

    def stage(self) -> binding.CustomSampler:
        """This stage as llama.cpp's sampler chain calls it."""
        return binding.CustomSampler(self.apply, self.accept, self.reset)

    @property
    def disabled(self) -> bool:
        return self.last_n == 0 or (
            self.repeat == 1.0 and self.frequency == 0.0 and self.presence == 0.0
        )

    def penalise(self, logits: dict[int, float]) -> dict[int, float]:
        """The penalised logits of the given words (for tests and for the arithmetic's sake)."""
        return {token: self._penalised(token, logit) for token, logit in logits.items()}

    def _penalised(self, token: int, logit: float) -> float:
        count = self._counts.get(token, 0)
        if count == 0:
            return logit
        logit = logit * self.repeat if logit <= 0 else logit / self.repeat
        return logit - count * self.frequency - self.presence

    def accept(self, token: int) -> None:
        if self.last_n <= 0:
            return
        self._recent.append(token)
        self._counts[token] += 1
        if len(self._recent) > self.last_n:
            evicted = self._recent.popleft()
            self._counts[evicted] -= 1
            if self._counts[evicted] == 0:
                del self._counts[evicted]

    def reset(self) -> None:
        self._recent.clear()
        self._counts.clear()

    def apply(self, candidates_pointer: Any) -> None:
        """Penalise the recent words among the candidates (a ``llama_token_data_array``)."""
        if not self._counts:
            return
        candidates = candidates_pointer.contents
        data = candidates.data
        size = candidates.size
        # At the head of the chain llama.cpp lists the whole vocabulary in id order, so a
        # word's entry is at its id; a shortened list takes one pass for the words not there.
        missed: set[int] = set()
        for token in self._counts:
            if token < size:
                entry = data[token]
                if entry.id == token:
                    entry.logit = self._penalised(token, entry.logit)
                    continue
            missed.add(token)
        if missed:
            for index in range(size):
                entry = data[index]
                if entry.id in missed:
                    entry.logit = self._penalised(entry.id, entry.logit)
        candidates.sorted = False


class KeptObserver:
    """The chain's last stage before the draw: it records the words that survived top-k, top-p
    and min-p, with their logits already divided by the temperature, and changes nothing.

    Placed only when probabilities are asked for, so an ordinary answer pays nothing for it.
    """

    def __init__(self) -> None:
        self.kept: KeptWords | None = None

    def stage(self) -> binding.CustomSampler:
        return binding.CustomSampler(self.apply, lambda _token: None, self.reset)

    def apply(self, candidates_pointer: Any) -> None:
        ids, logits = binding.candidate_arrays(candidates_pointer)
        self.kept = kept_from_candidates(ids, logits)

    def reset(self) -> None:
        self.kept = None


class ChainHooks:
    """What the engine adds to the next chains built for one ``Llama``."""

    def __init__(self) -> None:
        self.observer: KeptObserver | None = None


def build_sampler(
    *,
    seed: int,
    last_n: int,
    top_k: int,
    top_p: float,
    min_p: float,
    temperature: float,
    repeat_penalty: float,
    frequency_penalty: float,
    presence_penalty: float,
    observer: KeptObserver | None = None,
) -> Any:
    """A sampler chain in the binding's order (see the module docstring); ``observer`` sees
    what is left just before the draw."""
    chain = binding.new_chain()
    penalties = SparsePenalties(last_n, repeat_penalty, frequency_penalty, presence_penalty)
    if not penalties.disabled:
        binding.add_custom(chain, penalties.stage())
    if temperature < 0.0:
        chain.add_dist(seed)
    elif temperature == 0.0:
        chain.add_greedy()
    else:
        chain.add_top_k(top_k)
        chain.add_top_p(top_p, 1)
        chain.add_min_p(min_p, 1)
        chain.add_temp(temperature)
        if observer is not None:
            binding.add_custom(chain, observer.stage())
        chain.add_dist(seed)
    return chain


# What the binding passes to its chain that Folio's chain does the same with; anything else
# set to a value that changes the draw (typical-p, mirostat, a grammar, logits processors)
# leaves the chain to the binding.
_NEUTRAL = {"typical_p": 1.0, "mirostat_mode": 0, "logits_processor": None, "grammar": None}


def _folio_chain(llama: Any, arguments: binding.SamplerArguments, hooks: ChainHooks) -> Any | None:
    if any(arguments.get(name, neutral) != neutral for name, neutral in _NEUTRAL.items()):
        return None
    return build_sampler(
        seed=binding.seed_of(llama),
        last_n=llama.last_n_tokens_size,
        top_k=arguments.get("top_k", 40),
        top_p=arguments.get("top_p", 0.95),
        min_p=arguments.get("min_p", 0.05),
        temperature=arguments.get("temp", 0.80),
        repeat_penalty=arguments.get("repeat_penalty", 1.0),
        frequency_penalty=arguments.get("frequency_penalty", 0.0),
        presence_penalty=arguments.get("presence_penalty", 0.0),
        observer=hooks.observer,
    )


def install(llama: Any) -> ChainHooks:
    """Makes ``llama.generate`` build Folio's chain instead of the binding's, where it covers
    what was asked for; the hooks returned add stages to the chains built from then on."""
    hooks = ChainHooks()
    binding.replace_sampler_chain(
        llama, lambda owner, arguments: _folio_chain(owner, arguments, hooks)
    )
    return hooks


def uninstall(llama: Any) -> None:
    binding.restore_sampler_chain(llama)
