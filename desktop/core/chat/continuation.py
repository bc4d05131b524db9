"""Continue: more of an answer that ended early, written on after its last word.

The model is shown the conversation as it was when the answer began, with the partial answer
already in the assistant's turn (``ChatRequest.continue_from``), so it carries on where it
stopped rather than starting a new answer. What it writes is appended, and the figures of both
parts are added up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from desktop.core.chat.rag import GROUNDING_INSTRUCTIONS, SourceRef


def continuation_prefix(answer: str) -> str:
    """The partial answer as the model is shown it: without trailing whitespace, which would
    become a token of its own that the model rarely writes (it starts words with their space)."""
    return answer.rstrip()


def merged_stats(earlier: Mapping[str, Any], later: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of an answer written in two parts (``later`` from GenerationResult.stats()).

    Tokens and time add up; the speed is that of both parts' decoding together; the first token
    is the first part's; the rest (prompt, seed, why it ended) describe the part written last.
    """
    merged = dict(earlier) | dict(later)
    earlier_tokens = _number(earlier.get("completion_tokens"))
    later_tokens = _number(later.get("completion_tokens"))
    merged["completion_tokens"] = int(earlier_tokens + later_tokens)
    if "total_s" in earlier or "total_s" in later:
        total = _number(earlier.get("total_s")) + _number(later.get("total_s"))
        merged["total_s"] = round(total, 3)
    if "ttft_s" in earlier:
        merged["ttft_s"] = earlier["ttft_s"]
    decoded = 0.0
    decode_time = 0.0
    for part_tokens, part in ((earlier_tokens, earlier), (later_tokens, later)):
        speed = _number(part.get("tokens_per_s"))
        # A part's speed counts the tokens after its first over the time they took.
        if part_tokens > 1 and speed > 0:
            decoded += part_tokens - 1
            decode_time += (part_tokens - 1) / speed
    merged["tokens_per_s"] = round(decoded / decode_time, 2) if decode_time > 0 else 0.0
    merged["continued"] = int(_number(earlier.get("continued"))) + 1
    return merged


def grounded_question(question: str, sources: Sequence[SourceRef]) -> str:
    """A documents question with its numbered sources, as ``rag.ground_question`` put it to the
    model, rebuilt from the sources saved with the answer: a continued answer goes on citing the
    same passages under the same numbers, even when the library has changed since."""
    if not sources:
        return question
    blocks = [f"[{source.number}] {_label(source)}:\n{source.text.strip()}" for source in sources]
    return "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"


def grounded_system_prompt(system_prompt: str) -> str:
    """The system prompt of a documents answer: the chat's own, then how to cite."""
    return f"{system_prompt.strip()}\n\n{GROUNDING_INSTRUCTIONS}".strip()


def _label(source: SourceRef) -> str:
    page = f"page {source.page_start}"
    if source.page_label and source.page_label != str(source.page_start):
        page += f" (printed {source.page_label})"
    return f"{source.file}, {page}"


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0
