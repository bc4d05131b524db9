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

import ctypes
from collections import Counter, deque
from typing import Any


class SparsePenalties:
    """Repeat, frequency and presence penalties over the last ``last_n`` generated tokens.

    Same arithmetic as llama.cpp's ``llama_sampler_penalties``: a repeated word's logit is
    divided by ``repeat`` (multiplied when not positive), then ``count * frequency + presence``
    is subtracted.
    """

    def __init__(self, last_n: int, repeat: float, frequency: float, presence: float) -> None:
        import llama_cpp

        self.last_n = last_n
        self.repeat = repeat
        self.frequency = frequency
        self.presence = presence
        self._recent: deque[int] = deque()
        self._counts: Counter[int] = Counter()
        # The ctypes wrappers must live as long as llama.cpp may call them.
        self._apply_callback = llama_cpp.llama_sampler_i_apply(self._apply)
        self._accept_callback = llama_cpp.llama_sampler_i_accept(self._accept)
        self._reset_callback = llama_cpp.llama_sampler_i_reset(self._reset)
        interface = llama_cpp.llama_sampler_i()
        interface.name = llama_cpp.llama_sampler_i_name(0)
        interface.accept = self._accept_callback
        interface.apply = self._apply_callback
        interface.reset = self._reset_callback
        interface.clone = llama_cpp.llama_sampler_i_clone(0)
        interface.free = llama_cpp.llama_sampler_i_free(0)
        self._interface = interface
        self._sampler = llama_cpp.llama_sampler()
        self._sampler.iface = ctypes.pointer(interface)
        self._sampler.ctx = None

    @property
    def disabled(self) -> bool:
        return self.last_n == 0 or (
            self.repeat == 1.0 and self.frequency == 0.0 and self.presence == 0.0
        )

    def get_sampler(self) -> Any:
        return ctypes.pointer(self._sampler)

    def penalise(self, logits: dict[int, float]) -> dict[int, float]:
        """The penalised logits of the given words (for tests and for the arithmetic's sake)."""
        return {token: self._penalised(token, logit) for token, logit in logits.items()}

    def _penalised(self, token: int, logit: float) -> float:
        count = self._counts.get(token, 0)
        if count == 0:
            return logit
        logit = logit * self.repeat if logit <= 0 else logit / self.repeat
        return logit - count * self.frequency - self.presence

    def _accept(self, _sampler: Any, token: int) -> None:
        self.accept(token)

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

    def _reset(self, _sampler: Any) -> None:
        self._recent.clear()
        self._counts.clear()

    def _apply(self, _sampler: Any, candidates_pointer: Any) -> None:
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
) -> Any:
    """A ``llama_cpp._internals.LlamaSampler`` with Folio's chain (see the module docstring)."""
    import llama_cpp
    from llama_cpp import _internals

    sampler = _internals.LlamaSampler()  # type: ignore[no-untyped-call]  # unannotated
    penalties = SparsePenalties(last_n, repeat_penalty, frequency_penalty, presence_penalty)
    if not penalties.disabled:
        llama_cpp.llama_sampler_chain_add(sampler.sampler, penalties.get_sampler())
        # The chain must hand Python-owned samplers back before it is freed.
        index = llama_cpp.llama_sampler_chain_n(sampler.sampler) - 1
        sampler.custom_samplers.append((index, penalties))  # type: ignore[arg-type]
    if temperature < 0.0:
        sampler.add_dist(seed)
    elif temperature == 0.0:
        sampler.add_greedy()  # type: ignore[no-untyped-call]  # unannotated in the binding
    else:
        sampler.add_top_k(top_k)
        sampler.add_top_p(top_p, 1)
        sampler.add_min_p(min_p, 1)
        sampler.add_temp(temperature)
        sampler.add_dist(seed)
    return sampler


def install(llama: Any) -> None:
    """Makes ``llama.generate`` build Folio's chain instead of the binding's.

    The binding builds its chain in ``Llama._init_sampler`` at the start of every ``generate``;
    an instance attribute of that name takes its place. Anything this chain does not cover
    goes to the binding's method unchanged.
    """
    binding_chain = type(llama)._init_sampler

    def folio_chain(
        *,
        top_k: int = 40,
        top_p: float = 0.95,
        min_p: float = 0.05,
        typical_p: float = 1.0,
        temp: float = 0.80,
        repeat_penalty: float = 1.0,
        frequency_penalty: float = 0.0,
        presence_penalty: float = 0.0,
        mirostat_mode: int = 0,
        logits_processor: Any = None,
        grammar: Any = None,
        **others: Any,
    ) -> Any:
        if typical_p != 1.0 or mirostat_mode or logits_processor is not None or grammar:
            return binding_chain(
                llama,
                top_k=top_k,
                top_p=top_p,
                min_p=min_p,
                typical_p=typical_p,
                temp=temp,
                repeat_penalty=repeat_penalty,
                frequency_penalty=frequency_penalty,
                presence_penalty=presence_penalty,
                mirostat_mode=mirostat_mode,
                logits_processor=logits_processor,
                grammar=grammar,
                **others,
            )
        return build_sampler(
            seed=llama._seed,
            last_n=llama.last_n_tokens_size,
            top_k=top_k,
            top_p=top_p,
            min_p=min_p,
            temperature=temp,
            repeat_penalty=repeat_penalty,
            frequency_penalty=frequency_penalty,
            presence_penalty=presence_penalty,
        )

    llama._init_sampler = folio_chain
