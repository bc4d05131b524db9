"""Child processes that die with their parent and stay within bounds.

A spawned worker outlives a parent killed with SIGKILL (or a closed terminal) unless it is told
otherwise: it was found running at 100 % of a core with parent PID 1, and multiprocessing's
resource tracker with it (the tracker ends once every holder of its pipe is gone). Two guards,
so that one holds where the other cannot: the kernel's parent-death signal (Linux), and a
thread that sees the parent change.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.25


def die_with_parent(parent_pid: int, *, kernel_signal: bool = True) -> None:
    """Called first thing in a child: it ends when ``parent_pid`` does.

    The kernel's signal is sent when the *thread* that started the child ends, so it is only
    for a child started from a thread that outlives it (an indexing run starts and closes its
    worker on its own thread); a child that outlives the thread that started it (the vector
    store, opened on a task's thread) asks for ``kernel_signal=False``. The watch thread covers
    what the signal cannot: such children, a parent that ended before the signal was armed,
    and systems without it.
    """
    if kernel_signal and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            log.debug("no parent-death signal on this system", exc_info=True)
    if os.getppid() != parent_pid:
        os._exit(0)  # the parent is already gone
    watch = threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="folio-parent-watch", daemon=True
    )
    watch.start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(WATCH_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(0)


def limit_memory(max_bytes: int) -> None:
    """Cap this process's address space: past it, allocations fail with ``MemoryError``
    rather than the machine swapping or the out-of-memory killer picking a process."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
