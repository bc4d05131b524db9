"""The document library pane: add, watch indexing, open, re-index and remove documents."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.documents.records import (
    AddResult,
    DocumentRecord,
    DocumentStatus,
    IndexProgress,
    LibraryCounts,
)
from desktop.core.formatting import count_text, size_text
from desktop.ui.appearance import colors
from desktop.ui.library.name_cell import DocumentNameDelegate, name_row_height
from desktop.ui.library.progress import IndexingStatus, summary_text
from desktop.ui.library.service import LibraryService
from desktop.ui.library.table import DocumentFilterModel, DocumentTableModel, shown_name
from desktop.ui.widgets.record_table import RECORD_ROLE

# The progress line is redrawn at most this often, however fast pages go by.
PROGRESS_REFRESH_MS = 200
FILE_FILTER = "Documents (*.pdf *.txt *.md *.markdown);;All files (*)"


def describe_added(results: list[AddResult]) -> tuple[str, list[str]]:
    """A one-line summary of an add, and the reasons for what was not added."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    parts = []
    if counts.get("added"):
        parts.append(f"{counts['added']:,} added")
    if counts.get("changed"):
        parts.append(f"{counts['changed']:,} changed and queued again")
    if counts.get("unchanged"):
        parts.append(f"{counts['unchanged']:,} already in the library")
    if counts.get("skipped"):
        parts.append(f"{counts['skipped']:,} skipped (not PDF, text or Markdown)")
    if counts.get("failed"):
        parts.append(f"{counts['failed']:,} could not be added")
    problems = [r.message for r in results if r.outcome == "failed" and r.message]
    return ("Documents: " + ", ".join(parts) + ".") if parts else "Nothing to add.", problems


class LibraryPane(QWidget):
    open_requested = Signal(object)  # DocumentRecord
    status_message = Signal(str)

    def __init__(self, service: LibraryService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPane")
        self._service = service
        self._pending_progress: IndexProgress | None = None
        # Paused, and the run has finished the page it was on.
        self._held = False
        # The documents (and their states) the end of the last run was told for: when they
        # change, that news is old.
        self._done_for: list[tuple[str, DocumentStatus]] = []
        self._build()
        self._connect()
        self._set_opened(False)
        self._show_idle()

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        title = QLabel("Documents")
        title.setObjectName("paneTitle")
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("paneSummary")
        self.add_files_button = QPushButton("Add files…")
        self.add_folder_button = QPushButton("Add folder…")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.add_files_button)
        header.addWidget(self.add_folder_button)

        self.filter_box = QLineEdit()
        self.filter_box.setObjectName("searchBox")
        self.filter_box.setPlaceholderText("Filter by title or file name")
        self.filter_box.setClearButtonEnabled(True)

        self.model = DocumentTableModel()
        self.proxy = DocumentFilterModel(self.model, self)
        self.table = QTableView()
        self.table.setObjectName("documentTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(DocumentTableModel.NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        # Two lines a row: the title, and the file name under it.
        self.table.setItemDelegateForColumn(DocumentTableModel.NAME, DocumentNameDelegate(self))
        self.table.verticalHeader().setDefaultSectionSize(name_row_height(self.table.font()) + 2)
        header_view = self.table.horizontalHeader()
        header_view.setSectionResizeMode(DocumentTableModel.NAME, QHeaderView.ResizeMode.Stretch)
        # Fixed, compact number columns; the name takes the rest and elides (the tooltip and
        # the detail box below have it whole).
        for column, width in (
            (DocumentTableModel.PAGES, 52),
            (DocumentTableModel.SIZE, 68),
            (DocumentTableModel.STATUS, 112),
        ):
            header_view.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            self.table.setColumnWidth(column, width)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.empty_label = QLabel()
        self.empty_label.setObjectName("libraryEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.table)
        # The selected document's whole story: why it failed, what it needs, where it is.
        self.detail_label = QLabel()
        self.detail_label.setObjectName("documentDetail")
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_label.hide()

        self.progress_box = IndexingStatus()
        self.progress_bar = self.progress_box.bar
        self.progress_label = self.progress_box.label
        self.pause_button = self.progress_box.pause_button
        self.cancel_button = self.progress_box.cancel_button

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addLayout(header)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.detail_label)
        layout.addWidget(self.progress_box)

        self.open_action = QAction("Open", self)
        self.reveal_action = QAction("Show in folder", self)
        self.reindex_action = QAction("Index again", self)
        self.password_action = QAction("Enter password…", self)
        self.remove_action = QAction("Remove from library", self)
        self.remove_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.table.addAction(self.remove_action)

        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_REFRESH_MS)

    def _connect(self) -> None:
        service = self._service
        service.opened.connect(self._on_opened)
        service.open_failed.connect(self._on_open_failed)
        service.documents_changed.connect(self._on_documents_changed)
        service.files_added.connect(self._on_files_added)
        service.indexing_started.connect(self._on_indexing_started)
        service.progress_reported.connect(self._on_progress_reported)
        service.indexing_finished.connect(self._on_indexing_finished)
        service.pause_changed.connect(self._on_pause_changed)
        service.indexing_held.connect(self._on_indexing_held)
        self.add_files_button.clicked.connect(self._on_add_files)
        self.add_folder_button.clicked.connect(self._on_add_folder)
        self.filter_box.textChanged.connect(self._on_filter_changed)
        self.table.doubleClicked.connect(self._on_double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.progress_box.problems_requested.connect(self._on_problems_requested)
        self.open_action.triggered.connect(self._on_open_selected)
        self.reveal_action.triggered.connect(self._on_reveal_selected)
        self.reindex_action.triggered.connect(self._on_reindex_selected)
        self.password_action.triggered.connect(self._on_password_requested)
        self.remove_action.triggered.connect(self._on_remove_selected)
        self._progress_timer.timeout.connect(self._on_progress_timer)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        # Files may have been moved or deleted while the library was out of sight.
        self.refresh()

    def refresh(self) -> None:
        """Look at the documents' files again."""
        self._service.refresh()

    # -- public ---------------------------------------------------------------------------------

    def add_paths(self, paths: list[Path]) -> None:
        if self._service.library is None:
            self.status_message.emit("The library is still opening; try again in a moment.")
            return
        self.status_message.emit(
            f"Adding {len(paths):,} item{'s' if len(paths) != 1 else ''} to the library…"
        )
        self._service.add(paths)

    def selected_records(self) -> list[DocumentRecord]:
        rows = self.table.selectionModel().selectedRows()
        return [self.proxy.data(row, RECORD_ROLE) for row in rows]

    def select_document(self, document_id: str) -> None:
        row = self.model.row_of(document_id)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().select(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    # -- service --------------------------------------------------------------------------------

    def _set_opened(self, opened: bool) -> None:
        self.add_files_button.setEnabled(opened)
        self.add_folder_button.setEnabled(opened)
        if not opened:
            self.empty_label.setText("Opening the library…")

    @Slot()
    def _on_opened(self) -> None:
        self._set_opened(True)

    @Slot(str)
    def _on_open_failed(self, reason: str) -> None:
        self.empty_label.setText(
            "<b>The document library could not be opened.</b><br>"
            f"{html.escape(reason)}<br><br>Chatting without documents still works."
        )

    @Slot(object)
    def _on_documents_changed(self, records: list[DocumentRecord]) -> None:
        self._show_documents(records)

    def _show_documents(self, records: list[DocumentRecord]) -> None:
        self.model.set_records(records)
        self.stack.setCurrentWidget(self.table if records else self.empty_label)
        if not records and self._service.library is not None:
            self.empty_label.setText(
                f"<p style='font-size: 12pt; color: {colors()['secondary']};'>No documents yet</p>"
                "<p>Drop PDF, text or Markdown files or whole folders here,<br>"
                "or use <b>Add files…</b>. Everything stays on this computer.</p>"
            )
        self._show_summary()
        self._update_actions()
        self._show_detail()
        if self._done_for and self._done_for != _states(records):
            self.progress_box.hide_done()
        if not self._service.is_indexing():
            self._show_idle()

    def _counts(self) -> LibraryCounts:
        progress = self._pending_progress if self._service.is_indexing() else None
        return LibraryCounts.of(self.model_records(), progress)

    def _show_summary(self, counts: LibraryCounts | None = None) -> None:
        records = self.model_records()
        self.summary_label.setText(summary_text(counts or self._counts()) if records else "")
        self.summary_label.setVisible(bool(records))

    @Slot(object)
    def _on_files_added(self, results: list[AddResult]) -> None:
        summary, problems = describe_added(results)
        self.status_message.emit(summary)
        if problems:
            shown = problems[:12]
            more = len(problems) - len(shown)
            QMessageBox.warning(
                self,
                "Some files were not added",
                "\n".join(f"• {problem}" for problem in shown)
                + (f"\n…and {more:,} more." if more > 0 else ""),
            )

    @Slot()
    def _on_indexing_started(self) -> None:
        self._done_for = []
        self.progress_box.show_starting()
        self.pause_button.setText("Pause")

    @Slot(object)
    def _on_progress_reported(self, progress: IndexProgress) -> None:
        self._pending_progress = progress
        if not self._progress_timer.isActive():
            self._progress_timer.start()

    @Slot()
    def _on_progress_timer(self) -> None:
        progress = self._pending_progress
        if progress is None or not self._service.is_indexing():
            return
        self.model.set_progress(progress)
        # The header and this line count the same pages, from the same records.
        counts = self._counts()
        self._show_summary(counts)
        if self._service.is_paused():
            self.progress_box.show_paused(counts, held=self._held)
        else:
            self.progress_box.show_progress(
                counts, progress.pages_per_second, progress.seconds_left
            )
        # Extraction runs ahead of embedding: pages are found by their words first.
        ahead = progress.library_pages_extracted - progress.library_pages_done
        self.progress_label.setToolTip(
            f"{ahead:,} more pages are read and already found by their words; they are "
            "counted as searchable once found by their meaning too."
            if ahead > 0
            else ""
        )

    @Slot(bool)
    def _on_indexing_finished(self, cancelled: bool) -> None:
        self._pending_progress = None
        self.model.set_progress(None)
        self.progress_label.setToolTip("")
        records = self._service.documents()
        self._show_documents(records)
        if not cancelled and records:
            self._done_for = _states(records)
            self.progress_box.show_done(LibraryCounts.of(records))

    @Slot(bool)
    def _on_pause_changed(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self._held = False
        self._on_progress_timer()

    @Slot()
    def _on_indexing_held(self) -> None:
        self._held = True
        self._on_progress_timer()

    def _show_idle(self) -> None:
        """No run: hide the progress, unless documents wait (stopped or interrupted) or the
        end of the last run is still being told."""
        if self._service.is_indexing():
            return
        waiting = [r for r in self.model_records() if r.status == DocumentStatus.QUEUED]
        if waiting:
            self._done_for = []
            self.progress_box.show_stopped(len(waiting))
        elif not self.progress_box.showing_done:
            self._done_for = []
            self.progress_box.hide()

    def model_records(self) -> list[DocumentRecord]:
        return self.model.records()

    # -- user actions ---------------------------------------------------------------------------

    @Slot()
    def _on_add_files(self) -> None:
        filenames, _ = QFileDialog.getOpenFileNames(
            self, "Add documents", str(Path.home()), FILE_FILTER
        )
        if filenames:
            self.add_paths([Path(name) for name in filenames])

    @Slot()
    def _on_add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder", str(Path.home()))
        if folder:
            self.add_paths([Path(folder)])

    @Slot(str)
    def _on_filter_changed(self, text: str) -> None:
        self.proxy.set_needle(text)

    @Slot()
    def _on_pause_clicked(self) -> None:
        if self._service.is_indexing() and not self._service.is_paused():
            self._service.pause()
        else:
            self._service.resume()

    @Slot()
    def _on_cancel_clicked(self) -> None:
        self._service.cancel()
        self.status_message.emit("Indexing stopped. What was done is kept; Resume goes on.")

    @Slot()
    def _on_problems_requested(self) -> None:
        problems = [
            record
            for record in self.model_records()
            if record.status in (DocumentStatus.FAILED, DocumentStatus.NEEDS_ATTENTION)
        ]
        if problems:
            self.filter_box.clear()
            self.select_document(problems[0].id)
            self.table.setFocus()

    @Slot()
    def _on_selection_changed(self) -> None:
        self._update_actions()
        self._show_detail()

    def _show_detail(self) -> None:
        records = self.selected_records()
        if len(records) != 1:
            self.detail_label.hide()
            return
        record = records[0]
        lines = [f"<b>{html.escape(shown_name(record), quote=False)}</b>"]
        if record.message:
            lines.append(html.escape(record.message, quote=False))
        facts = [count_text(record.pages, "page")] if record.pages else []
        if record.status == DocumentStatus.READY:
            facts.append(count_text(record.chunks, "passage"))
        facts.append(size_text(record.size))
        muted = colors()["muted"]
        lines.append(
            f"<span style='color: {muted};'>{html.escape(' · '.join(facts))}<br>"
            f"{html.escape(str(record.path))}</span>"
        )
        self.detail_label.setText("<br>".join(lines))
        self.detail_label.show()

    @Slot(QModelIndex)
    def _on_double_clicked(self, index: QModelIndex) -> None:
        record = self.proxy.data(index, RECORD_ROLE)
        if record.needs_password:
            self._on_password_requested()
            return
        self.open_requested.emit(record)

    @Slot(QPoint)
    def _on_context_menu(self, position: QPoint) -> None:
        if not self.selected_records():
            return
        self._update_actions()
        menu = QMenu(self)
        menu.addAction(self.open_action)
        menu.addAction(self.reveal_action)
        menu.addSeparator()
        if self.password_action.isEnabled():
            menu.addAction(self.password_action)
        menu.addAction(self.reindex_action)
        menu.addAction(self.remove_action)
        menu.popup(self.table.viewport().mapToGlobal(position))

    def _update_actions(self) -> None:
        records = self.selected_records()
        present = [r for r in records if r.present]
        self.open_action.setEnabled(len(records) == 1 and bool(present))
        self.reveal_action.setEnabled(len(records) == 1 and bool(present))
        self.reindex_action.setEnabled(bool(present))
        self.remove_action.setEnabled(bool(records))
        self.password_action.setEnabled(len(present) == 1 and present[0].needs_password)

    @Slot()
    def _on_open_selected(self) -> None:
        records = self.selected_records()
        if records:
            self.open_requested.emit(records[0])

    @Slot()
    def _on_reveal_selected(self) -> None:
        records = self.selected_records()
        if records:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(records[0].path.parent)))

    @Slot()
    def _on_reindex_selected(self) -> None:
        records = [r for r in self.selected_records() if r.present]
        if records:
            self._service.reindex([r.id for r in records])
            self.status_message.emit(
                f"{len(records):,} document{'s' if len(records) != 1 else ''} queued again."
            )

    @Slot()
    def _on_password_requested(self) -> None:
        records = self.selected_records()
        if len(records) != 1:
            return
        record = records[0]
        password, accepted = QInputDialog.getText(
            self,
            "Password",
            f"“{record.name}” is protected with a password. Enter it to index the document; "
            "Folio keeps it only until it quits.",
            QLineEdit.EchoMode.Password,
        )
        if accepted and password:
            self._service.unlock(record.id, password)
            self.status_message.emit(f"Indexing “{record.name}” with its password…")

    @Slot()
    def _on_remove_selected(self) -> None:
        records = self.selected_records()
        if not records:
            return
        what = f"“{records[0].name}”" if len(records) == 1 else f"{len(records):,} documents"
        answer = QMessageBox.question(
            self,
            "Remove from library",
            f"Remove {what} from the library? The files themselves stay where they are; "
            "answers already given keep their sources.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._service.remove([r.id for r in records])
            self.status_message.emit(f"Removed {what} from the library.")


def _states(records: list[DocumentRecord]) -> list[tuple[str, DocumentStatus]]:
    return [(record.id, record.status) for record in records]


def dropped_paths(urls: list[QUrl]) -> list[Path]:
    """The local files and folders among dropped URLs; adding them says what cannot be read."""
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
