"""The small pieces the Models window's tabs and progress box are built from."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QLabel, QPushButton, QTableView


def fact_label(text: str = "", name: str = "factValue") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    if name == "factValue":
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def button(text: str, tip: str = "", name: str = "") -> QPushButton:
    made = QPushButton(text)
    # In a dialog every push button is a default button unless told otherwise, and Enter in
    # the address field would then start whichever came first.
    made.setAutoDefault(False)
    if tip:
        made.setToolTip(tip)
    if name:
        made.setObjectName(name)
    return made


def set_tone(label: QLabel, tone: str) -> None:
    """``tone`` ("error" or "") picks the label's colour in the window's style sheet."""
    label.setProperty("tone", tone)
    label.style().unpolish(label)
    label.style().polish(label)


def style_table(table: QTableView) -> None:
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(28)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.horizontalHeader().setHighlightSections(False)
    table.horizontalHeader().setDefaultAlignment(
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    )


def select_row(table: QTableView, index: QModelIndex) -> None:
    if not index.isValid():
        return
    table.selectionModel().setCurrentIndex(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    table.scrollTo(index)
