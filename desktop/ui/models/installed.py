"""The Installed tab: the models folder as a table, what each model needs, and what can be done
with one (use it, show it, delete it), plus importing a file.

Reading the folder and copying a file in run on lanes of the window's ``Tasks``: a read is
quick unless the folder is on a network drive, a copy is gigabytes.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, QSortFilterProxyModel, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.formatting import size_text
from desktop.core.models.registry import (
    Fit,
    ModelDeleteError,
    ModelEntry,
    ModelImportError,
    UnusableFile,
    delete_model,
    import_model,
)
from desktop.ui.appearance import colors
from desktop.ui.errors import show_error
from desktop.ui.models.controls import button, select_row, style_table
from desktop.ui.models.folder_scan import FolderScan, InstalledModel, scan_folder
from desktop.ui.models.model_details import InUse, ModelDetails, delete_refusal
from desktop.ui.models.tables import InstalledModelTable
from desktop.ui.tasks import TaskContext, Tasks
from desktop.ui.widgets.badges import BadgeDelegate
from desktop.ui.widgets.record_table import RECORD_ROLE, SORT_ROLE

log = logging.getLogger(__name__)

# Reading the models folder; its reads run one after another, so the last answer is the newest.
FILES_LANE = "model-files"
IMPORT_LANE = "model-import"
GGUF_FILTER = "GGUF models (*.gguf);;All files (*)"


def import_file(source: Path, folder: Path, link: bool, context: TaskContext) -> Path:
    """Copy (or link) ``source`` into ``folder``; ``ModelImportError`` says why not."""
    try:
        return import_model(source, folder, link=link, stop=context.cancelled)
    except OSError as error:
        log.warning("import of %s failed", source, exc_info=error)
        raise ModelImportError(
            f"“{source.name}” could not be imported: {error.strerror or error}."
        ) from None


class InstalledTab(QWidget):
    """The models found in the models folder (and the known files elsewhere)."""

    chat_model_chosen = Signal(object)  # Path
    embedding_model_chosen = Signal(object)  # Path
    # The models folder was read and its models shown.
    folder_scanned = Signal(object)  # FolderScan
    # A file was imported (its path in the models folder); the folder is being read again.
    model_imported = Signal(object)  # Path

    def __init__(
        self,
        folder: Path,
        known_files: Callable[[], list[Path]],
        context_length: Callable[[], int],
        chat_model: Callable[[], Path | None],
        embedding_model: Callable[[], Path | None],
        tasks: Tasks,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._folder = folder
        self._known_files = known_files
        self._context_length = context_length
        self._chat_model = chat_model
        self._embedding_model = embedding_model
        self._tasks = tasks
        self._scan = FolderScan([], [])
        # Reads asked for and not answered yet: only the answer to the last one is shown.
        self._scans_waiting = 0
        self._select_after_scan: Path | None = None
        self._build()
        self._connect()
        self._show_details()

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.summary_label = QLabel("Reading the models folder…")
        self.summary_label.setObjectName("modelsSummary")
        self.refresh_button = button("Refresh", "Read the models folder again (F5)")
        self.refresh_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.link_box = QCheckBox("Link instead of copying")
        self.link_box.setToolTip(
            "Leave the file where it is and list it through a link in the models folder. Saves "
            "disk space; moving or deleting the original breaks the link."
        )
        self.import_button = button("Import…", "Copy a GGUF model file into the models folder")
        header = QHBoxLayout()
        header.addWidget(self.summary_label, 1)
        header.addWidget(self.refresh_button)
        header.addSpacing(8)
        header.addWidget(self.link_box)
        header.addWidget(self.import_button)

        self._build_table()
        self._build_empty_state()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_box)

        self.unusable_label = QLabel()
        self.unusable_label.setObjectName("unusableLabel")
        self.unusable_label.setWordWrap(True)
        self.unusable_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.unusable_label.hide()

        self.details = ModelDetails()

        self.use_chat_action = QAction("Use for chat", self)
        self.use_documents_action = QAction("Use for documents", self)
        self.reveal_action = QAction("Show in folder", self)
        self.delete_action = QAction("Delete…", self)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.table.addAction(self.delete_action)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.unusable_label)
        layout.addWidget(self.details)

    def _build_table(self) -> None:
        self.model = InstalledModelTable(self._use_text)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setObjectName("modelTable")
        self.table.setModel(self.proxy)
        style_table(self.table)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.setItemDelegateForColumn(InstalledModelTable.NAME, BadgeDelegate(self.table))
        self.table.sortByColumn(InstalledModelTable.NAME, Qt.SortOrder.AscendingOrder)
        header_view = self.table.horizontalHeader()
        header_view.setSectionResizeMode(InstalledModelTable.NAME, QHeaderView.ResizeMode.Stretch)
        for column, width in (
            (InstalledModelTable.KIND, 86),
            (InstalledModelTable.PARAMETERS, 84),
            (InstalledModelTable.QUANTIZATION, 96),
            (InstalledModelTable.SIZE, 76),
            (InstalledModelTable.CONTEXT, 76),
            (InstalledModelTable.FIT, 78),
        ):
            header_view.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            self.table.setColumnWidth(column, width)

    def _build_empty_state(self) -> None:
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.empty_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty_import_button = button("Import…", name="primaryButton")
        self.empty_download_button = button("Download a model…")
        empty_buttons = QHBoxLayout()
        empty_buttons.addStretch(1)
        empty_buttons.addWidget(self.empty_import_button)
        empty_buttons.addWidget(self.empty_download_button)
        empty_buttons.addStretch(1)
        self.empty_box = QFrame()
        self.empty_box.setObjectName("modelsEmpty")
        empty_layout = QVBoxLayout(self.empty_box)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addSpacing(8)
        empty_layout.addLayout(empty_buttons)
        empty_layout.addStretch(1)

    def _connect(self) -> None:
        self.refresh_button.clicked.connect(self._on_refresh_clicked)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.empty_import_button.clicked.connect(self._on_import_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.details.use_chat_button.clicked.connect(self._on_use_for_chat)
        self.details.use_documents_button.clicked.connect(self._on_use_for_documents)
        self.details.reveal_button.clicked.connect(self._on_reveal)
        self.details.delete_button.clicked.connect(self._on_delete)
        self.use_chat_action.triggered.connect(self._on_use_for_chat)
        self.use_documents_action.triggered.connect(self._on_use_for_documents)
        self.reveal_action.triggered.connect(self._on_reveal)
        self.delete_action.triggered.connect(self._on_delete)

    # -- public ---------------------------------------------------------------------------------

    def refresh(self, select: Path | None = None) -> None:
        """Read the models folder again (off the GUI thread); ``select`` that file afterwards."""
        self._scans_waiting += 1
        if select is not None:
            self._select_after_scan = select
        self.refresh_button.setEnabled(False)
        folder, extra, context = self._folder, list(self._known_files()), self._context_length()
        # The paths the window will look for in the answer, resolved there.
        asked = [self._select_after_scan, self._chat_model(), self._embedding_model()]
        wanted = [path for path in asked if path is not None]
        self._tasks.run(
            FILES_LANE,
            lambda _context: scan_folder(folder, extra, context, wanted),
            done=self._on_scanned,
            failed=self._on_scan_failed,
        )

    def update_in_use(self) -> None:
        """The chat or documents model changed: move the “In use” marks."""
        self.model.refresh()
        self._show_details()

    def selected_model(self) -> InstalledModel | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        model = self.proxy.data(rows[0], RECORD_ROLE)
        return model if isinstance(model, InstalledModel) else None

    def selected_entry(self) -> ModelEntry | None:
        model = self.selected_model()
        return model.entry if model is not None else None

    def select_model(self, path: Path) -> bool:
        row = self.model.row_of(self._scan.resolve(path))
        if row is None:
            return False
        select_row(self.table, self.proxy.mapFromSource(self.model.index(row, 0)))
        return True

    def show_colours(self) -> None:
        """The theme changed: what is drawn in theme colours is drawn again."""
        self._show_details()
        self.table.viewport().update()

    # -- the models folder ----------------------------------------------------------------------

    @Slot()
    def _on_refresh_clicked(self) -> None:
        self.refresh()

    @Slot(object)
    def _on_scanned(self, scan: FolderScan) -> None:
        self._scans_waiting -= 1
        if self._scans_waiting:
            return  # A newer read is on its way; this answer is already out of date.
        self.refresh_button.setEnabled(True)
        previous = self.selected_model()
        wanted = self._select_after_scan or (previous.path if previous else None)
        self._select_after_scan = None
        # First, so that the table's “In use” marks resolve paths with this answer.
        self._scan = scan
        self.model.set_records(scan.models)
        self._show_summary()
        self._show_unusable(scan.unusable)
        if scan.models:
            self.stack.setCurrentWidget(self.table)
            chosen = [wanted, self._chat_model(), self._embedding_model()]
            if not any(path is not None and self.select_model(path) for path in chosen):
                select_row(self.table, self.proxy.index(0, 0))
        else:
            self.stack.setCurrentWidget(self.empty_box)
        self._show_details()
        self.folder_scanned.emit(scan)

    @Slot(object)
    def _on_scan_failed(self, error: BaseException) -> None:
        self._scans_waiting -= 1
        if self._scans_waiting:
            return
        self.refresh_button.setEnabled(True)
        if isinstance(error, OSError):
            log.warning("the models folder could not be read", exc_info=error)
            reason: object = error.strerror or error
        else:
            log.error("the models folder could not be read", exc_info=error)
            reason = error
        self.summary_label.setText(f"The models folder {self._folder} could not be read: {reason}.")

    def _show_summary(self) -> None:
        models = [model.entry for model in self._scan.models]
        count = len(models)
        if not count:
            self.summary_label.setText("No models yet.")
            text = colors()["text"]
            self.empty_label.setText(
                f"<p style='font-size: large; color: {text};'><b>No models yet</b></p>"
                "<p>Folio runs models stored as GGUF files in its models folder:<br>"
                f"<span style='color: {text};'>{html.escape(str(self._folder))}</span></p>"
                "<p>Import a GGUF file you already have, or download one.</p>"
            )
            return
        chat = sum(1 for model in models if not model.is_embedding_model)
        parts = [f"{chat:,} chat model{'s' if chat != 1 else ''}"]
        if count - chat:
            embedding = count - chat
            parts.append(f"{embedding:,} embedding model{'s' if embedding != 1 else ''}")
        context = self._context_length()
        self.summary_label.setText(
            f"{' and '.join(parts)} · memory for {context:,} tokens of context"
        )

    def _show_unusable(self, unusable: list[UnusableFile]) -> None:
        if not unusable:
            self.unusable_label.hide()
            return
        # Each reason names its file already.
        if len(unusable) == 1:
            lines = [f"Cannot be used: {unusable[0].reason}"]
        else:
            lines = [f"{len(unusable)} files cannot be used:"]
            lines.extend(f"• {problem.reason}" for problem in unusable)
        self.unusable_label.setText("\n".join(lines))
        self.unusable_label.setToolTip("\n".join(str(problem.path) for problem in unusable))
        self.unusable_label.show()

    def _in_use(self, model: InstalledModel) -> InUse:
        chat, documents = self._chat_model(), self._embedding_model()
        return InUse(
            chat=chat is not None and self._scan.same_file(chat, model),
            documents=documents is not None and self._scan.same_file(documents, model),
        )

    def _use_text(self, model: InstalledModel) -> str:
        return self._in_use(model).text

    # -- the selected model ---------------------------------------------------------------------

    @Slot()
    def _on_selection_changed(self) -> None:
        self._show_details()

    def _show_details(self) -> None:
        model = self.selected_model()
        self.details.setVisible(model is not None)
        if model is None:
            for action in (
                self.use_chat_action,
                self.use_documents_action,
                self.reveal_action,
                self.delete_action,
            ):
                action.setEnabled(False)
            return
        self.details.show_model(model, self._in_use(model))
        self.use_chat_action.setEnabled(self.details.use_chat_button.isEnabled())
        self.use_documents_action.setEnabled(self.details.use_documents_button.isEnabled())
        self.reveal_action.setEnabled(True)
        self.delete_action.setEnabled(self.details.delete_button.isEnabled())
        self.delete_action.setToolTip(self.details.delete_button.toolTip())

    @Slot(QPoint)
    def _on_context_menu(self, position: QPoint) -> None:
        if self.selected_model() is None:
            return
        menu = QMenu(self)
        menu.addAction(self.use_chat_action)
        menu.addAction(self.use_documents_action)
        menu.addSeparator()
        menu.addAction(self.reveal_action)
        menu.addAction(self.delete_action)
        menu.popup(self.table.viewport().mapToGlobal(position))

    @Slot()
    def _on_use_for_chat(self) -> None:
        entry = self.selected_entry()
        if entry is None or entry.is_embedding_model:
            return
        if entry.fit is Fit.WONT_FIT:
            answer = QMessageBox.question(
                self,
                "Not enough memory",
                f"“{entry.name}” needs about {size_text(entry.estimate.required_bytes)} at "
                f"{entry.context_for_estimate:,} tokens of context, but only "
                f"{size_text(entry.estimate.available_bytes)} is free now. Loading it may "
                "fail or make the computer very slow. Use it anyway?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.chat_model_chosen.emit(entry.path)
        self.update_in_use()

    @Slot()
    def _on_use_for_documents(self) -> None:
        entry = self.selected_entry()
        if entry is None or not entry.is_embedding_model:
            return
        self.embedding_model_chosen.emit(entry.path)
        self.update_in_use()

    @Slot()
    def _on_reveal(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(entry.path.parent)))

    @Slot()
    def _on_delete(self) -> None:
        model = self.selected_model()
        if model is None or delete_refusal(model, self._in_use(model)):
            return
        path = model.path
        if model.link_target is not None:
            question = (
                f"Remove the link “{path.name}” from the models folder? The file it points "
                f"to stays where it is:\n{model.link_target}"
            )
        else:
            question = (
                f"Delete “{path.name}” ({size_text(model.entry.size_bytes)}) from the models "
                "folder? The file is deleted from the disk, not moved to the trash."
            )
        answer = QMessageBox.question(self, "Delete model", question)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            delete_model(path, self._folder)
        except ModelDeleteError as error:
            show_error(self, str(error))
        self.refresh()

    # -- importing ------------------------------------------------------------------------------

    @Slot()
    def _on_import_clicked(self) -> None:
        filename, _ = QFileDialog.getOpenFileName(
            self, "Import a model", str(Path.home()), GGUF_FILTER
        )
        if not filename:
            return
        source = Path(filename)
        folder = self._folder
        link = self.link_box.isChecked()
        self.import_button.setEnabled(False)
        self.empty_import_button.setEnabled(False)
        self.summary_label.setText(
            f"Linking “{source.name}”…"
            if link
            else f"Copying “{source.name}” into the models folder…"
        )
        self._tasks.run(
            IMPORT_LANE,
            lambda context: import_file(source, folder, link, context),
            done=self._on_imported,
            failed=self._on_import_failed,
        )

    @Slot(object)
    def _on_imported(self, path: Path) -> None:
        self.import_button.setEnabled(True)
        self.empty_import_button.setEnabled(True)
        self.model_imported.emit(path)
        self.refresh(select=path)

    @Slot(object)
    def _on_import_failed(self, error: BaseException) -> None:
        if not isinstance(error, ModelImportError):
            log.error("an import failed unexpectedly", exc_info=error)
        self.import_button.setEnabled(True)
        self.empty_import_button.setEnabled(True)
        self._show_summary()
        show_error(self, str(error), "Import a model")
