"""The Download tab: the catalog of models Folio offers, and a box for any web address.

The tab only chooses what to download (``download_chosen``); the progress box runs it. What it
knows of the models folder (which catalog files are there, which are partly downloaded) comes
from the last read of the folder and from the download as it moves on, never from the disk.

Whether each model would fit is worked out whenever the folder is read (as the Installed tab's
fits are), on the models folder's lane: the free memory is measured there, not on the GUI
thread, and from the catalog's figures alone, the file not being here yet.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.formatting import parameters_text, size_text
from desktop.core.models.catalog import CatalogEntry, CatalogFit, estimate_catalog
from desktop.core.models.download import DownloadError, DownloadRequest, download_request
from desktop.core.models.registry import Fit
from desktop.ui.appearance import colors
from desktop.ui.errors import show_error
from desktop.ui.models.controls import button, select_row, set_tone, style_table
from desktop.ui.models.download_state import DownloadState, DownloadTracker
from desktop.ui.models.folder_scan import FolderScan
from desktop.ui.models.installed import FILES_LANE
from desktop.ui.models.tables import CatalogTable
from desktop.ui.models.words import (
    BEFORE_DOWNLOAD,
    FIT_ADVICE,
    FIT_COLOURS,
    KV_GUESSED,
    describe_estimate,
)
from desktop.ui.tasks import Tasks
from desktop.ui.widgets.badges import BadgeDelegate
from desktop.ui.widgets.record_table import RECORD_ROLE, SORT_ROLE

log = logging.getLogger(__name__)


class DownloadTab(QWidget):
    # The user chose a download (a catalog entry, or a web address), checked and ready to run.
    download_chosen = Signal(object)  # DownloadRequest
    # Whether each catalog model would fit was worked out again and shown.
    fits_estimated = Signal()

    def __init__(
        self,
        catalog: list[CatalogEntry],
        context_length: Callable[[], int],
        tasks: Tasks,
        catalog_problem: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._context_length = context_length
        self._tasks = tasks
        # What the models folder holds, as far as the last read and the download since tell.
        self._files: frozenset[str] = frozenset()
        self._installed: set[str] = set()
        self._partial_files: dict[str, int] = {}
        # The download under way (until the downloader reports back), or None.
        self._running: DownloadRequest | None = None
        self._build(catalog, catalog_problem)
        self._connect()
        self._show_details()

    # -- construction ---------------------------------------------------------------------------

    def _build(self, catalog: list[CatalogEntry], catalog_problem: str) -> None:
        intro = QLabel(
            "Models that work well in Folio. Each is one GGUF file, saved in the models folder."
        )
        intro.setObjectName("modelsSummary")
        intro.setWordWrap(True)
        self._build_catalog(catalog, catalog_problem)
        web_box = self._build_web_box()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(intro)
        layout.addWidget(self.catalog_stack, 1)
        layout.addWidget(self.catalog_details)
        layout.addWidget(web_box)

    def _build_catalog(self, catalog: list[CatalogEntry], catalog_problem: str) -> None:
        self.catalog = CatalogTable(catalog)
        self.catalog_proxy = QSortFilterProxyModel(self)
        self.catalog_proxy.setSourceModel(self.catalog)
        self.catalog_proxy.setSortRole(SORT_ROLE)
        self.catalog_table = QTableView()
        self.catalog_table.setObjectName("catalogTable")
        self.catalog_table.setModel(self.catalog_proxy)
        style_table(self.catalog_table)
        self.catalog_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.catalog_table.setItemDelegateForColumn(CatalogTable.NAME, BadgeDelegate(self))
        # The catalog's own order (small chat models first, then embedding models) until the
        # user sorts by a column.
        self.catalog_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        header_view = self.catalog_table.horizontalHeader()
        header_view.setSectionResizeMode(CatalogTable.NAME, QHeaderView.ResizeMode.Interactive)
        self.catalog_table.setColumnWidth(CatalogTable.NAME, 280)
        for column, width in (
            (CatalogTable.KIND, 86),
            (CatalogTable.SIZE, 76),
            (CatalogTable.FIT, 78),
            (CatalogTable.LICENCE, 110),
        ):
            header_view.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            self.catalog_table.setColumnWidth(column, width)
        header_view.setSectionResizeMode(CatalogTable.DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.catalog_table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.catalog_empty = QLabel(
            html.escape(catalog_problem)
            if catalog_problem
            else "There is no catalog of models to offer; download one by its web address below."
        )
        self.catalog_empty.setObjectName("modelsEmpty")
        self.catalog_empty.setWordWrap(True)
        self.catalog_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.catalog_stack = QStackedWidget()
        self.catalog_stack.addWidget(self.catalog_table)
        self.catalog_stack.addWidget(self.catalog_empty)
        self.catalog_stack.setCurrentWidget(self.catalog_table if catalog else self.catalog_empty)

        self.catalog_detail = QLabel()
        self.catalog_detail.setWordWrap(True)
        self.catalog_detail.setTextFormat(Qt.TextFormat.RichText)
        self.catalog_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.catalog_download_button = button("Download", name="primaryButton")
        self.catalog_details = QFrame()
        self.catalog_details.setObjectName("catalogDetails")
        detail_layout = QHBoxLayout(self.catalog_details)
        detail_layout.setContentsMargins(12, 8, 12, 8)
        detail_layout.addWidget(self.catalog_detail, 1)
        detail_layout.addWidget(self.catalog_download_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.catalog_details.setVisible(bool(catalog))

    def _build_web_box(self) -> QFrame:
        web_title = QLabel("From a web address")
        web_title.setObjectName("sectionTitle")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://…/model.Q4_K_M.gguf")
        self.url_edit.setClearButtonEnabled(True)
        self.sha_edit = QLineEdit()
        self.sha_edit.setPlaceholderText("SHA-256 checksum (optional)")
        self.sha_edit.setClearButtonEnabled(True)
        self.sha_edit.setMaximumWidth(280)
        self.url_download_button = button("Download")
        url_row = QHBoxLayout()
        url_row.addWidget(self.url_edit, 3)
        url_row.addWidget(self.sha_edit, 2)
        url_row.addWidget(self.url_download_button)
        self.url_message = QLabel()
        self.url_message.setWordWrap(True)
        set_tone(self.url_message, "error")
        self.url_message.hide()
        network_note = QLabel(
            "Without a checksum Folio cannot verify that the file arrived whole and unchanged. "
            "Downloading is the only time Folio uses the network, and only when you click "
            "Download."
        )
        network_note.setObjectName("quietNote")
        network_note.setWordWrap(True)
        web_box = QFrame()
        web_box.setObjectName("webAddressBox")
        web_layout = QVBoxLayout(web_box)
        web_layout.setContentsMargins(12, 8, 12, 8)
        web_layout.setSpacing(6)
        web_layout.addWidget(web_title)
        web_layout.addLayout(url_row)
        web_layout.addWidget(self.url_message)
        web_layout.addWidget(network_note)
        return web_box

    def _connect(self) -> None:
        self.catalog_table.selectionModel().selectionChanged.connect(
            self._on_catalog_selection_changed
        )
        self.catalog_table.doubleClicked.connect(self._on_catalog_download)
        self.catalog_download_button.clicked.connect(self._on_catalog_download)
        self.url_download_button.clicked.connect(self._on_url_download)
        self.url_edit.returnPressed.connect(self._on_url_download)
        self.sha_edit.returnPressed.connect(self._on_url_download)

    # -- public ---------------------------------------------------------------------------------

    def selected_entry(self) -> CatalogEntry | None:
        rows = self.catalog_table.selectionModel().selectedRows()
        if not rows:
            return None
        entry = self.catalog_proxy.data(rows[0], RECORD_ROLE)
        return entry if isinstance(entry, CatalogEntry) else None

    def select_entry(self, filename: str) -> bool:
        row = self.catalog.row_of(filename)
        if row is None:
            return False
        select_row(self.catalog_table, self.catalog_proxy.mapFromSource(self.catalog.index(row, 0)))
        return True

    def select_first_if_none(self) -> None:
        """Shown: something is selected, so that the details say what a row is."""
        if self.selected_entry() is None and self.catalog.rowCount():
            select_row(self.catalog_table, self.catalog_proxy.index(0, 0))

    def kept_bytes(self, filename: str) -> int:
        """What an earlier download of ``filename`` kept, to resume from."""
        return self._partial_files.get(filename, 0)

    def show_folder(self, scan: FolderScan) -> None:
        """The models folder was read again."""
        self._files = scan.files
        self._installed = set(scan.installed_names)
        self._partial_files = dict(scan.partial_files)
        self._show_states()
        # The memory free may have changed as much as the folder, and so may the context set.
        self.estimate_fits()

    def estimate_fits(self) -> None:
        """Work out again (off the GUI thread) whether each model would fit in the memory free
        now, at the context length set; ``fits_estimated`` says when it is shown."""
        entries, context = self.catalog.records(), self._context_length()
        if not entries:
            return
        self._tasks.run(
            FILES_LANE,
            lambda _context: estimate_catalog(entries, context),
            done=self._on_fits_estimated,
            failed=self._on_fits_failed,
        )

    def show_download(self, tracker: DownloadTracker) -> None:
        """The download moved on (started, paused, failed, cancelled, dismissed)."""
        self._running = tracker.request if tracker.running else None
        filename = tracker.filename
        if tracker.state in (DownloadState.PAUSED, DownloadState.FAILED) and tracker.received:
            self._partial_files[filename] = tracker.received
        elif tracker.state in (DownloadState.PAUSED, DownloadState.FAILED, DownloadState.CANCELLED):
            # Nothing was kept, or what was kept has been deleted.
            self._partial_files.pop(filename, None)
        self._show_states()

    def show_downloaded(self, request: DownloadRequest) -> None:
        """``request`` ended with its file in the models folder."""
        self._running = None
        self._files |= {request.filename}
        self._installed.add(request.filename)
        self._partial_files.pop(request.filename, None)
        if request.url == self.url_edit.text().strip():
            self.url_edit.clear()
            self.sha_edit.clear()
        self._show_states()

    def show_colours(self) -> None:
        """The theme changed: what is drawn in theme colours is drawn again."""
        self._show_details()
        self.catalog_table.viewport().update()

    # -- the catalog ----------------------------------------------------------------------------

    @Slot()
    def _on_catalog_selection_changed(self) -> None:
        self._show_details()

    @Slot(object)
    def _on_fits_estimated(self, fits: Mapping[str, CatalogFit]) -> None:
        self.catalog.set_fits(fits)
        self._show_details()
        self.fits_estimated.emit()

    @Slot(object)
    def _on_fits_failed(self, error: BaseException) -> None:
        # Only arithmetic and a read of the free memory: the Fit column stays blank.
        log.error("whether the catalog's models fit could not be worked out", exc_info=error)

    def _show_states(self) -> None:
        states: dict[str, tuple[str, str]] = {}
        downloading = self._running.filename if self._running is not None else None
        for entry in self.catalog.records():
            if entry.filename in self._installed:
                states[entry.filename] = ("Installed", "good")
            elif entry.filename == downloading:
                states[entry.filename] = ("Downloading", "accent")
            elif entry.filename in self._partial_files:
                states[entry.filename] = ("Partly downloaded", "warn")
        self.catalog.set_states(states)
        self._show_details()

    def _show_details(self) -> None:
        entry = self.selected_entry()
        download = self.catalog_download_button
        if entry is None:
            self.catalog_detail.setText(
                f"<span style='color: {colors()['muted']};'>Select a model to see what it "
                "is.</span>"
            )
            download.setEnabled(False)
            download.setText("Download")
            return
        self.catalog_detail.setText(self._details_html(entry))
        installed = entry.filename in self._installed
        paused_here = entry.filename in self._partial_files
        wont_fit = not installed and self._wont_fit(entry) is not None
        if installed:
            download.setText("Installed")
        elif paused_here:
            download.setText("Resume anyway…" if wont_fit else "Resume download")
        else:
            download.setText("Download anyway…" if wont_fit else "Download")
        download.setEnabled(not installed and self._running is None)
        host = _host(entry)
        if installed:
            download.setToolTip("This model is already in the models folder")
        elif self._running is not None:
            download.setToolTip(
                f"One download at a time: wait for “{self._running.name}” or pause it"
            )
        elif wont_fit:
            download.setToolTip(
                "It would not fit in the memory free now; Folio asks before downloading "
                f"{size_text(entry.size_bytes)} from {host}"
            )
        else:
            download.setToolTip(
                f"Download {size_text(entry.size_bytes)} from {host} into the models folder"
            )

    def _details_html(self, entry: CatalogEntry) -> str:
        """What the entry is, where it comes from, and whether it would fit."""
        muted = colors()["muted"]
        facts = [size_text(entry.size_bytes), entry.kind.capitalize()]
        if entry.parameters:
            facts.append(f"{parameters_text(entry.parameters)} parameters")
        if entry.architecture:
            facts.append(entry.architecture)
        if entry.context_length:
            facts.append(f"{entry.context_length:,} tokens of context")
        facts += [
            f"licence {entry.licence}",
            f"from {_host(entry)}",
            "checked against its SHA-256",
        ]
        text = (
            f"<b>{html.escape(entry.name)}</b> — {html.escape(entry.description)}<br>"
            f"<span style='color: {muted};'>{html.escape(' · '.join(facts))}</span>"
        )
        catalog_fit = self.catalog.fit_of(entry)
        if catalog_fit is None or entry.filename in self._installed:
            # Once installed, the Installed tab has the figure read from the file itself.
            return text
        fit = catalog_fit.fit
        line, _, verdict = describe_estimate(
            catalog_fit.estimate, catalog_fit.context, BEFORE_DOWNLOAD
        ).rpartition("→ ")
        notes = [FIT_ADVICE[fit]]
        if not catalog_fit.shape_known:
            notes.append(KV_GUESSED)
        note = " ".join(part for part in notes if part)
        return (
            f"{text}<br>{html.escape(line)}→ <span style='color: {colors()[FIT_COLOURS[fit]]}; "
            f"font-weight: 600;'>{html.escape(verdict)}</span>"
            + (f"<br><span style='color: {muted};'>{html.escape(note)}</span>" if note else "")
        )

    def _wont_fit(self, entry: CatalogEntry) -> CatalogFit | None:
        """The estimate, when it says the model would not fit in the memory free now."""
        catalog_fit = self.catalog.fit_of(entry)
        return catalog_fit if catalog_fit is not None and catalog_fit.fit is Fit.WONT_FIT else None

    @Slot()
    def _on_catalog_download(self) -> None:
        entry = self.selected_entry()
        if entry is None or not self.catalog_download_button.isEnabled():
            return
        try:
            request = entry.request()
        except DownloadError as error:
            # A catalog read from resources/catalog.json was checked whole; one handed in may not.
            show_error(self, str(error), "Download a model")
            return
        if not self._download_despite_memory(entry):
            return
        self.download_chosen.emit(request)

    def _download_despite_memory(self, entry: CatalogEntry) -> bool:
        """True unless the model would not fit and the user, told so, chose not to download."""
        wont_fit = self._wont_fit(entry)
        if wont_fit is None:
            return True
        estimate = wont_fit.estimate
        answer = QMessageBox.question(
            self,
            "Not enough memory",
            f"“{entry.name}” would need about {size_text(estimate.required_bytes)} at "
            f"{wont_fit.context:,} tokens of context, but only "
            f"{size_text(estimate.available_bytes)} is free now: it would likely fail to load, "
            "or make the computer very slow. (This is an estimate before download.)\n\n"
            f"{FIT_ADVICE[Fit.WONT_FIT]}\n\nDownload its {size_text(entry.size_bytes)} anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    # -- a web address --------------------------------------------------------------------------

    @Slot()
    def _on_url_download(self) -> None:
        checksum = self.sha_edit.text().strip()
        try:
            request = download_request(self.url_edit.text(), sha256=checksum or None)
        except DownloadError as error:
            self._show_url_problem(str(error))
            return
        if request.filename in self._files:
            self._show_url_problem(
                f"The models folder already has a file named “{request.filename}”."
            )
        elif self._running is not None:
            self._show_url_problem("One download at a time: wait for the current one, or pause it.")
        else:
            self._show_url_problem("")
            self.download_chosen.emit(request)

    def _show_url_problem(self, problem: str) -> None:
        self.url_message.setText(problem)
        self.url_message.setVisible(bool(problem))


def _host(entry: CatalogEntry) -> str:
    return urlsplit(entry.url).hostname or entry.url
