"""The library as a table: one row per document, its status kept live by indexing progress.

A document is called by its title (``DocumentRecord.display_title``) with its file name under
it (``name_cell``), or by its file name alone when it has no title of its own; sorting and the
filter go by both.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel

from desktop.core.documents.records import DocumentRecord, DocumentStatus, IndexProgress
from desktop.core.formatting import count_text, size_text
from desktop.ui.widgets.record_table import SORT_ROLE, Column, RecordTableModel, muted

_STATUS_COLOURS = {
    DocumentStatus.FAILED: "danger",
    DocumentStatus.NEEDS_ATTENTION: "warning_text",
    DocumentStatus.MISSING: "warning_text",
    DocumentStatus.READY: "success",
}
_BEING_INDEXED = (DocumentStatus.EXTRACTING, DocumentStatus.EMBEDDING, DocumentStatus.QUEUED)


def status_text(record: DocumentRecord, progress: IndexProgress | None = None) -> str:
    """The short status for the table; ``record.message`` has the whole reason."""
    if progress is not None and record.status in _BEING_INDEXED:
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


def shown_name(record: DocumentRecord) -> str:
    """What the table calls a document: its title, or its file name when it has none."""
    return record.display_title if record.has_title else record.name


def name_sort_key(record: DocumentRecord) -> str:
    """By what it is called, then file name; one string, which the proxy model compares."""
    return f"{shown_name(record).casefold()}\u0000{record.name.casefold()}"


class DocumentTableModel(RecordTableModel[DocumentRecord]):
    # The passage count is in the tooltip and the detail box: in a pane 500 pixels wide, the
    # title needs the room more.
    NAME, PAGES, SIZE, STATUS = range(4)

    def __init__(self) -> None:
        self._progress: IndexProgress | None = None
        super().__init__(
            [
                Column("Name", shown_name, name_sort_key, tooltip=self._tooltip),
                Column(
                    "Pages",
                    lambda r: f"{r.pages:,}" if r.pages else "–",
                    lambda r: r.pages,
                    tooltip=self._tooltip,
                    colour=muted,
                    right_aligned=True,
                ),
                Column(
                    "Size",
                    lambda r: size_text(r.size),
                    lambda r: r.size,
                    tooltip=self._tooltip,
                    colour=muted,
                    right_aligned=True,
                ),
                Column(
                    "Status",
                    lambda r: status_text(r, self._progress_of(r)),
                    lambda r: str(r.status),
                    tooltip=self._tooltip,
                    colour=lambda r: _STATUS_COLOURS.get(r.status, "muted"),
                ),
            ],
            key=lambda record: record.id,
        )

    def set_progress(self, progress: IndexProgress | None) -> None:
        previous = self._progress
        self._progress = progress
        if progress is not None:
            # The record in the progress report is newer (status, page count).
            self.replace_record(progress.document)
        if previous is not None and (
            progress is None or previous.document.id != progress.document.id
        ):
            row = self.row_of(previous.document.id)
            if row is not None:
                self.refresh_row(row)

    def _progress_of(self, record: DocumentRecord) -> IndexProgress | None:
        progress = self._progress
        return progress if progress is not None and progress.document.id == record.id else None

    def _tooltip(self, record: DocumentRecord) -> str:
        status = status_text(record, self._progress_of(record))
        if record.status == DocumentStatus.READY:
            status += f" · {count_text(record.chunks, 'passage')}"
        lines = [shown_name(record), str(record.path), status]
        if record.message:
            lines.append(record.message)
        return "\n".join(lines)


class DocumentFilterModel(QSortFilterProxyModel):
    """The documents whose title or file name holds the filter text, ignoring case."""

    def __init__(self, source: DocumentTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._needle = ""
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)

    def set_needle(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle == self._needle:
            return
        self.beginFilterChange()
        self._needle = needle
        self.endFilterChange()

    def filterAcceptsRow(  # noqa: N802
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if not self._needle:
            return True
        record = self._source.record(source_row)
        return self._needle in record.display_title.casefold() or (
            self._needle in record.name.casefold()
        )
