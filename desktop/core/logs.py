"""Logging to a rotating file in the logs dir; one logger per area, named after its module."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def setup_logging(log_file: Path, level: int = logging.INFO) -> None:
    """Send all records to ``log_file`` (1 MB x 5 files); safe to call more than once."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_folio", False):
            root.removeHandler(handler)
            handler.close()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler._folio = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # llama.cpp reports every tensor and buffer at load; keep its debug chatter out unless asked.
    logging.getLogger("folio.llama").setLevel(logging.INFO)
