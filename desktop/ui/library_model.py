"""The library as a table: one row per document, its status kept live by indexing progress."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from desktop.core.documents.records import DocumentRecord, DocumentStatus, IndexProgress
from desktop.ui.appearance import colors

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

_STATUS_COLOURS = {
    DocumentStatus.FAILED: "danger",
    DocumentStatus.NEEDS_ATTENTION: "warning_text",
    DocumentStatus.MISSING: "warning_text",
    DocumentStatus.READY: "success",
}


def _colour(name: str) -> QColor:
    return QColor(colors()[name])


ModelIndex = QModelIndex | QPersistentModelIndex


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def status_text(record: DocumentRecord, progress: IndexProgress | None = None) -> str:
    """The short status for the table; ``record.message`` has the whole reason."""
    if progress is not None and record.status in (
        DocumentStatus.EXTRACTING,
        DocumentStatus.EMBEDDING,
        DocumentStatus.QUEUED,
    ):
        if progress.phase == "extracting" and progress.pages:
            return f"Page {progress.page} of {progress.pages}"
        return "Embedding"
    match record.status:
        case DocumentStatus.QUEUED:
            return "Queued"
        case DocumentStatus.EXTRACTING:
            return "Reading"
        case DocumentStatus.EMBEDDING:
            return "Embedding"
        case DocumentStatus.READY:
            return "Ready"
        case DocumentStatus.FAILED:
            return "Failed"
        case DocumentStatus.NEEDS_ATTENTION:
            return "Needs attention"
        case DocumentStatus.MISSING:
            return "File missing"


class DocumentTableModel(QAbstractTableModel):
    COLUMNS = ("Name", "Pages", "Passages", "Size", "Status")
    NAME, PAGES, CHUNKS, SIZE, STATUS = range(5)

    def __init__(self) -> None:
        super().__init__()
        self._records: list[DocumentRecord] = []
        self._rows: dict[str, int] = {}
        self._progress: IndexProgress | None = None

    # -- updates --------------------------------------------------------------------------------

    def set_documents(self, records: list[DocumentRecord]) -> None:
        """Replace the rows; when the same documents are shown, rows are updated in place so
        that the selection and the scroll position stay where the user left them."""
        if [r.id for r in records] == [r.id for r in self._records]:
            self._records = list(records)
            if records:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(records) - 1, len(self.COLUMNS) - 1)
                )
            return
        self.beginResetModel()
        self._records = list(records)
        self._rows = {record.id: row for row, record in enumerate(records)}
        self.endResetModel()

    def set_progress(self, progress: IndexProgress | None) -> None:
        previous = self._progress
        self._progress = progress
        for changed in {p.document.id for p in (previous, progress) if p is not None}:
            row = self._rows.get(changed)
            if row is None:
                continue
            if progress is not None and changed == progress.document.id:
                # The record in the progress report is newer (status, page count).
                self._records[row] = progress.document
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    def record(self, row: int) -> DocumentRecord:
        return self._records[row]

    def row_of(self, document_id: str) -> int | None:
        return self._rows.get(document_id)

    # -- Qt model -------------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole and section in (
                self.PAGES,
                self.CHUNKS,
                self.SIZE,
            ):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        record = self._records[index.row()]
        column = index.column()
        progress = (
            self._progress
            if self._progress is not None and self._progress.document.id == record.id
            else None
        )
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(record, column, progress)
        if role == SORT_ROLE:
            return self._sort_key(record, column)
        if role == RECORD_ROLE:
            return record
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [record.name, status_text(record, progress), str(record.path)]
            if record.message:
                lines.append(record.message)
            if record.title and record.title != record.name:
                lines.insert(0, record.title)
            return "\n".join(lines)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
            self.PAGES,
            self.CHUNKS,
            self.SIZE,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == self.STATUS:
                return _colour(_STATUS_COLOURS.get(record.status, "muted"))
            if column != self.NAME:
                return _colour("muted")
        return None

    def _display(self, record: DocumentRecord, column: int, progress: IndexProgress | None) -> str:
        if column == self.NAME:
            return record.name
        if column == self.PAGES:
            return f"{record.pages:,}" if record.pages else "–"
        if column == self.CHUNKS:
            return f"{record.chunks:,}" if record.status == DocumentStatus.READY else "–"
        if column == self.SIZE:
            return human_size(record.size)
        return status_text(record, progress)

    def _sort_key(self, record: DocumentRecord, column: int) -> Any:
        if column == self.NAME:
            return record.name.casefold()
        if column == self.PAGES:
            return record.pages
        if column == self.CHUNKS:
            return record.chunks
        if column == self.SIZE:
            return record.size
        return str(record.status)
