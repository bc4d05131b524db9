"""The progress box under the tabs, and the one download it shows.

The download runs on the ``download`` lane of the window's ``Tasks``; the task's ``cancelled``
event is the downloader's stop, so pausing and cancelling both ask the task to stop, and the
downloader answers with ``DownloadPaused`` (the part kept). Whether that answer means paused or
cancelled is the tracker's to say (``desktop.ui.models.download_state``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.formatting import amount_text
from desktop.core.models.download import (
    DownloadError,
    DownloadPaused,
    DownloadProgress,
    DownloadRequest,
    download,
    partial_path,
)
from desktop.ui.models.controls import button, set_tone
from desktop.ui.models.download_state import DownloadState, DownloadTracker
from desktop.ui.models.folder_scan import partial_size
from desktop.ui.models.words import describe_transfer
from desktop.ui.tasks import Task, TaskContext, Tasks

log = logging.getLogger(__name__)

DOWNLOAD_LANE = "download"
_PROGRESS_STEPS = 1000


class DownloadFailedError(DownloadError):
    """A download ended in an error (the message is for the user), leaving ``kept_bytes`` of its
    part on disk to resume from."""

    def __init__(self, message: str, kept_bytes: int) -> None:
        super().__init__(message)
        self.kept_bytes = kept_bytes


def fetch(request: DownloadRequest, folder: Path, context: TaskContext) -> Path:
    """Download ``request`` into ``folder``, until done or ``context`` is cancelled (then
    ``DownloadPaused``); any other end is ``DownloadFailedError``."""
    try:
        return download(
            request.url,
            folder,
            sha256=request.sha256,
            filename=request.filename,
            progress=context.report,
            stop=context.cancelled,
        )
    except DownloadPaused:
        raise
    except DownloadError as error:
        message = str(error)
    except Exception as error:
        log.exception("download of %s failed", request.url)
        message = f"The download stopped unexpectedly: {error}"
    # Some failures delete the part (a wrong checksum), others keep it to resume from.
    raise DownloadFailedError(message, partial_size(folder, request.filename))


class DownloadBox(QFrame):
    """What the download is doing, with Pause/Resume, Cancel, and Dismiss once it is over."""

    # The download moved on: started, stopping, paused, failed, cancelled or dismissed.
    download_changed = Signal(object)  # DownloadTracker
    # The file is in the models folder: the request that fetched it, and its path.
    downloaded = Signal(object, object)  # DownloadRequest, Path

    def __init__(self, folder: Path, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("downloadBox")
        self._folder = folder
        self._tasks = tasks
        self.tracker = DownloadTracker()
        self._task: Task[Path] | None = None
        self._build()
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.dismiss_button.clicked.connect(self._on_dismiss_clicked)
        self.hide()

    def _build(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setRange(0, _PROGRESS_STEPS)
        self.label = QLabel()
        self.label.setObjectName("progressLabel")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pause_button = button("Pause")
        self.cancel_button = button(
            "Cancel", "Stop the download and delete what has arrived so far"
        )
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("✕")
        self.dismiss_button.setToolTip("Hide this message")
        self.dismiss_button.setAutoRaise(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.bar)
        layout.addLayout(row)

    # -- public ---------------------------------------------------------------------------------

    @property
    def downloading(self) -> bool:
        """The downloader is at work (it may still be returning after it reported back)."""
        return self._tasks.is_busy(DOWNLOAD_LANE)

    def start(self, request: DownloadRequest, kept_bytes: int = 0) -> None:
        """Download ``request``; ``kept_bytes`` of it are already on disk from an earlier try."""
        if self.tracker.running:
            return
        self.tracker.start(request, kept_bytes)
        self.title.setText(f"Downloading “{request.name}”")
        self.bar.show()
        self._show_progress_value(kept_bytes, request.size_bytes)
        self.label.setText("Resuming…" if kept_bytes else f"Connecting to {request.host}…")
        set_tone(self.label, "")
        self._show_buttons(pause="Pause", cancel=True, dismiss=False)
        self.show()
        folder = self._folder
        # Queued behind the previous download's task if that one is still returning.
        self._task = self._tasks.run(
            DOWNLOAD_LANE,
            lambda context: fetch(request, folder, context),
            done=self._on_downloaded,
            failed=self._on_stopped,
            progress=self._on_progressed,
        )
        self.download_changed.emit(self.tracker)

    def pause(self) -> None:
        """Pause a running download; what has arrived is kept to resume from."""
        if self.tracker.state is DownloadState.RUNNING:
            self.label.setText("Pausing…")
            self._ask_to_stop()

    # -- the downloader's answers ---------------------------------------------------------------

    @Slot(object)
    def _on_progressed(self, progress: DownloadProgress) -> None:
        if not self.tracker.progressed(progress):
            return
        self._show_progress_value(progress.received_bytes, self.tracker.total)
        self.label.setText(describe_transfer(progress))

    @Slot(object)
    def _on_downloaded(self, path: Path) -> None:
        self._task = None
        request = self.tracker.finished()
        self.hide()
        if request is not None:
            self.downloaded.emit(request, path)

    @Slot(object)
    def _on_stopped(self, error: BaseException) -> None:
        """The downloader stopped: as asked (a pause, or a cancel), or with an error."""
        self._task = None
        if isinstance(error, DownloadPaused):
            state = self.tracker.stopped(error.kept_bytes, error.total_bytes)
        else:
            kept = error.kept_bytes if isinstance(error, DownloadFailedError) else 0
            state = self.tracker.failed(kept)
        if state is DownloadState.CANCELLED:
            self._discard_partial()
        elif state is DownloadState.PAUSED:
            self._show_paused()
        else:
            self._show_failed(str(error))

    def _show_paused(self) -> None:
        tracker = self.tracker
        name = tracker.request.name if tracker.request is not None else "the model"
        self.title.setText(f"Paused: “{name}”")
        self._show_progress_value(tracker.received, tracker.total)
        if not tracker.total:
            # A bar that keeps moving would say that something is still going on.
            self.bar.setRange(0, _PROGRESS_STEPS)
        self.label.setText(
            f"Paused with {amount_text(tracker.received, tracker.total)} downloaded. Resume goes "
            "on from there, now or the next time you download this model."
        )
        self._show_buttons(pause="Resume", cancel=True, dismiss=False)
        self.download_changed.emit(tracker)

    def _show_failed(self, message: str) -> None:
        request = self.tracker.request
        self.title.setText(
            f"“{request.name}” was not downloaded" if request is not None else "The download failed"
        )
        self.bar.hide()
        self.label.setText(message)
        set_tone(self.label, "error")
        self._show_buttons(pause="Try again", cancel=False, dismiss=True)
        self.download_changed.emit(self.tracker)

    # -- the user's buttons ---------------------------------------------------------------------

    @Slot()
    def _on_pause_clicked(self) -> None:
        tracker = self.tracker
        if tracker.state is DownloadState.RUNNING:
            self.pause()
        elif tracker.can_resume and tracker.request is not None:
            self.start(tracker.request, tracker.received)

    @Slot()
    def _on_cancel_clicked(self) -> None:
        if self.tracker.running:
            self.cancel_button.setEnabled(False)
            self.label.setText("Cancelling…")
            self._ask_to_stop(cancel=True)
        else:
            self._discard_partial()

    @Slot()
    def _on_dismiss_clicked(self) -> None:
        self.tracker.dismissed()
        self.hide()
        self.download_changed.emit(self.tracker)

    def _ask_to_stop(self, *, cancel: bool = False) -> None:
        """The downloader stops between two chunks and reports it; until then the part on disk
        is still being written, so it is left alone."""
        self.tracker.stop(cancel=cancel)
        self.pause_button.setEnabled(False)
        task = self._task
        if task is None:
            return
        task.cancel()
        if task.future.cancelled():
            # It was still queued and never ran, so it will not answer: it stopped right here.
            self._on_stopped(DownloadPaused("", kept_bytes=self.tracker.received))

    def _discard_partial(self) -> None:
        self.tracker.cancelled()
        request = self.tracker.request
        if request is not None:
            try:
                partial_path(self._folder, request.filename).unlink(missing_ok=True)
            except OSError as error:
                log.warning("the partial download could not be deleted", exc_info=error)
        self.title.setText(
            f"Download of “{request.name}” cancelled"
            if request is not None
            else "Download cancelled"
        )
        self.bar.hide()
        self.label.setText("What had arrived was deleted.")
        set_tone(self.label, "")
        self._show_buttons(pause="", cancel=False, dismiss=True)
        self.download_changed.emit(self.tracker)

    # -- helpers --------------------------------------------------------------------------------

    def _show_buttons(self, pause: str, cancel: bool, dismiss: bool) -> None:
        self.pause_button.setText(pause)
        self.pause_button.setVisible(bool(pause))
        self.pause_button.setEnabled(True)
        self.cancel_button.setVisible(cancel)
        self.cancel_button.setEnabled(True)
        self.dismiss_button.setVisible(dismiss)

    def _show_progress_value(self, received: int, total: int | None) -> None:
        if total:
            self.bar.setRange(0, _PROGRESS_STEPS)
            self.bar.setValue(min(_PROGRESS_STEPS, received * _PROGRESS_STEPS // total))
        else:
            self.bar.setRange(0, 0)
