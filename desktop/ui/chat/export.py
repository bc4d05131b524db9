"""A chat saved as Markdown or JSON where the user chooses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.core.chat.store import ConversationStore

KINDS = {"markdown": (".md", "Markdown (*.md)"), "json": (".json", "JSON (*.json)")}


def ask_for_target(parent: QWidget, title: str, kind: str) -> Path | None:
    """The file to export to, chosen in a save dialog that suggests one named after the chat."""
    suffix, label = KINDS[kind]
    suggested = str(Path.home() / (safe_filename(title) + suffix))
    filename, _ = QFileDialog.getSaveFileName(parent, "Export chat", suggested, label)
    return Path(filename) if filename else None


def write_export(store: ConversationStore, conversation_id: int, target: Path, kind: str) -> str:
    """Write the chat to ``target``; "" when it was written, or why not."""
    if kind == "markdown":
        content = store.export_markdown(conversation_id)
    else:
        content = json.dumps(store.export_json(conversation_id), indent=2, ensure_ascii=False)
    try:
        target.write_text(content, encoding="utf-8")
    except OSError as exc:
        return f"The chat could not be saved to {target}: {exc.strerror or exc}."
    return ""


def safe_filename(title: str) -> str:
    cleaned = re.sub(r"[^\w\- ]+", "", title, flags=re.UNICODE).strip()
    return cleaned[:60] or "chat"
