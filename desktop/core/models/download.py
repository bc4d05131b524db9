"""Downloading a model file.

A model is gigabytes over a connection that may drop, on a laptop that may sleep, for a user who
may pause. So the bytes go to a hidden ``.NAME.part`` beside the models (the registry only picks
up ``*.gguf``, so a part never shows as a model), a new attempt continues where that file ends
with an HTTP Range request, and only a file whose checksum matches and whose GGUF header reads
back whole is renamed into place. This is the one place where Folio talks to the network, and
only when the user asked for a download.
"""

from __future__ import annotations

import re
import shutil
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from desktop.core import faults
from desktop.core.models.gguf import GGUFError, read_gguf_info
from desktop.core.models.transfer import (
    DownloadError,
    DownloadPaused,
    DownloadProgress,
    Transfer,
    file_digest,
)

__all__ = [
    "SHA256",
    "DownloadError",
    "DownloadPaused",
    "DownloadProgress",
    "DownloadRequest",
    "download",
    "download_request",
    "expected_digest",
    "filename_problem",
    "partial_path",
    "target_name",
    "url_problem",
]

SHA256 = re.compile(r"[0-9a-f]{64}")
# Characters no common file system accepts in a name; a name taken from a URL has them replaced.
_UNSAFE_CHARACTERS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')


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
        if expected is not None and file_digest(target, stop) == expected:
            return target
        different = "a different" if expected is not None else "a"
        raise DownloadError(
            f"The models folder already has {different} file named “{name}”, and Folio does not "
            "overwrite it. Rename or remove that file, or save the download under another name."
        )

    partial = partial_path(folder, name)
    transfer = Transfer(
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
    faults.kill_point(faults.DOWNLOAD_RENAME)
    try:
        partial.replace(target)
    except OSError as error:
        raise DownloadError(
            f"“{name}” was downloaded but could not be moved into place: {error.strerror or error}."
        ) from None
    return target


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
