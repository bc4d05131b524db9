"""The Models window: what is installed and whether it fits, importing, deleting, downloading.

The dialog holds two tabs and the progress box under them, and passes between them what one
learns and another shows: a read of the models folder (Installed) tells the Download tab which
catalog files are there, a download chosen there runs in the box, and a finished download is
selected on the Installed tab. Every slow step runs through the dialog's ``Tasks``; nothing on
those lanes touches a widget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from string import Template

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.formatting import amount_text
from desktop.core.models.catalog import CatalogEntry, CatalogError, load_catalog
from desktop.core.models.download import DownloadRequest
from desktop.core.models.registry import ModelEntry
from desktop.ui.appearance import colors
from desktop.ui.models.download_box import DownloadBox
from desktop.ui.models.download_state import DownloadState, DownloadTracker
from desktop.ui.models.download_tab import DownloadTab
from desktop.ui.models.folder_scan import FolderScan
from desktop.ui.models.installed import InstalledTab
from desktop.ui.tasks import Tasks

log = logging.getLogger(__name__)

_STYLE = Template(
    """
#modelTable, #catalogTable { outline: 0; border: 1px solid $border; background: $base;
    alternate-background-color: $subtle; selection-background-color: $accent_soft;
    selection-color: $text; }
#modelTable QHeaderView::section, #catalogTable QHeaderView::section { background: $header;
    border: none; border-bottom: 1px solid $border; padding: 4px 6px; color: $secondary; }
#modelDetails, #catalogDetails, #webAddressBox, #downloadBox { background: $base;
    border: 1px solid $border; border-radius: 6px; }
#detailTitle { font-weight: 600; color: $text; }
#factName { color: $muted; }
#factValue, #memoryLine { color: $text; }
#quietNote, #unusableLabel, #modelsSummary { color: $muted; }
#templateNote { color: $warning_text; }
#modelsEmpty { color: $secondary; border: 2px dashed $border_strong; border-radius: 10px;
    padding: 24px; }
#sectionTitle { font-weight: 600; color: $text; }
#progressLabel { color: $secondary; }
QLabel[tone="error"], #progressLabel[tone="error"] { color: $danger; }
#primaryButton { padding: 5px 14px; border-radius: 6px; background: $accent; color: white;
    border: none; font-weight: 600; }
#primaryButton:disabled { background: $disabled; }
"""
)


class ModelManager(QDialog):
    """The installed models with what each needs, and the ways to get more."""

    chat_model_chosen = Signal(object)  # Path
    embedding_model_chosen = Signal(object)  # Path
    # A scan of the models folder was shown (after a show, Refresh, an import or a download).
    models_listed = Signal()

    def __init__(
        self,
        models_folder: Path,
        known_files: Callable[[], list[Path]],
        context_length: Callable[[], int],
        chat_model: Callable[[], Path | None],
        embedding_model: Callable[[], Path | None],
        parent: QWidget | None = None,
        catalog: list[CatalogEntry] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelManager")
        self.setWindowTitle("Models")
        self.setModal(False)
        self.setSizeGripEnabled(True)
        self.setMinimumSize(680, 440)
        self.resize(900, 560)
        self._colours: dict[str, str] = {}
        self._apply_style()
        self._folder = models_folder
        catalog_problem = ""
        if catalog is None:
            try:
                catalog = load_catalog()
            except CatalogError as error:
                log.warning("model catalog unusable: %s", error)
                catalog, catalog_problem = [], str(error)
        self._tasks = Tasks(self)
        self.installed_tab = InstalledTab(
            models_folder, known_files, context_length, chat_model, embedding_model, self._tasks
        )
        self.download_tab = DownloadTab(list(catalog), context_length, self._tasks, catalog_problem)
        self.download_box = DownloadBox(models_folder, self._tasks)
        self._build()
        self._connect()

    def _build(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.installed_tab, "Installed")
        self.tabs.addTab(self.download_tab, "Download")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        self.close_button.setAutoDefault(False)
        folder_note = QLabel(f"Models folder: {self._folder}")
        folder_note.setObjectName("quietNote")
        folder_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom = QHBoxLayout()
        bottom.addWidget(folder_note, 1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        self._layout = layout
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.download_box)
        layout.addLayout(bottom)

    def _connect(self) -> None:
        installed = self.installed_tab
        installed.chat_model_chosen.connect(self.chat_model_chosen)
        installed.embedding_model_chosen.connect(self.embedding_model_chosen)
        installed.folder_scanned.connect(self._on_folder_scanned)
        installed.model_imported.connect(self._on_model_imported)
        installed.empty_download_button.clicked.connect(self._on_show_download_tab)
        self.download_tab.download_chosen.connect(self._on_download_chosen)
        self.download_box.download_changed.connect(self._on_download_changed)
        self.download_box.downloaded.connect(self._on_downloaded)
        self.tabs.currentChanged.connect(self._on_tab_changed)

    # -- public ---------------------------------------------------------------------------------

    def add_box(self, box: QWidget) -> None:
        """A section under the tabs, above the download progress (the LoRA adapter row)."""
        self._layout.insertWidget(1, box)

    def refresh(self, select: Path | None = None) -> None:
        """Read the models folder again (off the GUI thread); ``select`` that file afterwards."""
        self.installed_tab.refresh(select)

    def update_in_use(self) -> None:
        """The chat or documents model changed: move the “In use” marks."""
        self.installed_tab.update_in_use()

    def selected_entry(self) -> ModelEntry | None:
        return self.installed_tab.selected_entry()

    def select_model(self, path: Path) -> bool:
        return self.installed_tab.select_model(path)

    def selected_catalog_entry(self) -> CatalogEntry | None:
        return self.download_tab.selected_entry()

    def select_catalog_entry(self, filename: str) -> bool:
        return self.download_tab.select_entry(filename)

    @property
    def downloading(self) -> bool:
        return self.download_box.downloading

    def shutdown(self) -> None:
        """When Folio quits: a running download is paused (what arrived is kept for the next
        time), an import is stopped (it leaves nothing behind), and every task is waited for."""
        self._tasks.shutdown()

    # -- window ---------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not event.spontaneous():
            # Files may have come and gone while the window was closed.
            self.refresh()

    def reject(self) -> None:
        """Esc, Close and the title bar's close button all come here."""
        tracker = self.download_box.tracker
        if tracker.state is DownloadState.RUNNING and tracker.request is not None:
            answer = QMessageBox.question(
                self,
                "Download in progress",
                f"“{tracker.request.name}” is still downloading "
                f"({amount_text(tracker.received, tracker.total)}). Pause the "
                "download and close the window? What has arrived is kept; downloading the "
                "model again goes on from there.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.download_box.pause()
        super().reject()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        # A theme chosen in the settings reaches open windows as a new application palette.
        if event.type() == QEvent.Type.PaletteChange and colors() is not self._colours:
            self._apply_style()
            self.installed_tab.show_colours()
            self.download_tab.show_colours()

    def _apply_style(self) -> None:
        self._colours = colors()
        self.setStyleSheet(_STYLE.substitute(self._colours))

    # -- between the tabs -----------------------------------------------------------------------

    @Slot(object)
    def _on_folder_scanned(self, scan: FolderScan) -> None:
        count = len(scan.models)
        self.tabs.setTabText(0, f"Installed ({count})" if count else "Installed")
        self.download_tab.show_folder(scan)
        self.models_listed.emit()

    @Slot(object)
    def _on_model_imported(self, _path: Path) -> None:
        self.tabs.setCurrentWidget(self.installed_tab)

    @Slot()
    def _on_show_download_tab(self) -> None:
        self.tabs.setCurrentWidget(self.download_tab)

    @Slot(int)
    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.download_tab:
            self.download_tab.select_first_if_none()

    @Slot(object)
    def _on_download_chosen(self, request: DownloadRequest) -> None:
        self.download_box.start(request, self.download_tab.kept_bytes(request.filename))

    @Slot(object)
    def _on_download_changed(self, tracker: DownloadTracker) -> None:
        self.download_tab.show_download(tracker)

    @Slot(object, object)
    def _on_downloaded(self, request: DownloadRequest, path: Path) -> None:
        self.download_tab.show_downloaded(request)
        self.tabs.setCurrentWidget(self.installed_tab)
        self.refresh(select=path)
