"""The questions the window asks before a documents setting costs the user an index."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.core.formatting import count_text


def confirm_embedder_change(parent: QWidget, documents: int, embedder: str) -> bool:
    """``embedder``: the new model's file, or "" for the built-in one."""
    what = count_text(documents, "document") if documents else "documents"
    name = Path(embedder).name if embedder else "the built-in embedding model"
    answer = QMessageBox.question(
        parent,
        "Change the embedding model?",
        "Search by meaning needs every document embedded by the same model. Switching to "
        f"{name} indexes your {what} again; each one is found again as soon as it is done.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


def offer_reindex(parent: QWidget, documents: int) -> bool:
    answer = QMessageBox.question(
        parent,
        "Index your documents again?",
        "The new passage size applies to documents indexed from now on. Index your "
        f"{count_text(documents, 'document')} again now, so every search uses it?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
