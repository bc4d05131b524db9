"""The bytes of a download: one HTTP(S) transfer into a hidden part file, resumed with Range
requests when the connection drops, paused between two chunks when asked, its free space and
its checksum watched as it goes. ``download`` (the public side) checks the request first and
the whole file last."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from desktop.core.formatting import exact_size_text

USER_AGENT = "Folio"
# Long enough for a slow mirror to start sending, short enough that a dead connection is
# noticed (and resumed) instead of hanging the download for minutes.
SOCKET_TIMEOUT_S = 30.0
CHUNK_BYTES = 256 * 1024
# Left free after the download: a disk filled to the last byte breaks the other programs on it.
FREE_SPACE_MARGIN = 50_000_000
# The window shows progress at this rate at most; faster only costs the GUI thread.
PROGRESS_INTERVAL_S = 0.1
RATE_WINDOW_S = 5.0
# A connection that dropped before it delivered anything is given a moment before the next try
# (a Wi-Fi reconnect, a restarting proxy); one that delivered bytes is resumed at once.
RETRY_DELAYS_S = (1.0, 2.0, 4.0)

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)


class DownloadError(Exception):
    """The download failed; the message is written for the user (what happened, what to do)."""


# Named for what happened: a pause is asked for, not a failure.
class DownloadPaused(DownloadError):  # noqa: N818
    """The download stopped because it was asked to; calling :func:`download` again resumes it."""

    def __init__(self, message: str, kept_bytes: int = 0, total_bytes: int | None = None) -> None:
        super().__init__(message)
        self.kept_bytes = kept_bytes
        self.total_bytes = total_bytes


@dataclass(frozen=True)
class DownloadProgress:
    received_bytes: int
    total_bytes: int | None
    bytes_per_second: float
    seconds_left: float | None


# ---------------------------------------------------------------------------------------------
# Downloading


class _ConnectionDroppedError(Exception):
    """The connection failed in a way that resuming may fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _PartMismatchError(Exception):
    """The server's answer does not fit the part on disk; the part is thrown away."""


class _WriteError(Exception):
    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _RateMeter:
    """Bytes per second over the last few seconds, so one stall does not swing the estimate."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()

    def rate(self, now: float, transferred: int) -> float:
        self._samples.append((now, transferred))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW_S:
            self._samples.popleft()
        first_time, first_bytes = self._samples[0]
        elapsed = now - first_time
        return (transferred - first_bytes) / elapsed if elapsed > 0 else 0.0


def _open_part(path: Path, append: bool) -> BinaryIO:
    return path.open("ab" if append else "wb")


class Transfer:
    def __init__(
        self,
        *,
        url: str,
        host: str,
        name: str,
        partial: Path,
        progress: Callable[[DownloadProgress], None] | None,
        stop: threading.Event | None,
        retries: int,
        free_space: Callable[[Path], int],
    ) -> None:
        self._url = url
        self._host = host
        self._name = name
        self._partial = partial
        self._progress = progress
        self._stop = stop
        self._retries = retries
        self._free_space = free_space
        self._opener = _opener()
        self._hasher = hashlib.sha256()
        self._hashed_bytes = 0
        self._received = 0
        self._total: int | None = None
        self._transferred = 0
        self._meter = _RateMeter()
        self._last_report = float("-inf")

    def run(self) -> str:
        """Transfer until the part holds the whole file; return its SHA-256."""
        drops = 0
        started_again = False
        while True:
            self._check_stop()
            before = self._transferred
            try:
                self._attempt()
            except _ConnectionDroppedError as dropped:
                drops += 1
                if drops > self._retries:
                    raise DownloadError(self._gave_up(dropped.reason, drops)) from None
                if self._transferred == before:
                    self._pause_before_retry(drops)
                continue
            except _PartMismatchError:
                self._partial.unlink(missing_ok=True)
                self._hashed_bytes = 0
                self._hasher = hashlib.sha256()
                if started_again:
                    raise DownloadError(
                        f"{self._host} answers requests to resume “{self._name}” with data that "
                        "does not fit; the download was deleted. Try again later."
                    ) from None
                started_again = True
                continue
            except _WriteError as failed:
                raise DownloadError(self._write_problem(failed.error)) from None
            self._report(force=True)
            return self._hasher.hexdigest()

    def _attempt(self) -> None:
        offset = self._partial.stat().st_size if self._partial.exists() else 0
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(self._url, headers=headers)
        try:
            response: http.client.HTTPResponse = self._opener.open(
                request, timeout=SOCKET_TIMEOUT_S
            )
        except urllib.error.HTTPError as error:
            try:
                if error.code == 416 and offset:
                    self._part_may_be_complete(offset, error.headers.get("Content-Range"))
                    return
                raise DownloadError(self._http_problem(error.code, error.reason)) from None
            finally:
                error.close()
        except urllib.error.URLError as error:
            raise self._connection_problem(error.reason) from None
        except (http.client.HTTPException, OSError) as error:
            raise _ConnectionDroppedError(_describe(error)) from None

        with response:
            if response.status == 206:
                start, total = _content_range(response.headers.get("Content-Range"))
                if start != offset:
                    raise _PartMismatchError()
                append = offset > 0
            elif response.status == 200:
                append, total = False, None
            else:
                raise DownloadError(
                    f"{self._host} answered “{response.status} {response.reason}” instead of "
                    f"sending “{self._name}”."
                )
            length = _content_length(response.headers.get("Content-Length"))
            start = offset if append else 0
            if total is None and length is not None:
                total = start + length
            self._check_space(total, start, offset)
            if append:
                self._hash_part(offset)
            else:
                self._hasher, self._hashed_bytes = hashlib.sha256(), 0
            self._received, self._total = start, total
            self._report(force=True)
            self._copy(response, append)

    def _copy(self, response: http.client.HTTPResponse, append: bool) -> None:
        try:
            file = _open_part(self._partial, append)
        except OSError as error:
            raise _WriteError(error) from None
        try:
            while True:
                self._check_stop()
                try:
                    chunk = response.read1(CHUNK_BYTES)
                except (http.client.HTTPException, OSError) as error:
                    raise _ConnectionDroppedError(_describe(error)) from None
                if not chunk:
                    break
                try:
                    file.write(chunk)
                except OSError as error:
                    raise _WriteError(error) from None
                self._hasher.update(chunk)
                self._hashed_bytes += len(chunk)
                self._received += len(chunk)
                self._transferred += len(chunk)
                self._report()
            if self._total is not None and self._received < self._total:
                raise _ConnectionDroppedError(
                    "the server closed the connection before the end of the file"
                )
            try:
                file.flush()
                os.fsync(file.fileno())
            except OSError as error:
                raise _WriteError(error) from None
        finally:
            # Only a failed flush can make this fail, and that was reported above.
            with contextlib.suppress(OSError):
                file.close()

    def _part_may_be_complete(self, offset: int, content_range: str | None) -> None:
        """A 416 to ``Range: bytes=N-`` means the part already reaches the end, or that it is
        longer than the file; only the server's stated size tells which."""
        match = _UNSATISFIED_RANGE.fullmatch(content_range.strip()) if content_range else None
        if match is None or int(match.group(1)) != offset:
            raise _PartMismatchError()
        self._hash_part(offset)
        self._received = self._total = offset

    def _hash_part(self, offset: int) -> None:
        """The checksum must cover the whole file, so resuming first hashes what is on disk
        (unless this call wrote exactly that much itself and already hashed it)."""
        if self._hashed_bytes == offset:
            return
        self._hasher, self._hashed_bytes = hashlib.sha256(), 0
        try:
            with self._partial.open("rb") as part:
                while self._hashed_bytes < offset:
                    self._check_stop()
                    block = part.read(min(4 * CHUNK_BYTES, offset - self._hashed_bytes))
                    if not block:
                        break
                    self._hasher.update(block)
                    self._hashed_bytes += len(block)
        except OSError as error:
            raise DownloadError(
                f"The partial download {self._partial} could not be read: "
                f"{error.strerror or error}."
            ) from None
        if self._hashed_bytes != offset:
            raise _PartMismatchError()

    def _check_space(self, total: int | None, start: int, on_disk: int) -> None:
        if total is None:
            return  # The server did not say; the write itself reports a full disk.
        remaining = max(total - start, 0)
        folder = self._partial.parent
        try:
            free = self._free_space(folder)
        except OSError:
            return
        # A part that is about to be rewritten from the start gives its space back.
        reclaimed = 0 if start else on_disk
        needed = remaining + FREE_SPACE_MARGIN
        if free + reclaimed < needed:
            raise DownloadError(
                f"Not enough disk space for “{self._name}”: it needs {exact_size_text(needed)}, "
                f"and {exact_size_text(free + reclaimed)} is free where the models folder is "
                f"({folder}). "
                "Free some space, then try again."
            )

    def _check_stop(self) -> None:
        if self._stop is not None and self._stop.is_set():
            kept = self._partial.stat().st_size if self._partial.exists() else 0
            of_total = f" of {exact_size_text(self._total)}" if self._total else ""
            raise DownloadPaused(
                f"The download of “{self._name}” is paused with {exact_size_text(kept)}"
                f"{of_total} kept; start it again to resume.",
                kept_bytes=kept,
                total_bytes=self._total,
            )

    def _pause_before_retry(self, drops: int) -> None:
        delay = RETRY_DELAYS_S[min(drops, len(RETRY_DELAYS_S)) - 1]
        if self._stop is not None:
            self._stop.wait(delay)
        else:
            time.sleep(delay)

    def _report(self, *, force: bool = False) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        rate = self._meter.rate(now, self._transferred)
        if not force and now - self._last_report < PROGRESS_INTERVAL_S:
            return
        self._last_report = now
        left: float | None = None
        if self._total is not None and rate > 0:
            left = max(self._total - self._received, 0) / rate
        self._progress(DownloadProgress(self._received, self._total, rate, left))

    def _http_problem(self, code: int, reason: str) -> str:
        if code == 404:
            return (
                f"There is no file at that address: {self._host} answered “404 Not Found”. "
                "Check the link; the model may have been moved or renamed."
            )
        if code in (401, 403):
            return (
                f"{self._host} refused the download (“{code} {reason}”). The model may need a "
                "login or an accepted licence on its web page; download it in a browser and "
                "import the file instead."
            )
        if code == 429:
            return f"{self._host} asks for fewer downloads right now (“429”). Try again later."
        if 500 <= code < 600:
            return (
                f"{self._host} had a problem sending the file (“{code} {reason}”). Try again later."
            )
        return f"{self._host} answered “{code} {reason}” instead of sending “{self._name}”."

    def _connection_problem(self, reason: object) -> Exception:
        if isinstance(reason, socket.gaierror):
            return DownloadError(
                f"Folio could not find the server “{self._host}”: there may be no internet "
                "connection, or the address is mistyped."
            )
        if isinstance(reason, ConnectionRefusedError):
            return DownloadError(
                f"{self._host} refused the connection: the server is down or the address is wrong."
            )
        if isinstance(reason, ssl.SSLCertVerificationError):
            return DownloadError(
                f"The secure connection to {self._host} could not be verified "
                f"({reason.verify_message or reason}); nothing was downloaded."
            )
        if isinstance(reason, OSError):
            return _ConnectionDroppedError(_describe(reason))
        return DownloadError(f"“{self._url}” could not be downloaded: {reason}.")

    def _gave_up(self, reason: str, drops: int) -> str:
        kept = self._partial.stat().st_size if self._partial.exists() else 0
        kept_text = (
            f"the {exact_size_text(kept)} received so far is kept, so the next try resumes "
            "from there"
            if kept
            else "nothing was received"
        )
        times = "once" if drops == 1 else f"{drops} times"
        return (
            f"The connection to {self._host} failed {times} ({reason}); {kept_text}. "
            "Check the connection and try again."
        )

    def _write_problem(self, error: OSError) -> str:
        folder = self._partial.parent
        with contextlib.suppress(OSError):
            self._partial.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return (
                f"The disk is full: “{self._name}” could not be written to {folder}. The partial "
                "download was removed; free some space, then try again."
            )
        return (
            f"“{self._name}” could not be written to {folder}: {error.strerror or error}. "
            "The partial download was removed."
        )


def _opener() -> urllib.request.OpenerDirector:
    """Only what an http(s) download needs: a redirect elsewhere (ftp:, file:) is refused."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def file_digest(path: Path, stop: threading.Event | None) -> str:
    hasher = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while block := stream.read(4 * CHUNK_BYTES):
                if stop is not None and stop.is_set():
                    raise DownloadPaused("The check of the existing file was stopped.")
                hasher.update(block)
    except OSError:
        return ""
    return hasher.hexdigest()


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    match = _CONTENT_RANGE.fullmatch(value.strip()) if value else None
    if match is None:
        return None, None
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _content_length(value: str | None) -> int | None:
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no data for {SOCKET_TIMEOUT_S:.0f} seconds"
    if isinstance(error, http.client.IncompleteRead):
        return "the server closed the connection before the end of the file"
    if isinstance(error, ConnectionResetError):
        return "the connection was reset"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror[0].lower() + error.strerror[1:]
    return str(error) or type(error).__name__
