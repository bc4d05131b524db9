"""Where the one download the Models window shows stands, and how it moves on (no Qt here).

The window starts a download, the user pauses or cancels it, and the downloader answers later
from its thread (progress, a pause, a failure, the file). The tracker is the one place that
knows which of those answers still matters: progress after a pause was asked for is stale, and
a pause that answers a cancel means the part must go.
"""

from __future__ import annotations

from enum import StrEnum

from desktop.core.models.download import DownloadProgress, DownloadRequest


class DownloadState(StrEnum):
    # Nothing to show: no download yet, or the last one finished or was dismissed.
    IDLE = ""
    RUNNING = "running"
    # Asked to stop; the downloader stops between two chunks and has not answered yet, so the
    # part on disk is still being written.
    STOPPING = "stopping"
    PAUSED = "paused"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DownloadTracker:
    """The download shown in the progress box: running, paused, failed or cancelled."""

    def __init__(self) -> None:
        self.request: DownloadRequest | None = None
        self.state = DownloadState.IDLE
        self.received = 0
        # Set when the stop asked for is a cancel: whatever answers it, the part is deleted.
        self.cancelling = False
        # What the server said the whole file is.
        self._reported_total: int | None = None

    @property
    def running(self) -> bool:
        """Running until the downloader reports back (it may still be writing)."""
        return self.state in (DownloadState.RUNNING, DownloadState.STOPPING)

    @property
    def can_resume(self) -> bool:
        return self.request is not None and self.state in (
            DownloadState.PAUSED,
            DownloadState.FAILED,
        )

    @property
    def total(self) -> int | None:
        """The size of the whole file: the server's word, else the catalog's."""
        if self._reported_total:
            return self._reported_total
        return self.request.size_bytes if self.request is not None else None

    @property
    def filename(self) -> str:
        return self.request.filename if self.request is not None else ""

    # -- transitions ----------------------------------------------------------------------------

    def start(self, request: DownloadRequest, kept_bytes: int = 0) -> None:
        """A new download, or ``request`` again after a pause (``kept_bytes`` already on disk)."""
        if self.running:
            raise RuntimeError("one download at a time: the current one has not stopped yet")
        self.request = request
        self.state = DownloadState.RUNNING
        self.cancelling = False
        self.received = kept_bytes
        self._reported_total = None

    def progressed(self, progress: DownloadProgress) -> bool:
        """Take in a progress report; False when it is stale (a stop was asked for)."""
        if self.state is not DownloadState.RUNNING:
            return False
        self.received = progress.received_bytes
        if progress.total_bytes:
            self._reported_total = progress.total_bytes
        return True

    def stop(self, *, cancel: bool = False) -> bool:
        """Ask the running download to stop (to pause it, or to cancel it); False when nothing
        runs."""
        if not self.running:
            return False
        self.state = DownloadState.STOPPING
        self.cancelling = self.cancelling or cancel
        return True

    def stopped(self, kept_bytes: int, total_bytes: int | None = None) -> DownloadState:
        """The downloader stopped as asked and kept ``kept_bytes``: paused, or cancelled when
        that is what the user asked for (the caller then deletes the part)."""
        if self.cancelling:
            self.cancelled()
        else:
            self.state = DownloadState.PAUSED
            self.received = kept_bytes
            if total_bytes:
                self._reported_total = total_bytes
        return self.state

    def failed(self, kept_bytes: int) -> DownloadState:
        """The download ended in an error, leaving ``kept_bytes`` to resume from; cancelled
        instead when a cancel was asked for meanwhile."""
        if self.cancelling:
            self.cancelled()
        else:
            self.state = DownloadState.FAILED
            self.received = kept_bytes
        return self.state

    def cancelled(self) -> None:
        """What had arrived is deleted: nothing is left to resume. The request stays, to say
        what was cancelled."""
        self.state = DownloadState.CANCELLED
        self.cancelling = False
        self.received = 0

    def finished(self) -> DownloadRequest | None:
        """The file is in place; the download that made it, if one was shown."""
        request = self.request
        self.dismissed()
        return request

    def dismissed(self) -> None:
        self.request = None
        self.state = DownloadState.IDLE
        self.cancelling = False
        self.received = 0
        self._reported_total = None
