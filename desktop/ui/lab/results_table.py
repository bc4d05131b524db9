"""The lab's results as a table: one row per data row, its inputs, the answer, the label chosen
with its probability, whether it matches the reference, the tokens the model read and wrote
for it, and the time it took.

Rows arrive while a run goes on and are added in batches on a timer, so a fast run does not
redraw the table once per item; only the rows on screen are ever painted, so 100,000 of them
scroll as smoothly as 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor

from desktop.ui.appearance import colors

ModelIndex = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True)
class ResultRow:
    row: int
    inputs: dict[str, str]
    output: str
    label: str | None
    probability: float | None
    error: str | None
    time_s: float | None
    correct: bool | None
    tokens: int = 0
    # None for rows a run kept before prompts were counted.
    prompt_tokens: int | None = None


class ResultsTableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._columns: list[str] = []
        self._rows: list[ResultRow] = []
        self._waiting: list[ResultRow] = []
        # Kept as rows arrive, so a 100,000-row run never counts its rows again per row.
        self.label_counts: dict[str, int] = {}
        self.mistakes = 0
        self._flush = QTimer(self)
        self._flush.setInterval(150)
        self._flush.setSingleShot(True)
        self._flush.timeout.connect(self._on_flush)

    def reset(self, columns: list[str]) -> None:
        self.beginResetModel()
        self._columns = list(columns)
        self._rows = []
        self._waiting = []
        self.label_counts = {}
        self.mistakes = 0
        self.endResetModel()

    def add(self, rows: list[ResultRow]) -> None:
        for row in rows:
            if row.label is not None:
                self.label_counts[row.label] = self.label_counts.get(row.label, 0) + 1
            self.mistakes += row.correct is False
        self._waiting.extend(rows)
        if not self._flush.isActive():
            self._flush.start()

    def flush(self) -> None:
        """Show the rows waiting for the timer now (a run has ended)."""
        self._flush.stop()
        self._on_flush()

    def _on_flush(self) -> None:
        if not self._waiting:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(self._waiting) - 1)
        self._rows.extend(self._waiting)
        self._waiting = []
        self.endInsertRows()

    def rows(self) -> list[ResultRow]:
        return self._rows + self._waiting

    def disagreements(self) -> list[int]:
        """Table rows whose answer is not the reference, for "next mistake"."""
        return [index for index, row in enumerate(self._rows) if row.correct is False]

    # -- Qt's model interface -------------------------------------------------------------------

    def _headers(self) -> list[str]:
        figures = ["Probability", "Right", "Tokens", "Time"]
        return ["#", *self._columns, "Answer", "Model's label", *figures]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._headers())

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._headers()[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(self._headers()[section])
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        inputs = len(self._columns)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column, inputs)
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.error:
                return row.error
            if 1 <= column <= inputs:
                return row.inputs.get(self._columns[column - 1], "")
            if column == inputs + 1:
                return row.output
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.error:
                return QColor(colors()["danger"])
            if column == inputs + 4 and row.correct is not None:
                return QColor(colors()["accent" if row.correct else "danger"])
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and (column == 0 or column >= inputs + 3):
            return _RIGHT
        return None

    def _text(self, row: ResultRow, column: int, inputs: int) -> str:
        if column == 0:
            return str(row.row)
        if column <= inputs:
            return _one_line(row.inputs.get(self._columns[column - 1], ""))
        offset = column - inputs
        if offset == 1:
            return _one_line(row.error or row.output)
        if offset == 2:
            return row.label or ("error" if row.error else "—")
        if offset == 3:
            return "" if row.probability is None else f"{row.probability:.0%}"
        if offset == 4:
            return "" if row.correct is None else ("yes" if row.correct else "no")
        if offset == 5:
            if row.error or row.prompt_tokens is None:
                return ""
            return f"{row.prompt_tokens:,} → {row.tokens:,}"
        return "" if row.time_s is None else f"{row.time_s:.2f} s"


_HEADER_TIPS = {
    "Tokens": "The prompt's tokens → the tokens written (a scored label counts as one).",
    "Probability": (
        "The likeliest label: its share among the labels, the prompt's own bias divided out. "
        "A written answer: the probability the model gave the tokens it wrote."
    ),
}


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
