"""Where a chat's answers come from: the model alone, the library when it covers the question,
only the library, or only chosen documents.

The automatic mode is every chat's default: a question the library covers (its best passage is
relevant enough, see documents/relevance.py) is answered from it with sources; anything else (a
poem, a joke, general knowledge) is answered by the model and marked as not from the documents.
A chat's mode changes only when its user changes it; adding documents never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The chat setting that holds the scope: "auto", "off", "all", or a list of document ids.
DOCUMENTS_KEY = "documents"


class ScopeMode(StrEnum):
    OFF = "off"  # the model alone
    AUTO = "auto"  # the library when it covers the question, else the model
    ALL = "all"  # only the library: a question it does not cover is not guessed at
    SELECTED = "selected"  # only the chosen documents


@dataclass(frozen=True)
class DocumentScope:
    """Which documents a chat's answers come from."""

    mode: ScopeMode = ScopeMode.AUTO
    document_ids: tuple[str, ...] | None = None  # the chosen documents (SELECTED only)

    @classmethod
    def off(cls) -> DocumentScope:
        return cls(ScopeMode.OFF)

    @classmethod
    def automatic(cls) -> DocumentScope:
        return cls(ScopeMode.AUTO)

    @classmethod
    def whole_library(cls) -> DocumentScope:
        return cls(ScopeMode.ALL)

    @classmethod
    def only(cls, document_ids: tuple[str, ...]) -> DocumentScope:
        return cls(ScopeMode.SELECTED, tuple(document_ids)) if document_ids else cls.off()

    @property
    def enabled(self) -> bool:
        """Whether the library is searched at all."""
        return self.mode is not ScopeMode.OFF

    @property
    def documents_only(self) -> bool:
        """Whether the user asked for answers from documents alone (all, or chosen ones)."""
        return self.mode in (ScopeMode.ALL, ScopeMode.SELECTED)

    @property
    def searched(self) -> tuple[str, ...] | None:
        """The documents to search: None for the whole library."""
        return self.document_ids if self.mode is ScopeMode.SELECTED else None

    @classmethod
    def from_setting(cls, value: Any) -> DocumentScope:
        """The scope a chat's setting names. A chat with no setting (new, or older than the
        automatic mode) is automatic; a stored null is an explicit "off" of earlier versions."""
        if value == "auto":
            return cls.automatic()
        if value == "all":
            return cls.whole_library()
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return cls.only(tuple(value))
        if value == "off" or value is None:
            return cls.off()
        return cls.automatic()

    def to_setting(self) -> Any:
        if self.mode is ScopeMode.SELECTED:
            return list(self.document_ids or ())
        return str(self.mode)


def scope_of_chat(settings: dict[str, Any]) -> DocumentScope:
    """The scope of a chat from its settings: automatic when it never chose one."""
    if DOCUMENTS_KEY not in settings:
        return DocumentScope.automatic()
    return DocumentScope.from_setting(settings[DOCUMENTS_KEY])
