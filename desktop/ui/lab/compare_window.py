"""Variants side by side: one column per variant with its scores and speed, and every row with
each variant's answer, the rows where they disagree marked and one click from being the only
ones shown."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.lab.compare import ComparedRow, VariantResult
from desktop.ui.appearance import colors


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
        self.rows = QTableWidget(0, 0)
        self.rows.verticalHeader().setVisible(False)
        self.rows.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.rows.setWordWrap(False)
        self.rows.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.variants)
        layout.addWidget(self.disagreements)
        layout.addWidget(self.only_disagreements)
        layout.addWidget(self.rows, 1)
        self._compared: list[ComparedRow] = []

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
        self._compared = rows
        differing = sum(1 for row in rows if not row.agree)
        self.disagreements.setText(
            f"The variants disagree on {differing:,} of {len(rows):,} rows (marked)."
        )
        reference = rows[0].reference is not None if rows else False
        headers = ["#", "Input"] + (["Reference"] if reference else [])
        headers += [f"{result.name}" for result in results]
        self.rows.setColumnCount(len(headers))
        self.rows.setHorizontalHeaderLabels(headers)
        self.rows.setRowCount(len(rows))
        palette = colors()
        for index, row in enumerate(rows):
            text = " ".join(next(iter(row.inputs.values()), "").split())
            cells = [str(row.row), text] + ([row.reference or ""] if reference else [])
            cells += [answer or "—" for answer in row.answers]
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if column == 1:
                    item.setToolTip(text)
                if column >= len(cells) - len(row.answers) and reference:
                    answer = row.answers[column - (len(cells) - len(row.answers))]
                    if answer is not None and answer != row.reference:
                        item.setForeground(QBrush(QColor(palette["danger"])))
                if not row.agree:
                    item.setBackground(QBrush(QColor(palette["warning_bg"])))
                self.rows.setItem(index, column, item)
        self.rows.resizeColumnsToContents()
        self.rows.setColumnWidth(1, min(self.rows.columnWidth(1), 460))
        self._on_filter_toggled(self.only_disagreements.isChecked())
        self.show()
        self.raise_()

    @Slot(bool)
    def _on_filter_toggled(self, only: bool) -> None:
        for index, row in enumerate(self._compared):
            self.rows.setRowHidden(index, only and row.agree)

    def visible_rows(self) -> int:
        return sum(1 for index in range(self.rows.rowCount()) if not self.rows.isRowHidden(index))
