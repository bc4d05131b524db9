"""The exact prompt an answer was written from, taken apart: the system prompt, the earlier
turns kept (and how many did not fit the context window), the question (with a documents
answer's passages in it), the answer's beginning when it was continued, and what the chat
template itself added (its special tokens and role headers), each with its token count.

Computed on the engine's thread after the answer is written, so it costs the answer nothing.
The parts' counts add up to the prompt's: what the template adds is the difference between the
whole and the messages' own tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.core.llm.prompting import FittedPrompt

PART_KINDS = ("system", "earlier", "question", "answer so far", "template")


@dataclass(frozen=True)
class PromptPart:
    kind: str
    role: str
    text: str
    tokens: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "role": self.role, "text": self.text, "tokens": self.tokens}


@dataclass(frozen=True)
class PromptInspection:
    """``text`` is what the model read, special tokens and all."""

    text: str
    tokens: int
    parts: tuple[PromptPart, ...]
    dropped_messages: int
    template: str

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tokens": self.tokens,
            "dropped_messages": self.dropped_messages,
            "template": self.template,
            "parts": [part.to_json() for part in self.parts],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PromptInspection:
        parts = tuple(
            PromptPart(str(p["kind"]), str(p["role"]), str(p["text"]), int(p["tokens"]))
            for p in data.get("parts", [])
        )
        return cls(
            text=str(data["text"]),
            tokens=int(data["tokens"]),
            parts=parts,
            dropped_messages=int(data.get("dropped_messages", 0)),
            template=str(data.get("template", "")),
        )


def inspect_prompt(
    fitted: FittedPrompt,
    answer_so_far: str,
    prompt_tokens: int,
    count_tokens: Callable[[str], int],
    template_name: str,
) -> PromptInspection:
    """``prompt_tokens`` is the length of what was read (the prompt and ``answer_so_far``);
    ``count_tokens`` counts a text alone, without the BOS token the whole prompt has."""
    messages = fitted.messages
    parts: list[PromptPart] = []
    last = len(messages) - 1
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "system":
            kind = "system"
        elif index == last:
            kind = "question"
        else:
            kind = "earlier"
        parts.append(
            PromptPart(kind, role, message["content"], _count(message["content"], count_tokens))
        )
    if answer_so_far:
        parts.append(
            PromptPart(
                "answer so far", "assistant", answer_so_far, _count(answer_so_far, count_tokens)
            )
        )
    own = sum(part.tokens for part in parts)
    parts.append(
        PromptPart(
            "template",
            "",
            "The chat template's role headers, special tokens and line breaks around the "
            "messages (see the whole prompt).",
            max(0, prompt_tokens - own),
        )
    )
    text = fitted.prompt + answer_so_far
    return PromptInspection(
        text, prompt_tokens, tuple(parts), fitted.dropped_messages, template_name
    )


def _count(text: str, count_tokens: Callable[[str], int]) -> int:
    return count_tokens(text) if text else 0


def summary_lines(inspection: PromptInspection) -> Sequence[str]:
    """The parts as lines of text, for the command line."""
    lines = [
        f"The prompt the model read: {inspection.tokens:,} tokens ({inspection.template})",
    ]
    if inspection.dropped_messages:
        lines.append(
            f"  {inspection.dropped_messages} earlier messages did not fit the context window "
            "and were left out"
        )
    for part in inspection.parts:
        who = f" ({part.role})" if part.role and part.kind == "earlier" else ""
        lines.append(f"  {part.kind}{who}: {part.tokens:,} tokens")
    return lines
