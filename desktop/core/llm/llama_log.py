"""Route llama.cpp's own log output into Folio's log instead of the terminal.

llama.cpp writes its progress and warnings to stderr through a C callback. Folio installs one
callback for the whole process that hands each line to the ``folio.llama`` logger, and lets a load
collect the error lines it caused so the user can be told *why* a model failed to load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from desktop.core.llm import binding

log = logging.getLogger("folio.llama")

# ggml log levels: NONE, DEBUG, INFO, WARN, ERROR, CONT (continues the previous line). llama.cpp's
# INFO is a chatty per-load report, so it is kept at DEBUG in Folio's log.
_LEVELS = {
    0: logging.CRITICAL,
    1: logging.DEBUG,
    2: logging.DEBUG,
    3: logging.WARNING,
    4: logging.ERROR,
}
_CONTINUE = 5

_install_lock = threading.Lock()
_callback: Any = None
_collectors: list[ErrorLines] = []
_last_level = logging.DEBUG


@dataclass
class ErrorLines:
    lines: list[str] = field(default_factory=list)


def _on_llama_log(level: int, text: bytes | None, _user_data: Any) -> None:
    global _last_level
    message = (text or b"").decode("utf-8", errors="replace").rstrip("\n")
    python_level = _last_level if level == _CONTINUE else _LEVELS.get(level, logging.DEBUG)
    _last_level = python_level
    if not message.strip():
        return
    log.log(python_level, "%s", message)
    if python_level >= logging.WARNING:
        for collector in list(_collectors):
            collector.lines.append(message)


def install() -> None:
    """Install the callback once; importing llama_cpp is deferred until a model is needed."""
    global _callback
    with _install_lock:
        if _callback is not None:
            return
        # The wrapper must stay referenced for as long as C may call it.
        _callback = binding.install_log_callback(_on_llama_log)


@contextmanager
def capture_errors() -> Iterator[ErrorLines]:
    """Collect warning and error lines that llama.cpp logs while the block runs."""
    collector = ErrorLines()
    _collectors.append(collector)
    try:
        yield collector
    finally:
        _collectors.remove(collector)
