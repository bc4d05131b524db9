"""The Models window: what is installed and whether it fits, importing, deleting, downloading.

Every slow step runs on a thread of its own: reading the headers of a folder of models (quick,
unless the folder is on a network drive), copying gigabytes in an import, and a download. Their
results come back as signals of ``ModelJobs``, a QObject that lives in the GUI thread, so Qt
queues them to the window's slots; no code on those threads touches a widget.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import unquote, urlsplit

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QUrl,
    Signal,
    SignalInstance,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QKeySequence,
    QPainter,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.models.catalog import CatalogEntry, CatalogError, load_catalog
from desktop.core.models.download import (
    DownloadError,
    DownloadPaused,
    DownloadProgress,
    download,
)
from desktop.core.models.registry import (
    Fit,
    ModelDeleteError,
    ModelEntry,
    ModelImportError,
    UnusableFile,
    delete_model,
    import_model,
    scan,
)
from desktop.core.models.starter import is_starter_model
from desktop.ui.appearance import colors
from desktop.ui.errors import show_error

log = logging.getLogger(__name__)

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
# (text, tone) of the small rounded label drawn at the end of a name cell, or None.
BADGE_ROLE = Qt.ItemDataRole.UserRole + 3

GGUF_FILTER = "GGUF models (*.gguf);;All files (*)"
_PROGRESS_STEPS = 1000
_SHA256 = re.compile(r"[0-9a-f]{64}")

FIT_TEXT = {Fit.FITS: "Fits", Fit.TIGHT: "Tight", Fit.WONT_FIT: "Won't fit"}
# Theme colour names (desktop.ui.appearance) of each verdict: calm green, amber, red.
FIT_COLOURS = {Fit.FITS: "success", Fit.TIGHT: "warning_text", Fit.WONT_FIT: "danger"}
_FIT_ADVICE = {
    Fit.FITS: "",
    Fit.TIGHT: "It loads, but leaves little memory for the rest of the computer.",
    Fit.WONT_FIT: (
        "Close other programs, choose a smaller quantization, or lower the context length in "
        "the settings."
    ),
}
_BADGE_TONES = {"accent": "accent", "good": "success", "warn": "warning_text"}
_BADGE_PADDING = 7

ModelIndex = QModelIndex | QPersistentModelIndex

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


def _colour(name: str) -> QColor:
    return QColor(colors()[name])


# -- words ------------------------------------------------------------------------------------
# Sizes are decimal (1 GB = 10⁹ bytes) throughout the window, as file managers show them, so the
# weights in the memory line and the Size column agree.


def describe_bytes(size: int) -> str:
    if size < 1000:
        return f"{size:,} bytes"
    if size < 1_000_000:
        return f"{size / 1e3:,.0f} KB"
    if size < 1_000_000_000:
        return f"{size / 1e6:,.0f} MB"
    return f"{size / 1e9:,.1f} GB"


def describe_parameters(count: int) -> str:
    if count >= 1_000_000_000:
        return f"{count / 1e9:,.1f} B"
    if count >= 1_000_000:
        return f"{count / 1e6:,.0f} M"
    return f"{count:,}"


def describe_memory(entry: ModelEntry) -> str:
    """The estimate spelled out, so that “Won't fit” can be checked rather than believed."""
    estimate = entry.estimate
    # One unit for the whole sum, so that its parts visibly add up.
    scale, unit, digits = (
        (1e9, "GB", 1) if estimate.required_bytes >= 1_000_000_000 else (1e6, "MB", 0)
    )

    def amount(size: int) -> str:
        return f"{size / scale:,.{digits}f} {unit}"

    return (
        f"Needs about {amount(estimate.required_bytes)} "
        f"(weights {amount(estimate.weights_bytes)} + KV cache {amount(estimate.kv_cache_bytes)} "
        f"at {entry.context_for_estimate:,} tokens + overhead {amount(estimate.overhead_bytes)}); "
        f"{describe_bytes(estimate.available_bytes)} free now → {FIT_TEXT[entry.fit]}"
    )


def describe_seconds_left(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left"
    if seconds < 1:
        return "almost done"
    if seconds < 60:
        return f"about {round(seconds)} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


def describe_speed(bytes_per_second: float) -> str:
    if bytes_per_second >= 1e6:
        return f"{bytes_per_second / 1e6:,.1f} MB/s"
    return f"{bytes_per_second / 1e3:,.0f} KB/s"


def describe_amount(received: int, total: int | None) -> str:
    """“312 of 480 MB”: both numbers in the unit of the whole."""
    if not total:
        return describe_bytes(received)
    if total >= 1_000_000_000:
        scale, unit, digits = 1e9, "GB", 1
    elif total >= 10_000_000:
        scale, unit, digits = 1e6, "MB", 0
    else:
        scale, unit, digits = 1e6, "MB", 1
    return f"{received / scale:,.{digits}f} of {total / scale:,.{digits}f} {unit}"


def describe_transfer(progress: DownloadProgress) -> str:
    parts = [describe_amount(progress.received_bytes, progress.total_bytes)]
    if progress.bytes_per_second > 0:
        parts.append(describe_speed(progress.bytes_per_second))
    if progress.total_bytes:
        parts.append(describe_seconds_left(progress.seconds_left))
    return " · ".join(parts)


def kind_text(entry: ModelEntry) -> str:
    return "Embedding" if entry.is_embedding_model else "Chat"


def partial_path(folder: Path, filename: str) -> Path:
    """Where the downloader keeps what has arrived of ``filename`` so far."""
    return folder / f".{filename}.part"


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.resolve() == second.resolve()
    except OSError:
        return first == second


def _in_folder(path: Path, folder: Path) -> bool:
    try:
        return (path.parent.resolve() / path.name).is_relative_to(folder.resolve())
    except OSError:
        return False


# -- table models -----------------------------------------------------------------------------


class InstalledModelTable(QAbstractTableModel):
    COLUMNS = ("Name", "Kind", "Parameters", "Quantization", "Size", "Context", "Fit")
    NAME, KIND, PARAMETERS, QUANTIZATION, SIZE, CONTEXT, FIT = range(7)
    _RIGHT_ALIGNED = (PARAMETERS, SIZE, CONTEXT)

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[ModelEntry] = []
        self._uses: list[str] = []

    def set_models(self, entries: Sequence[ModelEntry], uses: Sequence[str]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self._uses = list(uses)
        self.endResetModel()

    def set_uses(self, uses: Sequence[str]) -> None:
        self._uses = list(uses)
        if self._entries:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._entries) - 1, 0))

    def entries(self) -> list[ModelEntry]:
        return list(self._entries)

    def use_of(self, row: int) -> str:
        return self._uses[row] if row < len(self._uses) else ""

    def row_of(self, path: Path) -> int | None:
        for row, entry in enumerate(self._entries):
            if _same_file(entry.path, path):
                return row
        return None

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in self._RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and section == self.CONTEXT:
            return "The longest context the model was trained for, in tokens"
        if role == Qt.ItemDataRole.ToolTipRole and section == self.FIT:
            return "Whether the model fits in the memory free now, at the context length set"
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, column)
        if role == ENTRY_ROLE:
            return entry
        if role == SORT_ROLE:
            return self._sort_key(entry, column)
        if role == BADGE_ROLE and column == self.NAME:
            use = self.use_of(index.row())
            return (use, "accent") if use else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.FIT:
                return describe_memory(entry)
            lines = [entry.path.name, str(entry.path.parent)]
            if use := self.use_of(index.row()):
                lines.insert(1, use)
            return "\n".join(lines)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self._RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == self.FIT:
                return _colour(FIT_COLOURS[entry.fit])
            if column != self.NAME:
                return _colour("muted")
        if role == Qt.ItemDataRole.FontRole and column == self.FIT:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        return None

    def _display(self, entry: ModelEntry, column: int) -> str:
        if column == self.NAME:
            return entry.name
        if column == self.KIND:
            return kind_text(entry)
        if column == self.PARAMETERS:
            return describe_parameters(entry.parameters)
        if column == self.QUANTIZATION:
            return entry.quantization
        if column == self.SIZE:
            return describe_bytes(entry.size_bytes)
        if column == self.CONTEXT:
            return f"{entry.context_length:,}" if entry.context_length else "–"
        return FIT_TEXT[entry.fit]

    def _sort_key(self, entry: ModelEntry, column: int) -> Any:
        if column == self.NAME:
            return entry.name.casefold()
        if column == self.KIND:
            return kind_text(entry)
        if column == self.PARAMETERS:
            return entry.parameters
        if column == self.QUANTIZATION:
            return entry.quantization
        if column == self.SIZE:
            return entry.size_bytes
        if column == self.CONTEXT:
            return entry.context_length or 0
        return entry.estimate.required_bytes - entry.estimate.available_bytes


class CatalogTable(QAbstractTableModel):
    COLUMNS = ("Name", "Kind", "Size", "Licence", "Description")
    NAME, KIND, SIZE, LICENCE, DESCRIPTION = range(5)

    def __init__(self, entries: Sequence[CatalogEntry]) -> None:
        super().__init__()
        self._entries = list(entries)
        self._states: dict[str, tuple[str, str]] = {}

    def set_states(self, states: dict[str, tuple[str, str]]) -> None:
        """Per file name, the badge to show: installed, or partly downloaded."""
        self._states = dict(states)
        if self._entries:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._entries) - 1, 0))

    def entry(self, row: int) -> CatalogEntry:
        return self._entries[row]

    def row_of(self, filename: str) -> int | None:
        for row, entry in enumerate(self._entries):
            if entry.filename == filename:
                return row
        return None

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section == self.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                entry.name,
                entry.kind.capitalize(),
                describe_bytes(entry.size_bytes),
                entry.licence,
                entry.description,
            )[column]
        if role == ENTRY_ROLE:
            return entry
        if role == SORT_ROLE:
            return (
                entry.name.casefold(),
                entry.kind,
                entry.size_bytes,
                entry.licence.casefold(),
                entry.description.casefold(),
            )[column]
        if role == BADGE_ROLE and column == self.NAME:
            return self._states.get(entry.filename)
        if role == Qt.ItemDataRole.ToolTipRole:
            return entry.description if column == self.DESCRIPTION else entry.filename
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column != self.NAME:
            return _colour("muted")
        return None


class BadgeDelegate(QStyledItemDelegate):
    """A name with a small rounded label at the end of its cell (“In use for chat”)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        badge = index.data(BADGE_ROLE)
        if not badge:
            super().paint(painter, option, index)
            return
        text, tone = badge
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        font = self._badge_font(item.font)
        metrics = QFontMetrics(font)
        width = metrics.horizontalAdvance(text) + 2 * _BADGE_PADDING
        height = metrics.height() + 4
        rect = item.rect
        room = max(rect.width() - width - 3 * _BADGE_PADDING, 0)
        item.text = item.fontMetrics.elidedText(item.text, Qt.TextElideMode.ElideMiddle, room)
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        foreground = _colour(_BADGE_TONES.get(tone, "accent"))
        # The tone's own colour, faintly, behind it: legible in light and dark themes alike.
        background = QColor(foreground)
        background.setAlpha(38)
        shape = QRectF(
            rect.right() - _BADGE_PADDING - width,
            rect.top() + (rect.height() - height) / 2,
            width,
            height,
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(shape, height / 2, height / 2)
        painter.setPen(foreground)
        painter.setFont(font)
        painter.drawText(shape, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        badge = index.data(BADGE_ROLE)
        if badge:
            metrics = QFontMetrics(self._badge_font(option.font))
            size.setWidth(size.width() + metrics.horizontalAdvance(badge[0]) + 4 * _BADGE_PADDING)
        return size

    @staticmethod
    def _badge_font(base: QFont) -> QFont:
        font = QFont(base)
        if font.pointSizeF() > 0:
            font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
        font.setWeight(QFont.Weight.DemiBold)
        return font


# -- work off the GUI thread ------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadJob:
    name: str
    url: str
    filename: str
    sha256: str | None
    # A catalog entry promises one; taken from the server otherwise.
    size_bytes: int | None = None


class ModelJobs(QObject):
    """Scans, imports and the one download, each on a thread of its own, reported by signals.

    Lives in the GUI thread; the threads only emit. A scan result carries the number of the
    request it answers, so that an older, slower scan never replaces a newer list.
    """

    scanned = Signal(int, object, object)  # request, list[ModelEntry], list[UnusableFile]
    scan_failed = Signal(int, str)
    imported = Signal(object)  # Path
    import_failed = Signal(str)
    download_progressed = Signal(object)  # DownloadProgress
    downloaded = Signal(object)  # Path
    download_paused = Signal()
    download_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[threading.Thread] = []
        self._download: threading.Thread | None = None
        self._import_stop = threading.Event()
        self._stop = threading.Event()

    @property
    def downloading(self) -> bool:
        return self._download is not None and self._download.is_alive()

    def scan(self, request: int, folder: Path, extra: list[Path], context: int) -> None:
        self._start("folio-model-scan", self._scan, request, folder, extra, context)

    def import_file(self, source: Path, folder: Path, link: bool) -> None:
        self._start("folio-model-import", self._import, source, folder, link)

    def stop_imports(self) -> None:
        """A copy in progress ends at its next block and leaves nothing behind."""
        self._import_stop.set()

    def start_download(self, job: DownloadJob, folder: Path) -> None:
        previous = self._download
        if previous is not None:
            # A paused download has already reported; its thread is at most returning.
            previous.join()
        self._stop = threading.Event()
        self._download = self._start("folio-download", self._fetch, job, folder, self._stop)

    def pause_download(self) -> None:
        """The downloader notices between two chunks, keeps the part and reports a pause."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    # -- on the worker threads -----------------------------------------------------------------

    def _start(self, name: str, target: Callable[..., None], *args: object) -> threading.Thread:
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        thread = threading.Thread(target=target, args=args, name=name)
        self._threads.append(thread)
        thread.start()
        return thread

    def _emit(self, signal: SignalInstance, *args: object) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            # The window was destroyed while the job ran; nobody is waiting for the answer.
            log.debug("a model job finished after its window was closed")

    def _scan(self, request: int, folder: Path, extra: list[Path], context: int) -> None:
        try:
            models, unusable = scan(folder, extra, context)
        except OSError as error:
            log.warning("the models folder could not be read", exc_info=error)
            self._emit(
                self.scan_failed,
                request,
                f"The models folder {folder} could not be read: {error.strerror or error}.",
            )
            return
        self._emit(self.scanned, request, models, unusable)

    def _import(self, source: Path, folder: Path, link: bool) -> None:
        try:
            target = import_model(source, folder, link=link, stop=self._import_stop)
        except ModelImportError as error:
            self._emit(self.import_failed, str(error))
        except OSError as error:
            log.warning("import of %s failed", source, exc_info=error)
            self._emit(
                self.import_failed,
                f"“{source.name}” could not be imported: {error.strerror or error}.",
            )
        else:
            self._emit(self.imported, target)

    def _fetch(self, job: DownloadJob, folder: Path, stop: threading.Event) -> None:
        def progressed(progress: DownloadProgress) -> None:
            self._emit(self.download_progressed, progress)

        try:
            path = download(
                job.url,
                folder,
                sha256=job.sha256,
                filename=job.filename,
                progress=progressed,
                stop=stop,
            )
        except DownloadPaused:
            self._emit(self.download_paused)
        except DownloadError as error:
            self._emit(self.download_failed, str(error))
        except Exception as error:
            log.exception("download of %s failed", job.url)
            self._emit(self.download_failed, f"The download stopped unexpectedly: {error}")
        else:
            self._emit(self.downloaded, path)


# -- the window -------------------------------------------------------------------------------


def _fact_label(text: str = "", name: str = "factValue") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    if name == "factValue":
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _button(text: str, tip: str = "", name: str = "") -> QPushButton:
    button = QPushButton(text)
    # In a dialog every push button is a default button unless told otherwise, and Enter in
    # the address field would then start whichever came first.
    button.setAutoDefault(False)
    if tip:
        button.setToolTip(tip)
    if name:
        button.setObjectName(name)
    return button


def _set_tone(label: QLabel, tone: str) -> None:
    label.setProperty("tone", tone)
    label.style().unpolish(label)
    label.style().polish(label)


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
        self._apply_theme()
        self._folder = models_folder
        self._known_files = known_files
        self._context_length = context_length
        self._chat_model = chat_model
        self._embedding_model = embedding_model
        self._catalog_problem = ""
        if catalog is None:
            try:
                catalog = load_catalog()
            except CatalogError as error:
                log.warning("model catalog unusable: %s", error)
                catalog, self._catalog_problem = [], str(error)
        self._jobs = ModelJobs(self)
        self._scan_request = 0
        self._select_after_scan: Path | None = None
        # The download shown in the progress box: running, paused, or failed.
        self._download: DownloadJob | None = None
        self._download_state = ""
        self._cancelling = False
        self._received = 0
        # What the server said the whole file is (a catalog entry says so before it starts).
        self._total: int | None = None
        self._build(list(catalog))
        self._connect()
        self._show_details()
        self._show_catalog_details()

    # -- construction ---------------------------------------------------------------------------

    def _build(self, catalog: list[CatalogEntry]) -> None:
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.installed_tab = self._build_installed()
        self.download_tab = self._build_download(catalog)
        self.tabs.addTab(self.installed_tab, "Installed")
        self.tabs.addTab(self.download_tab, "Download")
        self._build_download_box()
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
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.download_box)
        layout.addLayout(bottom)

    def _build_installed(self) -> QWidget:
        self.summary_label = QLabel("Reading the models folder…")
        self.summary_label.setObjectName("modelsSummary")
        self.refresh_button = _button("Refresh", "Read the models folder again (F5)")
        self.refresh_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.link_box = QCheckBox("Link instead of copying")
        self.link_box.setToolTip(
            "Leave the file where it is and list it through a link in the models folder. Saves "
            "disk space; moving or deleting the original breaks the link."
        )
        self.import_button = _button("Import…", "Copy a GGUF model file into the models folder")
        header = QHBoxLayout()
        header.addWidget(self.summary_label, 1)
        header.addWidget(self.refresh_button)
        header.addSpacing(8)
        header.addWidget(self.link_box)
        header.addWidget(self.import_button)

        self.model = InstalledModelTable()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setObjectName("modelTable")
        self.table.setModel(self.proxy)
        self._style_table(self.table)
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

        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.empty_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty_import_button = _button("Import…", name="primaryButton")
        self.empty_download_button = _button("Download a model…")
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
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_box)

        self.unusable_label = QLabel()
        self.unusable_label.setObjectName("unusableLabel")
        self.unusable_label.setWordWrap(True)
        self.unusable_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.unusable_label.hide()

        self.details = self._build_details()

        self.use_chat_action = QAction("Use for chat", self)
        self.use_documents_action = QAction("Use for documents", self)
        self.reveal_action = QAction("Show in folder", self)
        self.delete_action = QAction("Delete…", self)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.table.addAction(self.delete_action)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.unusable_label)
        layout.addWidget(self.details)
        return page

    def _build_details(self) -> QFrame:
        self.detail_title = QLabel()
        self.detail_title.setObjectName("detailTitle")
        self.detail_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_use = QLabel()
        self.detail_use.setObjectName("quietNote")
        title_row = QHBoxLayout()
        title_row.addWidget(self.detail_title)
        title_row.addSpacing(6)
        title_row.addWidget(self.detail_use)
        title_row.addStretch(1)
        self.memory_label = QLabel()
        self.memory_label.setObjectName("memoryLine")
        self.memory_label.setWordWrap(True)
        self.memory_label.setTextFormat(Qt.TextFormat.RichText)
        self.memory_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.architecture_value = _fact_label()
        self.parameters_value = _fact_label()
        self.quantization_value = _fact_label()
        self.context_value = _fact_label()
        self.template_value = _fact_label()
        self.licence_value = _fact_label()
        self.size_value = _fact_label()
        self.path_value = _fact_label()
        self.path_value.setWordWrap(True)
        facts = QGridLayout()
        facts.setHorizontalSpacing(12)
        facts.setVerticalSpacing(3)
        for row, ((left, left_value), (right, right_value)) in enumerate(
            (
                (("Architecture", self.architecture_value), ("Parameters", self.parameters_value)),
                (("Quantization", self.quantization_value), ("Context length", self.context_value)),
                (("Chat template", self.template_value), ("Licence", self.licence_value)),
                (("Size", self.size_value), ("File", self.path_value)),
            )
        ):
            facts.addWidget(_fact_label(left, "factName"), row, 0, Qt.AlignmentFlag.AlignTop)
            facts.addWidget(left_value, row, 1, Qt.AlignmentFlag.AlignTop)
            facts.addWidget(_fact_label(right, "factName"), row, 2, Qt.AlignmentFlag.AlignTop)
            facts.addWidget(right_value, row, 3, Qt.AlignmentFlag.AlignTop)
        facts.setColumnMinimumWidth(1, 150)
        facts.setColumnStretch(3, 1)
        self.template_note = QLabel()
        self.template_note.setObjectName("templateNote")
        self.template_note.setWordWrap(True)

        self.use_chat_button = _button("Use for chat", name="primaryButton")
        self.use_documents_button = _button("Use for documents")
        self.reveal_button = _button("Show in folder", "Open the folder that holds this file")
        self.delete_button = _button("Delete…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_chat_button)
        buttons.addWidget(self.use_documents_button)
        buttons.addStretch(1)
        buttons.addWidget(self.reveal_button)
        buttons.addWidget(self.delete_button)

        frame = QFrame()
        frame.setObjectName("modelDetails")
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addLayout(title_row)
        layout.addWidget(self.memory_label)
        layout.addLayout(facts)
        layout.addWidget(self.template_note)
        layout.addLayout(buttons)
        return frame

    def _build_download(self, catalog: list[CatalogEntry]) -> QWidget:
        intro = QLabel(
            "Models that work well in Folio. Each is one GGUF file, saved in the models folder."
        )
        intro.setObjectName("modelsSummary")
        intro.setWordWrap(True)
        self.catalog = CatalogTable(catalog)
        self.catalog_proxy = QSortFilterProxyModel(self)
        self.catalog_proxy.setSourceModel(self.catalog)
        self.catalog_proxy.setSortRole(SORT_ROLE)
        self.catalog_table = QTableView()
        self.catalog_table.setObjectName("catalogTable")
        self.catalog_table.setModel(self.catalog_proxy)
        self._style_table(self.catalog_table)
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
            (CatalogTable.LICENCE, 110),
        ):
            header_view.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            self.catalog_table.setColumnWidth(column, width)
        header_view.setSectionResizeMode(CatalogTable.DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.catalog_table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.catalog_empty = QLabel(
            html.escape(self._catalog_problem)
            if self._catalog_problem
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
        self.catalog_download_button = _button("Download", name="primaryButton")
        detail_frame = QFrame()
        detail_frame.setObjectName("catalogDetails")
        detail_layout = QHBoxLayout(detail_frame)
        detail_layout.setContentsMargins(12, 8, 12, 8)
        detail_layout.addWidget(self.catalog_detail, 1)
        detail_layout.addWidget(self.catalog_download_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.catalog_details = detail_frame
        detail_frame.setVisible(bool(catalog))

        web_title = QLabel("From a web address")
        web_title.setObjectName("sectionTitle")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://…/model.Q4_K_M.gguf")
        self.url_edit.setClearButtonEnabled(True)
        self.sha_edit = QLineEdit()
        self.sha_edit.setPlaceholderText("SHA-256 checksum (optional)")
        self.sha_edit.setClearButtonEnabled(True)
        self.sha_edit.setMaximumWidth(280)
        self.url_download_button = _button("Download")
        url_row = QHBoxLayout()
        url_row.addWidget(self.url_edit, 3)
        url_row.addWidget(self.sha_edit, 2)
        url_row.addWidget(self.url_download_button)
        self.url_message = QLabel()
        self.url_message.setWordWrap(True)
        _set_tone(self.url_message, "error")
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

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(intro)
        layout.addWidget(self.catalog_stack, 1)
        layout.addWidget(detail_frame)
        layout.addWidget(web_box)
        return page

    def _build_download_box(self) -> None:
        self.download_title = QLabel()
        self.download_title.setObjectName("sectionTitle")
        self.download_bar = QProgressBar()
        self.download_bar.setTextVisible(False)
        self.download_bar.setFixedHeight(8)
        self.download_bar.setRange(0, _PROGRESS_STEPS)
        self.download_label = QLabel()
        self.download_label.setObjectName("progressLabel")
        self.download_label.setWordWrap(True)
        self.download_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pause_button = _button("Pause")
        self.cancel_button = _button(
            "Cancel", "Stop the download and delete what has arrived so far"
        )
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("✕")
        self.dismiss_button.setToolTip("Hide this message")
        self.dismiss_button.setAutoRaise(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.download_label, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.dismiss_button)
        self.download_box = QFrame()
        self.download_box.setObjectName("downloadBox")
        layout = QVBoxLayout(self.download_box)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)
        layout.addWidget(self.download_title)
        layout.addWidget(self.download_bar)
        layout.addLayout(row)
        self.download_box.hide()

    @staticmethod
    def _style_table(table: QTableView) -> None:
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

    def _connect(self) -> None:
        jobs = self._jobs
        jobs.scanned.connect(self._on_scanned)
        jobs.scan_failed.connect(self._on_scan_failed)
        jobs.imported.connect(self._on_imported)
        jobs.import_failed.connect(self._on_import_failed)
        jobs.download_progressed.connect(self._on_download_progressed)
        jobs.downloaded.connect(self._on_downloaded)
        jobs.download_paused.connect(self._on_download_paused)
        jobs.download_failed.connect(self._on_download_failed)
        self.refresh_button.clicked.connect(self._on_refresh_clicked)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.empty_import_button.clicked.connect(self._on_import_clicked)
        self.empty_download_button.clicked.connect(self._on_show_download_tab)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.use_chat_button.clicked.connect(self._on_use_for_chat)
        self.use_documents_button.clicked.connect(self._on_use_for_documents)
        self.reveal_button.clicked.connect(self._on_reveal)
        self.delete_button.clicked.connect(self._on_delete)
        self.use_chat_action.triggered.connect(self._on_use_for_chat)
        self.use_documents_action.triggered.connect(self._on_use_for_documents)
        self.reveal_action.triggered.connect(self._on_reveal)
        self.delete_action.triggered.connect(self._on_delete)
        self.catalog_table.selectionModel().selectionChanged.connect(
            self._on_catalog_selection_changed
        )
        self.catalog_table.doubleClicked.connect(self._on_catalog_download)
        self.catalog_download_button.clicked.connect(self._on_catalog_download)
        self.url_download_button.clicked.connect(self._on_url_download)
        self.url_edit.returnPressed.connect(self._on_url_download)
        self.sha_edit.returnPressed.connect(self._on_url_download)
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.dismiss_button.clicked.connect(self._on_dismiss_clicked)
        self.tabs.currentChanged.connect(self._on_tab_changed)

    # -- public ---------------------------------------------------------------------------------

    def refresh(self, select: Path | None = None) -> None:
        """Read the models folder again (off the GUI thread); ``select`` that file afterwards."""
        self._scan_request += 1
        if select is not None:
            self._select_after_scan = select
        self.refresh_button.setEnabled(False)
        self._jobs.scan(
            self._scan_request, self._folder, list(self._known_files()), self._context_length()
        )

    def update_in_use(self) -> None:
        """The chat or documents model changed: move the “In use” marks."""
        self.model.set_uses([self._use_of(entry.path) for entry in self.model.entries()])
        self._show_details()

    def selected_entry(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        entry = self.proxy.data(rows[0], ENTRY_ROLE)
        return entry if isinstance(entry, ModelEntry) else None

    def select_model(self, path: Path) -> bool:
        row = self.model.row_of(path)
        if row is None:
            return False
        self._select_row(self.table, self.proxy.mapFromSource(self.model.index(row, 0)))
        return True

    def selected_catalog_entry(self) -> CatalogEntry | None:
        rows = self.catalog_table.selectionModel().selectedRows()
        if not rows:
            return None
        entry = self.catalog_proxy.data(rows[0], ENTRY_ROLE)
        return entry if isinstance(entry, CatalogEntry) else None

    def select_catalog_entry(self, filename: str) -> bool:
        row = self.catalog.row_of(filename)
        if row is None:
            return False
        index = self.catalog_proxy.mapFromSource(self.catalog.index(row, 0))
        self._select_row(self.catalog_table, index)
        return True

    @property
    def downloading(self) -> bool:
        return self._jobs.downloading

    def shutdown(self) -> None:
        """When Folio quits: a running download is paused (what arrived is kept for the next
        time) and every job is waited for."""
        self._jobs.pause_download()
        self._jobs.stop_imports()
        self._jobs.wait()

    # -- window ---------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not event.spontaneous():
            # Files may have come and gone while the window was closed.
            self.refresh()

    def reject(self) -> None:
        """Esc, Close and the title bar's close button all come here."""
        if self._download_state == "running" and self._download is not None:
            answer = QMessageBox.question(
                self,
                "Download in progress",
                f"“{self._download.name}” is still downloading "
                f"({describe_amount(self._received, self._download_total())}). Pause the "
                "download and close the window? What has arrived is kept; downloading the "
                "model again goes on from there.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            self._ask_to_stop()
            self.download_label.setText("Pausing…")
        super().reject()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        # A theme chosen in the settings reaches open windows as a new application palette.
        if event.type() == QEvent.Type.PaletteChange and colors() is not self._colours:
            self._apply_theme()

    def _apply_theme(self) -> None:
        self._colours = colors()
        self.setStyleSheet(_STYLE.substitute(self._colours))
        if hasattr(self, "model"):
            self._show_details()
            self._show_catalog_details()
            self.table.viewport().update()
            self.catalog_table.viewport().update()

    # -- the models folder ----------------------------------------------------------------------

    @Slot()
    def _on_refresh_clicked(self) -> None:
        self.refresh()

    @Slot(int, object, object)
    def _on_scanned(
        self, request: int, models: list[ModelEntry], unusable: list[UnusableFile]
    ) -> None:
        if request != self._scan_request:
            return
        self.refresh_button.setEnabled(True)
        previous = self.selected_entry()
        wanted = self._select_after_scan or (previous.path if previous else None)
        self._select_after_scan = None
        self.model.set_models(models, [self._use_of(entry.path) for entry in models])
        self._show_summary(models)
        self._show_unusable(unusable)
        if models:
            self.stack.setCurrentWidget(self.table)
            chosen = [wanted, self._chat_model(), self._embedding_model()]
            if not any(path is not None and self.select_model(path) for path in chosen):
                self._select_row(self.table, self.proxy.index(0, 0))
        else:
            self.stack.setCurrentWidget(self.empty_box)
        self._show_details()
        self._update_catalog_states()
        self.models_listed.emit()

    @Slot(int, str)
    def _on_scan_failed(self, request: int, message: str) -> None:
        if request != self._scan_request:
            return
        self.refresh_button.setEnabled(True)
        self.summary_label.setText(message)

    def _show_summary(self, models: list[ModelEntry]) -> None:
        count = len(models)
        self.tabs.setTabText(0, f"Installed ({count})" if count else "Installed")
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

    def _use_of(self, path: Path) -> str:
        uses = [
            purpose
            for purpose, current in (
                ("chat", self._chat_model()),
                ("documents", self._embedding_model()),
            )
            if current is not None and _same_file(current, path)
        ]
        return f"In use for {' and '.join(uses)}" if uses else ""

    # -- the selected model ---------------------------------------------------------------------

    @Slot()
    def _on_selection_changed(self) -> None:
        self._show_details()

    def _show_details(self) -> None:
        entry = self.selected_entry()
        self.details.setVisible(entry is not None)
        for action in (self.use_chat_action, self.use_documents_action, self.reveal_action):
            action.setEnabled(entry is not None)
        if entry is None:
            self.delete_action.setEnabled(False)
            return
        use = self._use_of(entry.path)
        self.detail_title.setText(entry.name)
        self.detail_use.setText(use)
        fit = entry.fit
        advice = _FIT_ADVICE[fit]
        line, _, verdict = describe_memory(entry).rpartition("→ ")
        verdict_colour, muted = colors()[FIT_COLOURS[fit]], colors()["muted"]
        self.memory_label.setText(
            f"{html.escape(line)}→ <span style='color: {verdict_colour}; font-weight: 600;'>"
            f"{html.escape(verdict)}</span>"
            + (f"<br><span style='color: {muted};'>{html.escape(advice)}</span>" if advice else "")
        )
        self.architecture_value.setText(entry.architecture)
        self.parameters_value.setText(
            f"{describe_parameters(entry.parameters)} ({entry.parameters:,})"
        )
        self.quantization_value.setText(entry.quantization)
        self.context_value.setText(
            f"{entry.context_length:,} tokens" if entry.context_length else "Not stated in the file"
        )
        if entry.is_embedding_model:
            self.template_value.setText("Not needed (embedding model)")
            note = (
                "An embedding model turns passages of your documents into vectors for searching "
                "them; it cannot chat. Use it for documents."
            )
        elif entry.has_chat_template:
            self.template_value.setText("Yes")
            note = ""
        else:
            self.template_value.setText("No (a base model)")
            note = (
                "No chat template: this model was not tuned for conversation. Folio prompts it "
                "with a plain “User: / Assistant:” transcript and ends each answer at its first "
                "line; expect it to continue text rather than follow instructions."
            )
        self.template_note.setText(note)
        self.template_note.setVisible(bool(note))
        self.licence_value.setText(entry.licence or "Not stated in the file")
        self.size_value.setText(describe_bytes(entry.size_bytes))
        location = str(entry.path)
        if entry.path.is_symlink():
            location += f"  (a link to {entry.path.resolve()})"
        self.path_value.setText(location)

        in_chat = self._chat_model()
        chat_in_use = in_chat is not None and _same_file(in_chat, entry.path)
        self.use_chat_button.setEnabled(not entry.is_embedding_model and not chat_in_use)
        self.use_chat_button.setToolTip(
            "An embedding model cannot chat"
            if entry.is_embedding_model
            else ("Already in use for chat" if chat_in_use else "Chat with this model from now on")
        )
        in_documents = self._embedding_model()
        documents_in_use = in_documents is not None and _same_file(in_documents, entry.path)
        self.use_documents_button.setEnabled(entry.is_embedding_model and not documents_in_use)
        self.use_documents_button.setToolTip(
            "Only an embedding model can index documents"
            if not entry.is_embedding_model
            else (
                "Already in use for documents"
                if documents_in_use
                else "Index and search documents with this model (documents are indexed again)"
            )
        )
        self.use_chat_action.setEnabled(self.use_chat_button.isEnabled())
        self.use_documents_action.setEnabled(self.use_documents_button.isEnabled())
        refusal = self._delete_refusal(entry)
        self.delete_button.setEnabled(not refusal)
        self.delete_action.setEnabled(not refusal)
        self.delete_button.setToolTip(refusal or "Delete this file from the models folder (Delete)")
        self.delete_action.setToolTip(self.delete_button.toolTip())

    def _delete_refusal(self, entry: ModelEntry) -> str:
        """Why the model may not be deleted, or "" when it may."""
        for purpose, current in (
            ("chat", self._chat_model()),
            ("documents", self._embedding_model()),
        ):
            if current is not None and _same_file(current, entry.path):
                return (
                    f"“{entry.name}” is in use for {purpose}. Choose another model for {purpose} "
                    "first, then delete this one."
                )
        if is_starter_model(entry.path):
            return (
                "This is the starter model that comes with Folio; it stays, so that Folio always "
                "has a model to run."
            )
        if not _in_folder(entry.path, self._folder):
            return (
                f"“{entry.path.name}” is not in the models folder, so Folio leaves it alone. It "
                f"is in {entry.path.parent}."
            )
        return ""

    @Slot(QPoint)
    def _on_context_menu(self, position: QPoint) -> None:
        if self.selected_entry() is None:
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
                f"“{entry.name}” needs about {describe_bytes(entry.estimate.required_bytes)} at "
                f"{entry.context_for_estimate:,} tokens of context, but only "
                f"{describe_bytes(entry.estimate.available_bytes)} is free now. Loading it may "
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
        entry = self.selected_entry()
        if entry is None or self._delete_refusal(entry):
            return
        if entry.path.is_symlink():
            question = (
                f"Remove the link “{entry.path.name}” from the models folder? The file it points "
                f"to stays where it is:\n{entry.path.resolve()}"
            )
        else:
            question = (
                f"Delete “{entry.path.name}” ({describe_bytes(entry.size_bytes)}) from the models "
                "folder? The file is deleted from the disk, not moved to the trash."
            )
        answer = QMessageBox.question(self, "Delete model", question)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            delete_model(entry.path, self._folder)
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
        link = self.link_box.isChecked()
        self.import_button.setEnabled(False)
        self.empty_import_button.setEnabled(False)
        self.summary_label.setText(
            f"Linking “{source.name}”…"
            if link
            else f"Copying “{source.name}” into the models folder…"
        )
        self._jobs.import_file(source, self._folder, link)

    @Slot(object)
    def _on_imported(self, path: Path) -> None:
        self.import_button.setEnabled(True)
        self.empty_import_button.setEnabled(True)
        self.tabs.setCurrentWidget(self.installed_tab)
        self.refresh(select=path)

    @Slot(str)
    def _on_import_failed(self, message: str) -> None:
        self.import_button.setEnabled(True)
        self.empty_import_button.setEnabled(True)
        self._show_summary(self.model.entries())
        show_error(self, message, "Import a model")

    # -- the catalog ----------------------------------------------------------------------------

    @Slot()
    def _on_show_download_tab(self) -> None:
        self.tabs.setCurrentWidget(self.download_tab)

    @Slot(int)
    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.download_tab:
            self._update_catalog_states()
            if self.selected_catalog_entry() is None and self.catalog.rowCount():
                self._select_row(self.catalog_table, self.catalog_proxy.index(0, 0))

    @Slot()
    def _on_catalog_selection_changed(self) -> None:
        self._show_catalog_details()

    def _installed_names(self) -> set[str]:
        names = {entry.path.name for entry in self.model.entries()}
        names.update(
            entry.filename
            for entry in self.catalog_entries()
            if (self._folder / entry.filename).exists()
        )
        return names

    def catalog_entries(self) -> list[CatalogEntry]:
        return [self.catalog.entry(row) for row in range(self.catalog.rowCount())]

    def _update_catalog_states(self) -> None:
        installed = self._installed_names()
        states: dict[str, tuple[str, str]] = {}
        for entry in self.catalog_entries():
            if entry.filename in installed:
                states[entry.filename] = ("Installed", "good")
            elif (
                self._download_state in ("running", "stopping")
                and self._download_filename() == entry.filename
            ):
                states[entry.filename] = ("Downloading", "accent")
            elif partial_path(self._folder, entry.filename).exists():
                states[entry.filename] = ("Partly downloaded", "warn")
        self.catalog.set_states(states)
        self._show_catalog_details()

    def _show_catalog_details(self) -> None:
        entry = self.selected_catalog_entry()
        button = self.catalog_download_button
        if entry is None:
            self.catalog_detail.setText(
                f"<span style='color: {colors()['muted']};'>Select a model to see what it "
                "is.</span>"
            )
            button.setEnabled(False)
            button.setText("Download")
            return
        host = urlsplit(entry.url).hostname or entry.url
        self.catalog_detail.setText(
            f"<b>{html.escape(entry.name)}</b> — {html.escape(entry.description)}<br>"
            f"<span style='color: {colors()['muted']};'>{describe_bytes(entry.size_bytes)} · "
            f"{html.escape(entry.kind.capitalize())} · licence {html.escape(entry.licence)} · "
            f"from {html.escape(host)} · checked against its SHA-256</span>"
        )
        installed = entry.filename in self._installed_names()
        running = self._download_running()
        paused_here = partial_path(self._folder, entry.filename).exists()
        button.setText(
            "Installed" if installed else ("Resume download" if paused_here else "Download")
        )
        button.setEnabled(not installed and not running)
        if installed:
            button.setToolTip("This model is already in the models folder")
        elif running and self._download is not None:
            button.setToolTip(
                f"One download at a time: wait for “{self._download.name}” or pause it"
            )
        else:
            button.setToolTip(
                f"Download {describe_bytes(entry.size_bytes)} from {host} into the models folder"
            )

    @Slot()
    def _on_catalog_download(self) -> None:
        entry = self.selected_catalog_entry()
        if entry is None or not self.catalog_download_button.isEnabled():
            return
        self._start_download(
            DownloadJob(entry.name, entry.url, entry.filename, entry.sha256, entry.size_bytes)
        )

    @Slot()
    def _on_url_download(self) -> None:
        url = self.url_edit.text().strip()
        checksum = self.sha_edit.text().strip().lower()
        problem = ""
        parts = urlsplit(url)
        filename = unquote(Path(parts.path).name)
        if not url:
            problem = "Paste the web address of a .gguf file first."
        elif parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            problem = (
                "That is not a web address Folio can download from: it should start with https://."
            )
        elif not filename.lower().endswith(".gguf"):
            problem = (
                "That address does not end in a .gguf file name. Use the link of the model file "
                "itself (on Hugging Face: the file's “download” link)."
            )
        elif checksum and not _SHA256.fullmatch(checksum):
            problem = (
                "A SHA-256 checksum is 64 characters, 0-9 and a-f. Leave the field empty to "
                "download without checking."
            )
        elif (self._folder / filename).exists():
            problem = f"The models folder already has a file named “{filename}”."
        elif self._download_running():
            problem = "One download at a time: wait for the current one, or pause it."
        self.url_message.setText(problem)
        self.url_message.setVisible(bool(problem))
        if problem:
            return
        self._start_download(DownloadJob(filename, url, filename, checksum or None))

    # -- downloading ----------------------------------------------------------------------------

    def _download_running(self) -> bool:
        """Running until the downloader reports back (its thread may still be returning)."""
        return self._download_state in ("running", "stopping")

    def _download_total(self) -> int | None:
        if self._total:
            return self._total
        return self._download.size_bytes if self._download is not None else None

    def _download_filename(self) -> str:
        return self._download.filename if self._download is not None else ""

    def _start_download(self, job: DownloadJob) -> None:
        if self._download_running():
            return
        self._download = job
        self._download_state = "running"
        self._cancelling = False
        partial = partial_path(self._folder, job.filename)
        self._received = partial.stat().st_size if partial.exists() else 0
        self._total = None
        self.download_title.setText(f"Downloading “{job.name}”")
        self.download_bar.show()
        self._show_progress_value(self._received, job.size_bytes)
        self.download_label.setText(
            "Resuming…" if self._received else f"Connecting to {urlsplit(job.url).hostname}…"
        )
        _set_tone(self.download_label, "")
        self._show_download_buttons(pause="Pause", cancel=True, dismiss=False)
        self.download_box.show()
        self._jobs.start_download(job, self._folder)
        self._update_catalog_states()

    def _show_download_buttons(self, pause: str, cancel: bool, dismiss: bool) -> None:
        self.pause_button.setText(pause)
        self.pause_button.setVisible(bool(pause))
        self.pause_button.setEnabled(True)
        self.cancel_button.setVisible(cancel)
        self.cancel_button.setEnabled(True)
        self.dismiss_button.setVisible(dismiss)

    def _show_progress_value(self, received: int, total: int | None) -> None:
        if total:
            self.download_bar.setRange(0, _PROGRESS_STEPS)
            self.download_bar.setValue(min(_PROGRESS_STEPS, received * _PROGRESS_STEPS // total))
        else:
            self.download_bar.setRange(0, 0)

    @Slot(object)
    def _on_download_progressed(self, progress: DownloadProgress) -> None:
        if self._download_state != "running":
            return
        self._received = progress.received_bytes
        if progress.total_bytes:
            self._total = progress.total_bytes
        total = self._download_total()
        self._show_progress_value(progress.received_bytes, total)
        self.download_label.setText(describe_transfer(progress))

    @Slot(object)
    def _on_downloaded(self, path: Path) -> None:
        job = self._download
        self._download = None
        self._download_state = ""
        self._cancelling = False
        self.download_box.hide()
        if job is not None and job.url == self.url_edit.text().strip():
            self.url_edit.clear()
            self.sha_edit.clear()
        self.tabs.setCurrentWidget(self.installed_tab)
        self.refresh(select=path)

    @Slot()
    def _on_download_paused(self) -> None:
        if self._cancelling:
            self._discard_partial()
            return
        self._download_state = "paused"
        job = self._download
        name = job.name if job is not None else "the model"
        self.download_title.setText(f"Paused: “{name}”")
        partial = partial_path(self._folder, self._download_filename())
        kept = partial.stat().st_size if partial.exists() else 0
        self._show_progress_value(kept, self._download_total())
        if not self._download_total():
            # A bar that keeps moving would say that something is still going on.
            self.download_bar.setRange(0, _PROGRESS_STEPS)
        self.download_label.setText(
            f"Paused with {describe_amount(kept, self._download_total())} downloaded. Resume goes "
            "on from there, now or the next time you download this model."
        )
        self._show_download_buttons(pause="Resume", cancel=True, dismiss=False)
        self._update_catalog_states()

    @Slot(str)
    def _on_download_failed(self, message: str) -> None:
        if self._cancelling:
            self._discard_partial()
            return
        self._download_state = "failed"
        job = self._download
        self.download_title.setText(
            f"“{job.name}” was not downloaded" if job is not None else "The download failed"
        )
        self.download_bar.hide()
        self.download_label.setText(message)
        _set_tone(self.download_label, "error")
        self._show_download_buttons(pause="Try again", cancel=False, dismiss=True)
        self._update_catalog_states()

    def _ask_to_stop(self) -> None:
        """The downloader stops between two chunks and reports it; until then the part on disk
        is still being written, so it is left alone."""
        self._download_state = "stopping"
        self.pause_button.setEnabled(False)
        self._jobs.pause_download()

    @Slot()
    def _on_pause_clicked(self) -> None:
        if self._download_state == "running":
            self._ask_to_stop()
            self.download_label.setText("Pausing…")
        elif self._download_state in ("paused", "failed") and self._download is not None:
            self._start_download(self._download)

    @Slot()
    def _on_cancel_clicked(self) -> None:
        if self._download_state in ("running", "stopping"):
            self._cancelling = True
            self._ask_to_stop()
            self.cancel_button.setEnabled(False)
            self.download_label.setText("Cancelling…")
        else:
            self._discard_partial()

    @Slot()
    def _on_dismiss_clicked(self) -> None:
        self._download = None
        self._download_state = ""
        self.download_box.hide()

    def _discard_partial(self) -> None:
        job = self._download
        self._cancelling = False
        self._download_state = "cancelled"
        if job is not None:
            try:
                partial_path(self._folder, job.filename).unlink(missing_ok=True)
            except OSError as error:
                log.warning("the partial download could not be deleted", exc_info=error)
        self.download_title.setText(
            f"Download of “{job.name}” cancelled" if job is not None else "Download cancelled"
        )
        self.download_bar.hide()
        self.download_label.setText("What had arrived was deleted.")
        _set_tone(self.download_label, "")
        self._show_download_buttons(pause="", cancel=False, dismiss=True)
        self._download = None
        self._update_catalog_states()

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _select_row(table: QTableView, index: QModelIndex) -> None:
        if not index.isValid():
            return
        table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        table.scrollTo(index)
