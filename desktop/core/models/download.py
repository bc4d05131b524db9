"""Downloading a model file.

A model is gigabytes over a connection that may drop, on a laptop that may sleep, for a user who
may pause. So the bytes go to a hidden ``.NAME.part`` beside the models (the registry only picks
up ``*.gguf``, so a part never shows as a model), a new attempt continues where that file ends
with an HTTP Range request, and only a file whose checksum matches and whose GGUF header reads
back whole is renamed into place. This is the one place where Folio talks to the network, and
only when the user asked for a download.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import re
import shutil
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
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from desktop.core.formatting import exact_size_text
from desktop.core.models.gguf import GGUFError, read_gguf_info

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

SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)
# Characters no common file system accepts in a name; a name taken from a URL has them replaced.
_UNSAFE_CHARACTERS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')


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


@dataclass(frozen=True)
class DownloadRequest:
    """A download checked before it starts: what to fetch and under which name."""

    url: str
    filename: str
    # Lower-case hex, or None to download without a checksum (the header is still checked).
    sha256: str | None
    # What the user calls it: a catalog entry's name, or the file name.
    name: str
    # A catalog entry says so before the server does.
    size_bytes: int | None = None

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or self.url


def download_request(
    url: str,
    *,
    sha256: str | None = None,
    filename: str | None = None,
    name: str = "",
    size_bytes: int | None = None,
) -> DownloadRequest:
    """The download of ``url`` checked as :func:`download` checks it, for the window and the
    CLI to refuse before anything starts (``DownloadError`` says what to change)."""
    url = url.strip()
    if not url:
        raise DownloadError("Give the web address of a .gguf file first.")
    problem = url_problem(url)
    if problem is not None:
        raise DownloadError(problem)
    saved_as = target_name(url, filename)
    return DownloadRequest(url, saved_as, expected_digest(sha256), name or saved_as, size_bytes)


def partial_path(folder: Path, filename: str) -> Path:
    """Where what has arrived of ``filename`` is kept: hidden, and not a ``.gguf``, so the
    models folder never lists a part as a model."""
    return folder / f".{filename}.part"


def download(
    url: str,
    folder: Path,
    *,
    sha256: str | None = None,
    filename: str | None = None,
    progress: Callable[[DownloadProgress], None] | None = None,
    stop: threading.Event | None = None,
    retries: int = 3,
    free_space: Callable[[Path], int] = lambda p: shutil.disk_usage(p).free,
) -> Path:
    """Download the GGUF at ``url`` into ``folder`` and return its path.

    Resumes a part left by an earlier call, resumes by itself up to ``retries`` times when the
    connection drops, checks ``sha256`` when given and always checks that the result is a whole
    GGUF model. Raises :class:`DownloadPaused` when ``stop`` is set (the part is kept) and
    :class:`DownloadError` for everything else.
    """
    request = download_request(url, sha256=sha256, filename=filename)
    url, name, expected, host = request.url, request.filename, request.sha256, request.host
    if retries < 0:
        raise ValueError("retries must be zero or more")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(
            f"The models folder {folder} could not be created: {error.strerror or error}."
        ) from None

    target = folder / name
    if target.exists() or target.is_symlink():
        if expected is not None and _file_digest(target, stop) == expected:
            return target
        different = "a different" if expected is not None else "a"
        raise DownloadError(
            f"The models folder already has {different} file named “{name}”, and Folio does not "
            "overwrite it. Rename or remove that file, or save the download under another name."
        )

    partial = partial_path(folder, name)
    transfer = _Transfer(
        url=url,
        host=host,
        name=name,
        partial=partial,
        progress=progress,
        stop=stop,
        retries=retries,
        free_space=free_space,
    )
    actual = transfer.run()

    if expected is not None and actual != expected:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"The file is not the one expected: checksum mismatch for “{name}” (expected "
            f"{expected[:12]}…, received {actual[:12]}…). The download was deleted. The link may "
            "now point to another version of the model; check the link and its checksum."
        )
    try:
        read_gguf_info(partial)
    except GGUFError as error:
        partial.unlink(missing_ok=True)
        reason = str(error).replace(f"“{partial.name}”", f"“{name}”")
        raise DownloadError(f"The downloaded file was deleted: {reason}") from None

    if target.exists() or target.is_symlink():
        # Someone put a file there while the download ran; theirs stays.
        raise DownloadError(
            f"A file named “{name}” appeared in the models folder during the download, and "
            f"Folio does not overwrite it. The download is kept as {partial}."
        )
    try:
        partial.replace(target)
    except OSError as error:
        raise DownloadError(
            f"“{name}” was downloaded but could not be moved into place: {error.strerror or error}."
        ) from None
    return target


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


class _Transfer:
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


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be downloaded from, or None."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return (
            f"“{url}” is not a web address Folio can download from: use a link that starts "
            "with https:// (or http://)."
        )
    return None


def target_name(url: str, filename: str | None = None) -> str:
    """The file name a download is saved under, or ``DownloadError`` saying why there is none."""
    if filename is not None:
        name = filename.strip()
        problem = filename_problem(name)
        if problem is not None:
            raise DownloadError(f"“{filename}” cannot be the model's file name: {problem}.")
        return name
    segment = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    name = _UNSAFE_CHARACTERS.sub("_", segment).strip()
    problem = filename_problem(name)
    if problem is not None:
        raise DownloadError(
            f"The link does not end in a model file name ({problem}). Use the link of the "
            ".gguf file itself, or give the name to save it under."
        )
    return name


def filename_problem(name: str) -> str | None:
    """Why ``name`` cannot be a model's file name in the models folder, or None."""
    if not name:
        return "it is empty"
    if "/" in name or "\\" in name:
        return "it must be a plain file name, without folders"
    if name.startswith("."):
        return "it must not start with a dot (such files are hidden)"
    if _UNSAFE_CHARACTERS.search(name):
        return 'it has a character that file names cannot hold (< > : " | ? * or a control)'
    if not name.lower().endswith(".gguf") or len(name) <= len(".gguf"):
        return f"“{name}” does not end in .gguf"
    if len(name.encode("utf-8")) > 240:
        return "it is too long"
    return None


def expected_digest(sha256: str | None) -> str | None:
    """The checksum as Folio compares it, or ``DownloadError`` when it is not a SHA-256."""
    if sha256 is None:
        return None
    digest = sha256.strip().lower()
    if not SHA256.fullmatch(digest):
        raise DownloadError(
            f"“{sha256}” is not a SHA-256 checksum: it should be 64 hexadecimal characters "
            "(0-9 and a-f)."
        )
    return digest


def _file_digest(path: Path, stop: threading.Event | None) -> str:
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
