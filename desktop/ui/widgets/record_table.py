"""One table model for every list of records the window shows (documents, models, the catalog).

A table is its columns: each says how a record reads in it (text, sort key, tooltip, colour,
alignment, a badge). The model keeps the records; a view sorts and filters them through a
``QSortFilterProxyModel`` on ``SORT_ROLE``, and asks for the record behind a row with
``RECORD_ROLE``. When the same records come back (a refresh), rows change in place, so the
selection and the scroll position stay where the user left them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from desktop.ui.appearance import colors

R = TypeVar("R")
ModelIndex = QModelIndex | QPersistentModelIndex

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
# (text, tone) of the small rounded label drawn at the end of a cell, or None.
BADGE_ROLE = Qt.ItemDataRole.UserRole + 3

_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True)
class Column(Generic[R]):
    title: str
    text: Callable[[R], str]
    sort_key: Callable[[R], Any]
    tooltip: Callable[[R], str] | None = None
    header_tooltip: str = ""
    # A theme colour name (desktop.ui.appearance) for the text; None for the usual colour.
    colour: Callable[[R], str | None] | None = None
    right_aligned: bool = False
    bold: bool = False
    badge: Callable[[R], tuple[str, str] | None] | None = None


def muted(_record: object) -> str:
    """The colour of a column that is detail, not the name."""
    return "muted"


class RecordTableModel(QAbstractTableModel, Generic[R]):
    def __init__(self, columns: Sequence[Column[R]], key: Callable[[R], object]) -> None:
        """``key`` tells two versions of the same record apart from two records."""
        super().__init__()
        self._columns = list(columns)
        self._key = key
        self._records: list[R] = []
        self._rows: dict[object, int] = {}

    # -- records --------------------------------------------------------------------------------

    def set_records(self, records: Sequence[R]) -> None:
        records = list(records)
        if [self._key(r) for r in records] == [self._key(r) for r in self._records]:
            self._records = records
            self.refresh()
            return
        self.beginResetModel()
        self._records = records
        self._rows = {self._key(record): row for row, record in enumerate(records)}
        self.endResetModel()

    def replace_record(self, record: R) -> None:
        """A newer version of one record (its status moved on)."""
        row = self._rows.get(self._key(record))
        if row is not None:
            self._records[row] = record
            self.refresh_row(row)

    def records(self) -> list[R]:
        return list(self._records)

    def record(self, row: int) -> R:
        return self._records[row]

    def row_of(self, key: object) -> int | None:
        return self._rows.get(key)

    def refresh(self) -> None:
        """Every cell is read again (the state the columns show beside the records moved)."""
        if self._records:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._records) - 1, len(self._columns) - 1)
            )

    def refresh_row(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self._columns) - 1))

    # -- Qt model -------------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        column = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole and column.right_aligned:
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and column.header_tooltip:
            return column.header_tooltip
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        record = self._records[index.row()]
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(record)
        if role == RECORD_ROLE:
            return record
        if role == SORT_ROLE:
            return column.sort_key(record)
        if role == BADGE_ROLE:
            return column.badge(record) if column.badge is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(record)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.right_aligned:
            return _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column.colour is not None:
            name = column.colour(record)
            return QColor(colors()[name]) if name else None
        if role == Qt.ItemDataRole.FontRole and column.bold:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        return None
