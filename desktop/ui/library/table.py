"""The library as a table: one row per document, its status kept live by indexing progress."""

from __future__ import annotations

from desktop.core.documents.records import DocumentRecord, DocumentStatus, IndexProgress
from desktop.core.formatting import size_text
from desktop.ui.widgets.record_table import Column, RecordTableModel, muted

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


class DocumentTableModel(RecordTableModel[DocumentRecord]):
    NAME, PAGES, CHUNKS, SIZE, STATUS = range(5)

    def __init__(self) -> None:
        self._progress: IndexProgress | None = None
        super().__init__(
            [
                Column(
                    "Name", lambda r: r.name, lambda r: r.name.casefold(), tooltip=self._tooltip
                ),
                Column(
                    "Pages",
                    lambda r: f"{r.pages:,}" if r.pages else "–",
                    lambda r: r.pages,
                    tooltip=self._tooltip,
                    colour=muted,
                    right_aligned=True,
                ),
                Column(
                    "Passages",
                    lambda r: f"{r.chunks:,}" if r.status == DocumentStatus.READY else "–",
                    lambda r: r.chunks,
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
        lines = [record.name, status_text(record, self._progress_of(record)), str(record.path)]
        if record.message:
            lines.append(record.message)
        if record.title and record.title != record.name:
            lines.insert(0, record.title)
        return "\n".join(lines)
