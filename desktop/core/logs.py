"""Logging to a rotating file in the logs dir; one logger per area, named after its module."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def setup_logging(
    log_file: Path, level: int = logging.INFO, *, fall_back_to_stderr: bool = True
) -> OSError | None:
    """Send all records to ``log_file`` (1 MB x 5 files); safe to call more than once.

    A log file that cannot be opened (a read-only folder, a full disk) must not stop the app
    before it can say so: the records go to stderr instead, and the error is returned for the
    caller to report.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_folio", False):
            root.removeHandler(handler)
            handler.close()
    sink: logging.Handler
    failure: OSError | None = None
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        sink = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError as error:
        failure = error
        # The command line says what went wrong in its own words; its stderr is not a log.
        sink = logging.StreamHandler() if fall_back_to_stderr else logging.NullHandler()
    sink.setFormatter(logging.Formatter(_FORMAT))
    sink._folio = True  # type: ignore[union-attr]
    root.addHandler(sink)
    root.setLevel(level)
    # llama.cpp reports every tensor and buffer at load; keep its debug chatter out unless asked.
    logging.getLogger("folio.llama").setLevel(logging.INFO)
    return failure
