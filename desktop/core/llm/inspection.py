"""The exact prompt an answer was written from, taken apart: the system prompt, the earlier
turns kept (and those that did not fit the context window, listed apart), the question (with a
documents answer's passages in it), the answer's beginning when it was continued, and what the
chat template itself added (its special tokens and role headers), each with its token count.

Computed on the engine's thread after the answer is written, so it costs the answer nothing.
The parts' counts add up to the prompt's: what the template adds is the difference between the
whole and the messages' own tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.core.llm.prompting import ChatMessage, FittedPrompt

PART_KINDS = ("system", "earlier", "question", "answer so far", "template")
LEFT_OUT_CHARS = 200


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
    # The earlier messages that did not fit, oldest first, with their own token counts: not in
    # the prompt, so not in ``parts`` (whose counts add up to it). Their text is cut to its
    # beginning: each saved answer keeps its inspection, and the whole text is in the chat.
    left_out: tuple[PromptPart, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tokens": self.tokens,
            "dropped_messages": self.dropped_messages,
            "template": self.template,
            "parts": [part.to_json() for part in self.parts],
            "left_out": [part.to_json() for part in self.left_out],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PromptInspection:
        def parts_of(key: str) -> tuple[PromptPart, ...]:
            return tuple(
                PromptPart(str(p["kind"]), str(p["role"]), str(p["text"]), int(p["tokens"]))
                for p in data.get(key, [])
            )

        return cls(
            text=str(data["text"]),
            tokens=int(data["tokens"]),
            parts=parts_of("parts"),
            dropped_messages=int(data.get("dropped_messages", 0)),
            template=str(data.get("template", "")),
            left_out=parts_of("left_out"),
        )


def inspect_prompt(
    fitted: FittedPrompt,
    answer_so_far: str,
    prompt_tokens: int,
    count_tokens: Callable[[str], int],
    template_name: str,
    history: Sequence[ChatMessage] = (),
) -> PromptInspection:
    """``prompt_tokens`` is the length of what was read (the prompt and ``answer_so_far``);
    ``count_tokens`` counts a text alone, without the BOS token the whole prompt has;
    ``history`` is the conversation the prompt was fitted from (its oldest messages are the
    ones left out)."""
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
    # Fitting drops whole turns from the oldest on, and never a system message.
    conversation = [message for message in history if message["role"] != "system"]
    left_out = tuple(
        PromptPart(
            "left out",
            m["role"],
            _preview(m["content"], LEFT_OUT_CHARS),
            _count(m["content"], count_tokens),
        )
        for m in conversation[: fitted.dropped_messages]
    )
    return PromptInspection(
        text, prompt_tokens, tuple(parts), fitted.dropped_messages, template_name, left_out
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
    for part in inspection.left_out:
        lines.append(f"  left out ({part.role}): {part.tokens:,} tokens: {_preview(part.text)}")
    return lines


def _preview(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
