"""Where a chat's answers come from: the model alone, the whole library, or chosen documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The chat setting that holds the scope: "all", or a list of document ids.
DOCUMENTS_KEY = "documents"


@dataclass(frozen=True)
class DocumentScope:
    """Which documents a chat's answers come from: none, the whole library, or chosen ones."""

    enabled: bool = False
    document_ids: tuple[str, ...] | None = None  # None: the whole library

    @classmethod
    def from_setting(cls, value: Any) -> DocumentScope:
        if value == "all":
            return cls(True, None)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return cls(True, tuple(value))
        return cls()

    def to_setting(self) -> Any:
        if not self.enabled:
            return None
        return "all" if self.document_ids is None else list(self.document_ids)
