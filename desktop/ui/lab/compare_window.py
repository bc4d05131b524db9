"""Variants side by side: one column per variant with its scores and speed, and every row with
each variant's answer, the rows where they disagree marked and one click from being the only
ones shown.

The rows are a model over the compared rows rather than a cell widget each, so a comparison of
100,000 rows opens as quickly as one of 100: only the rows on screen are ever drawn.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHeaderView,
    QLabel,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.lab.compare import ComparedRow, VariantResult
from desktop.ui.appearance import colors

ModelIndex = QModelIndex | QPersistentModelIndex


class ComparedRowsModel(QAbstractTableModel):
    """Each row's number, input, reference (when there is one) and every variant's answer;
    ``only_disagreements`` keeps the rows where the variants answer differently."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[ComparedRow] = []
        self._shown: list[int] = []
        self._names: list[str] = []
        self._reference = False

    def reset(self, rows: list[ComparedRow], names: list[str], only_disagreements: bool) -> None:
        self.beginResetModel()
        self._rows = rows
        self._names = names
        self._reference = bool(rows) and rows[0].reference is not None
        self._shown = self._filtered(only_disagreements)
        self.endResetModel()

    def show_only_disagreements(self, only: bool) -> None:
        self.beginResetModel()
        self._shown = self._filtered(only)
        self.endResetModel()

    def _filtered(self, only: bool) -> list[int]:
        return [n for n, row in enumerate(self._rows) if not (only and row.agree)]

    def headers(self) -> list[str]:
        return ["#", "Input", *(["Reference"] if self._reference else []), *self._names]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.headers())

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[self._shown[index.row()]]
        column = index.column()
        first_answer = 3 if self._reference else 2
        text = " ".join(next(iter(row.inputs.values()), "").split())
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(row.row)
            if column == 1:
                return text
            if column < first_answer:
                return row.reference or ""
            return row.answers[column - first_answer] or "—"
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return text
        if role == Qt.ItemDataRole.ForegroundRole and column >= first_answer and self._reference:
            answer = row.answers[column - first_answer]
            if answer is not None and answer != row.reference:
                return QBrush(QColor(colors()["danger"]))
        if role == Qt.ItemDataRole.BackgroundRole and not row.agree:
            return QBrush(QColor(colors()["warning_bg"]))
        return None


def _metrics(result: VariantResult) -> str:
    report = result.summary.classification
    parts = []
    if report is not None:
        parts.append(f"accuracy {report.accuracy:.1%}, macro F1 {report.macro_f1:.2f}")
    if result.summary.text is not None:
        parts.append(f"ROUGE-L F1 {result.summary.text.rouge_l.f1:.3f}")
    parts.append(f"{result.items_per_s:.2f} rows/s")
    return " · ".join(parts)


class CompareWindow(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare variants — Folio")
        self.resize(1100, 720)
        self.variants = QTableWidget(0, 4)
        self.variants.setHorizontalHeaderLabels(["Variant", "What it does", "Scores", "Model"])
        self.variants.verticalHeader().setVisible(False)
        self.variants.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.variants.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.disagreements = QLabel()
        self.only_disagreements = QCheckBox("Show only the rows where the variants disagree")
        self.only_disagreements.toggled.connect(self._on_filter_toggled)
        self.rows_model = ComparedRowsModel()
        self.rows = QTableView()
        self.rows.setModel(self.rows_model)
        self.rows.verticalHeader().setVisible(False)
        self.rows.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.rows.setWordWrap(False)
        self.rows.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.variants)
        layout.addWidget(self.disagreements)
        layout.addWidget(self.only_disagreements)
        layout.addWidget(self.rows, 1)

    def show_comparison(self, results: list[VariantResult], rows: list[ComparedRow]) -> None:
        self.variants.setRowCount(len(results))
        for index, result in enumerate(results):
            for column, text in enumerate(
                (result.name, result.description, _metrics(result), result.model)
            ):
                self.variants.setItem(index, column, QTableWidgetItem(text))
        self.variants.resizeColumnsToContents()
        self.variants.setFixedHeight(
            self.variants.horizontalHeader().height()
            + sum(self.variants.rowHeight(row) for row in range(len(results)))
            + 4
        )
        differing = sum(1 for row in rows if not row.agree)
        self.disagreements.setText(
            f"The variants disagree on {differing:,} of {len(rows):,} rows (marked)."
        )
        self.rows_model.reset(
            rows, [result.name for result in results], self.only_disagreements.isChecked()
        )
        header = self.rows.horizontalHeader()
        header.resizeSection(0, 56)
        header.resizeSection(1, 460)
        for column in range(2, self.rows_model.columnCount()):
            header.resizeSection(column, 96)
        self.show()
        self.raise_()

    @Slot(bool)
    def _on_filter_toggled(self, only: bool) -> None:
        self.rows_model.show_only_disagreements(only)

    def visible_rows(self) -> int:
        return self.rows_model.rowCount()
