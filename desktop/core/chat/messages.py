"""A chat's messages and what is said about them: roles, states, the figures under an
answer, and the earlier turns a model is shown."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeGuard

from desktop.core.llm.prompting import ChatMessage


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    position: int
    role: Role
    content: str
    status: MessageStatus
    created_at: float
    meta: dict[str, Any]
    # Regenerate keeps the earlier answers to a question: this one is number
    # ``alternative_index + 1`` of ``alternative_count``, in the order they were written.
    alternative_index: int = 0
    alternative_count: int = 1


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    title: str
    created_at: float
    updated_at: float
    message_count: int
    snippet: str = ""


DEFAULT_TITLE = "New chat"


def describe_stats(meta: Mapping[str, Any], include_model: bool = False) -> str:
    """“42 tokens · 31.5 tokens/s · first token 0.21 s · 2 earlier messages left out …”.

    The one wording of an answer's figures, under the answer in the window and in exports.
    """
    parts: list[str] = []
    model = meta.get("model")
    if include_model and isinstance(model, str) and model.strip():
        parts.append(model.strip())
    tokens = meta.get("completion_tokens")
    if _is_number(tokens):
        count = int(tokens)
        parts.append(f"{count} token{'s' if count != 1 else ''}")
    speed = meta.get("tokens_per_s")
    if _is_number(speed) and speed > 0:
        parts.append(f"{speed:.1f} tokens/s")
    first_token = meta.get("ttft_s")
    if _is_number(first_token):
        parts.append(f"first token {first_token:.2f} s")
    sampling = meta.get("sampling")
    if isinstance(sampling, str) and sampling:
        parts.append(sampling)
    dropped = meta.get("dropped_messages")
    if _is_number(dropped) and dropped > 0:
        count = int(dropped)
        parts.append(
            f"{count} earlier message{'s' if count != 1 else ''} left out: "
            "the context window was full"
        )
    return " · ".join(parts)


def can_continue(message: Message) -> bool:
    """Whether Continue can write more of ``message``: an answer with words in it that ended
    before its end, at the length limit or stopped (by the user, or by Folio being closed)."""
    if message.role is not Role.ASSISTANT or not message.content.strip():
        return False
    if message.status is MessageStatus.INTERRUPTED:
        return True
    cut_at_limit = message.meta.get("finish_reason") == "length"
    return message.status is MessageStatus.COMPLETE and cut_at_limit


def prompt_history(messages: Sequence[Message]) -> list[ChatMessage]:
    """The earlier turns to show the model: each question with the answer it got.

    A question left without a usable answer (stopped before the first word, failed, cut off by
    a crash) is left out with it: two questions in a row break templates that insist on
    alternating turns, and a question too long for the window would block every older turn.
    """
    history: list[ChatMessage] = []
    pending: Message | None = None
    for message in messages:
        if message.role is Role.USER:
            pending = message
        elif message.role is Role.ASSISTANT:
            usable = message.content.strip() and message.status is not MessageStatus.FAILED
            if pending is not None and usable:
                history.append({"role": "user", "content": pending.content})
                history.append({"role": "assistant", "content": message.content})
            pending = None
    return history


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
