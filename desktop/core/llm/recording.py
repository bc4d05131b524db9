"""Recording each generated token's probabilities during an answer, from the logits llama.cpp
holds for the position just decoded (see ``probabilities``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from desktop.core.llm import binding, sampling
from desktop.core.llm.probabilities import KeptWords, TokenProbabilities, describe_position

if TYPE_CHECKING:
    from llama_cpp import Llama


class ProbabilityRecorder:
    """Turns the logits of each generated position into its probabilities, as it is decoded."""

    def __init__(
        self,
        top_n: int,
        observer: sampling.KeptObserver | None,
        pieces_of: binding.TokenPieces,
        temperature: float,
    ) -> None:
        self.steps: list[TokenProbabilities] = []
        self._top_n = top_n
        self._observer = observer
        self._pieces_of = pieces_of
        self._greedy = temperature <= 0

    def _text_of(self, token: int) -> str:
        return self._pieces_of(token).decode("utf-8", errors="replace")

    def record(self, llama: Llama, token: int, text: str) -> TokenProbabilities:
        kept: KeptWords | None = None
        if self._greedy:
            kept = KeptWords(np.array([token], dtype=np.int32), np.ones(1, dtype=np.float32))
        elif self._observer is not None:
            kept, self._observer.kept = self._observer.kept, None
        step = describe_position(
            binding.last_logits(llama), token, self._top_n, self._text_of, kept, text
        )
        self.steps.append(step)
        return step
