"""A chat written out for keeping or sharing: Markdown to read, JSON to process."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from desktop.core.chat.messages import (
    DEFAULT_TITLE,
    ConversationSummary,
    Message,
    MessageStatus,
    Role,
    describe_stats,
)

_ROLE_HEADINGS = {Role.SYSTEM: "System", Role.USER: "You", Role.ASSISTANT: "Assistant"}
_STATUS_NOTES = {
    MessageStatus.INTERRUPTED: "*(interrupted)*",
    MessageStatus.FAILED: "*(failed)*",
    MessageStatus.STREAMING: "*(still being written)*",
}


def as_markdown(summary: ConversationSummary, messages: Sequence[Message]) -> str:
    title = summary.title or DEFAULT_TITLE
    parts = [
        f"# {title}\n\n",
        f"*Created {_iso(summary.created_at)} · exported {_iso(time.time())}*\n\n",
    ]
    for message in messages:
        parts.append(f"### {_ROLE_HEADINGS[message.role]}\n\n")
        if message.content.strip():
            parts.append(f"{message.content.rstrip()}\n\n")
        note = _STATUS_NOTES.get(message.status)
        if note:
            parts.append(f"{note}\n\n")
        stats = (
            describe_stats(message.meta, include_model=True)
            if message.role is Role.ASSISTANT
            else ""
        )
        if stats:
            parts.append(f"*{_escape_markdown(stats)}*\n\n")
    return "".join(parts).rstrip("\n") + "\n"


def as_json(summary: ConversationSummary, messages: Sequence[Message]) -> dict[str, Any]:
    return {
        "title": summary.title or DEFAULT_TITLE,
        "created_at": _iso(summary.created_at),
        "updated_at": _iso(summary.updated_at),
        "messages": [
            {
                "role": str(message.role),
                "content": message.content,
                "status": str(message.status),
                "created_at": _iso(message.created_at),
                "meta": message.meta,
            }
            for message in messages
        ],
    }


def _escape_markdown(text: str) -> str:
    return re.sub(r"([\\*_`\[\]])", r"\\\1", text)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")
