"""The vector store in a process of its own, for the window.

Chroma's ``upsert`` holds the GIL for the whole call (measured: 28 ms median, 61 ms worst for
a batch of 48 vectors), so in the window's process every batch stalls the window for that
long. Here a child process owns the only Chroma client of the library, and this process sends
it vectors and questions' vectors over a pipe: the window's process only pickles numbers.

The child dies with its parent (``children.die_with_parent``, by watching it). Calls are
serialised by a lock, as they were on the one Chroma client, and a child that dies is started
again at the next call, once; its error reaches the caller as ``VectorProcessError``.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from desktop.core.children import die_with_parent
from desktop.core.documents.vector_index import ChromaVectors
from desktop.core.errors import EngineError
from desktop.core.locks import file_lock

log = logging.getLogger(__name__)

# Opening Chroma takes a second or two; a question or a batch far less. Past these the child
# is taken for stuck.
START_SECONDS = 120.0
CALL_SECONDS = 300.0


class VectorProcessError(EngineError):
    """The vector store's process failed; the message says what to do."""


class VectorProcess:
    """A ``VectorStore`` whose Chroma client lives in a child process."""

    def __init__(self, folder: Path, *, writable: bool = True) -> None:
        self._folder = folder
        self._writable = writable
        self._lock = threading.Lock()
        self._process: Any = None
        self._pipe: Connection | None = None
        self._restarted = False
        with self._lock:
            self._start()

    def _start(self) -> None:
        # "spawn": forking a process that runs Qt, llama.cpp and Chroma threads is unsafe.
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(there, self._folder, self._writable, os.getpid()),
            name="folio-vectors",
            daemon=True,
        )
        self._process.start()
        there.close()
        self._pipe = here
        reply = self._receive(START_SECONDS)
        if reply[0] != "ok":
            self._stop()
            raise VectorProcessError(reply[1])

    def _receive(self, timeout: float) -> tuple[str, Any]:
        assert self._pipe is not None
        try:
            if not self._pipe.poll(timeout):
                raise VectorProcessError(
                    "The vector store stopped answering; close Folio and open it again."
                )
            while True:
                reply: tuple[str, Any] = self._pipe.recv()
                if reply[0] != "log":
                    return reply
                record: logging.LogRecord = reply[1]
                logging.getLogger(record.name).handle(record)
        except (EOFError, OSError):
            raise VectorProcessError(
                "The vector store's process stopped; Folio will start it again. If this "
                "happens again, close Folio and open it again."
            ) from None

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            if self._pipe is None:
                raise VectorProcessError("The vector store is closed.")
            try:
                self._pipe.send((method, args))
                reply = self._receive(CALL_SECONDS)
            except (VectorProcessError, OSError):
                self._stop()
                if self._restarted:
                    raise
                # Once: a child that died (out of memory, killed) is started again.
                self._restarted = True
                log.warning("the vector store's process stopped; starting it again")
                self._start()
                self._pipe.send((method, args))
                reply = self._receive(CALL_SECONDS)
        if reply[0] == "error":
            raise VectorProcessError(reply[1])
        return reply[1]

    def _stop(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=10)
            self._process.close()
            self._process = None

    # -- the VectorStore interface ---------------------------------------------------------------

    def add(
        self, chunk_ids: Sequence[str], documents: Sequence[str], vectors: npt.NDArray[np.float32]
    ) -> None:
        self._call("add", list(chunk_ids), list(documents), np.asarray(vectors, np.float32))

    def remove(self, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._call("remove", list(chunk_ids))

    def clear(self) -> None:
        self._call("clear")

    def count(self) -> int:
        count: int = self._call("count")
        return count

    def ids(self) -> list[str]:
        ids: list[str] = self._call("ids")
        return ids

    def search(
        self, vector: npt.NDArray[np.float32], limit: int, documents: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = self._call(
            "search", vector, limit, None if documents is None else list(documents)
        )
        return found

    def similarities(
        self, vector: npt.NDArray[np.float32], chunk_ids: Sequence[str]
    ) -> dict[str, float]:
        found: dict[str, float] = self._call("similarities", vector, list(chunk_ids))
        return found

    def close(self) -> None:
        with self._lock:
            if self._pipe is not None:
                try:
                    self._pipe.send(("close", ()))
                    self._pipe.poll(10)
                except OSError:
                    pass
            self._stop()

    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)


class _PipeLogHandler(logging.Handler):
    """The child's log records go to the parent, which writes them where its own go."""

    def __init__(self, pipe: Connection, lock: threading.Lock) -> None:
        super().__init__()
        self._pipe = pipe
        self._send_lock = lock

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg = record.getMessage()
            record.args = None
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            with self._send_lock:
                self._pipe.send(("log", record))
        except Exception:  # a log record must never take the store down
            pass


def _serve(pipe: Connection, folder: Path, writable: bool, parent_pid: int) -> None:
    # This process outlives the thread that started it (the library opens on a task's
    # thread), so it watches for its parent rather than take the kernel's signal.
    die_with_parent(parent_pid, kernel_signal=False)
    send_lock = threading.Lock()
    root = logging.getLogger()
    root.handlers = [_PipeLogHandler(pipe, send_lock)]
    root.setLevel(logging.INFO)

    def reply(kind: str, value: Any) -> None:
        with send_lock:
            pipe.send((kind, value))

    with contextlib.ExitStack() as held:
        if writable:
            # Never two writers on one Chroma store: a child left by a parent that was killed
            # ends within a quarter of a second, and the next one waits for it here.
            with contextlib.suppress(OSError):
                folder.mkdir(parents=True, exist_ok=True)
            try:
                held.enter_context(file_lock(folder / "writer", timeout=START_SECONDS / 2))
            except TimeoutError:
                reply("error", f"Another Folio process still writes to the vectors in {folder}.")
                return
        _serve_store(pipe, folder, writable, reply)


def _serve_store(
    pipe: Connection, folder: Path, writable: bool, reply: Callable[[str, Any], None]
) -> None:
    try:
        store = ChromaVectors(folder, writable=writable)
    except Exception as error:
        log.exception("the vector store in %s could not be opened", folder)
        reply("error", f"The vector store in {folder} could not be opened: {error}")
        return
    reply("ok", None)
    while True:
        try:
            method, args = pipe.recv()
        except (EOFError, OSError):
            return
        if method == "close":
            reply("ok", None)
            return
        try:
            reply("ok", getattr(store, method)(*args))
        except Exception as error:
            log.exception("the vector store failed in %s", method)
            reply("error", f"The vector store failed: {error}")
