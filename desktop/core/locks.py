"""One writer per data folder, across the window and every command, and safe file updates.

The writer lock is an advisory ``flock`` on a file in the data folder. The kernel drops it when
its process ends, however it ends (a crash, ``kill -9``, a closed terminal), so a lock is never
left stale and nobody has to decide whether an old one may be broken. The holder writes who it
is into the file, so that a refused writer can say what holds the folder.

Commands that only read (``search``, ``library``, ``ask``) take no lock: they open the library
read-only and never write, so they can run beside an indexer. On Windows there is no
``flock``: the lock file is written but not enforced (Folio ships for Linux).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

if sys.platform != "win32":
    import fcntl

LOCK_FILE = "folio.lock"
WINDOW = "the Folio window"


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as it wrote itself into the lock file."""

    program: str
    pid: int
    since: float

    def describe(self) -> str:
        started = time.strftime("%H:%M", time.localtime(self.since))
        return f"{self.program} (process {self.pid}, since {started})"


class FolderBusyError(Exception):
    """Another process writes to the data folder; ``str(error)`` says which and what to do."""

    def __init__(self, holder: Holder | None, program: str) -> None:
        self.holder = holder
        who = holder.describe() if holder is not None else "another Folio process"
        if holder is not None and holder.program == WINDOW and program == WINDOW:
            message = (
                "Folio is already running. Switch to its window, or quit it before starting again."
            )
        elif holder is not None and holder.program == WINDOW:
            message = (
                f"The Folio window is open on this data folder ({who}), and only one "
                "program may change it at a time. Do this in the window, or quit it first."
            )
        elif program == WINDOW:
            message = (
                f"Folio cannot open while {who} is changing its data folder: only one program "
                "may change it at a time. Wait for it to finish (or stop it with Ctrl+C in its "
                "terminal), then open Folio again."
            )
        else:
            message = (
                f"{who} is changing this data folder, and only one program may change it at "
                "a time. Wait for it to finish (or stop it), then try again."
            )
        super().__init__(message)


class WriterLock:
    """The right to change a data folder, held until ``release`` or the end of the process."""

    def __init__(self, folder: Path, program: str) -> None:
        self._path = folder / LOCK_FILE
        self._program = program
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self._path

    def acquire(self) -> None:
        """Take the lock, or raise ``FolderBusyError`` naming its holder; ``OSError`` when the
        lock file cannot be written (a read-only folder, a full disk)."""
        if self._fd is not None:
            return
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            if sys.platform != "win32":
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise FolderBusyError(read_holder(self._path), self._program) from None
            record = {"program": self._program, "pid": os.getpid(), "since": time.time()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def read_holder(path: Path) -> Holder | None:
    """Who holds the lock at ``path`` (None when nobody does, or it cannot be told)."""
    try:
        data = json.loads(path.read_bytes() or b"null")
        return Holder(str(data["program"]), int(data["pid"]), float(data["since"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def is_locked(folder: Path) -> bool:
    """Whether some process holds the writer lock of ``folder`` now."""
    if sys.platform == "win32":
        return False
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """Exclusive use of ``path``'s update (a read, change and write of a settings file) among
    processes: held on ``<path>.lock``, waited for up to ``timeout`` seconds. Where the lock
    file cannot be made (a read-only folder), the update goes ahead unlocked: the write that
    follows fails there anyway, with its own clear message."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError:
        yield
        return
    try:
        if sys.platform != "win32":
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"{path.name} is being changed by another Folio process; "
                            "try again in a moment."
                        ) from None
                    time.sleep(0.02)
        yield
    finally:
        os.close(fd)
