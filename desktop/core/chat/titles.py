"""A chat is titled after its first question: its first sentence, or line, kept short."""

from __future__ import annotations

import re

from desktop.core.chat.messages import DEFAULT_TITLE

_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")
# A greeting such as "Hi!" says nothing about the chat, so a first sentence shorter than this
# is not used alone as the title.
_MIN_SENTENCE_TITLE = 20
_TITLE_TRAILING_JUNK = " ,;:-–—"


def make_title(question: str, limit: int = 60) -> str:
    """A short chat title from the user's first question."""
    first_line = next((line for line in question.splitlines() if line.strip()), "")
    line = " ".join(first_line.split())
    if not line:
        return DEFAULT_TITLE
    sentence = _SENTENCE_END.split(line, maxsplit=1)[0]
    if len(sentence) >= _MIN_SENTENCE_TITLE:
        line = sentence
    if len(line) > 1 and line.endswith(".") and not line.endswith(".."):
        line = line[:-1]
    if len(line) <= limit:
        return line
    cut = line[: max(limit - 1, 0)]
    ends_on_word = line[len(cut)] == " "
    boundary = cut.rfind(" ")
    if not ends_on_word and boundary > limit // 2:
        cut = cut[:boundary]
    return cut.rstrip(_TITLE_TRAILING_JUNK) + "…"
