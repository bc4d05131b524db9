"""The prompt inspector: for one answer, the exact text the model read (its chat template's
rendering, special tokens and all), taken apart into the system prompt, the earlier turns kept,
the question (with a documents answer's passages and their relevance) and what the template
added, each with its token count; saved with the answer, so it opens after a restart too."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.chat.messages import Message
from desktop.core.chat.rag import sources_from_meta
from desktop.core.llm.inspection import PromptInspection
from desktop.ui.appearance import colors

PROMPT_KEY = "prompt"


def inspection_of(message: Message) -> PromptInspection | None:
    stored = message.meta.get(PROMPT_KEY)
    if not isinstance(stored, dict):
        return None
    try:
        return PromptInspection.from_json(stored)
    except (KeyError, TypeError, ValueError):
        return None


def _first_line(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class PromptInspector(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("The prompt — Folio")
        self.resize(820, 640)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.parts = QTableWidget(0, 3)
        self.parts.setHorizontalHeaderLabels(["Part", "Tokens", "Text"])
        self.parts.verticalHeader().setVisible(False)
        self.parts.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.parts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.sources = QLabel()
        self.sources.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        copy = QPushButton("Copy the prompt")
        copy.clicked.connect(self._on_copy)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(copy)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.parts, 1)
        layout.addWidget(self.sources)
        layout.addWidget(QLabel("The whole prompt, as the model read it:"))
        layout.addWidget(self.text, 2)
        layout.addLayout(buttons)

    def show_message(self, message: Message) -> None:
        inspection = inspection_of(message)
        if inspection is None:
            return
        dropped = (
            f" {inspection.dropped_messages} earlier messages did not fit the context window "
            "and were left out."
            if inspection.dropped_messages
            else " Every earlier message fitted."
        )
        self.summary.setText(
            f"{inspection.tokens:,} tokens, rendered with the {inspection.template}.{dropped}"
        )
        # The messages left out are listed after the prompt's parts, greyed and not counted.
        shown = [*inspection.parts, *inspection.left_out]
        self.parts.setRowCount(len(shown))
        for row, part in enumerate(shown):
            named = part.kind in ("earlier", "left out")
            name = part.kind + (f" ({part.role})" if named else "")
            counted = f"{part.tokens:,}" if part.kind != "left out" else f"({part.tokens:,})"
            cells = (name, counted, _first_line(part.text))
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setToolTip(part.text)
                if part.kind == "left out":
                    item.setForeground(QColor(colors()["muted"]))
                self.parts.setItem(row, column, item)
        self.parts.resizeColumnsToContents()
        sources = sources_from_meta(message.meta)
        if sources:
            listed = "; ".join(
                f"[{ref.number}] {ref.file}, page {ref.page_label or ref.page_start}"
                + (f" (relevance {ref.relevance:.2f})" if ref.relevance is not None else "")
                for ref in sources
            )
            self.sources.setText(f"Passages in the question: {listed}")
            self.sources.show()
        else:
            self.sources.hide()
        self.text.setPlainText(inspection.text)
        self.show()
        self.raise_()

    def _on_copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
