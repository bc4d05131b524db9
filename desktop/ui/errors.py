"""One way to tell the user about a problem, and a crash dialog for the unexpected."""

from __future__ import annotations

import errno
import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop.core.errors import EngineError

log = logging.getLogger(__name__)


def describe_failure(error: BaseException, doing: str) -> str:
    """What to tell the user about ``error``, which stopped ``doing`` (for the log).

    Errors Folio raises for people (a model that cannot load, a file that cannot be read) say
    what happened and what to do; anything else is a bug, logged with its traceback.
    """
    if not isinstance(error, EngineError | OSError | ValueError):
        log.error("%s failed", doing, exc_info=error)
    else:
        log.info("%s failed: %s", doing, error)
    return str(error) or type(error).__name__


def cannot_write_message(error: OSError, folder: Path) -> str:
    """What to tell someone whose data folder cannot be written (read-only, full, or a file
    where a folder should be): the folder at fault and what to do, without a traceback.

    ``folder`` is named unless the error names a path: then the nearest part of that path that
    exists, which is the folder that refused (a read-only parent of a folder not yet made).
    """
    place = Path(error.filename) if isinstance(error.filename, str) else folder
    while not place.exists() and place.parent != place:
        place = place.parent
    if isinstance(error, NotADirectoryError | FileExistsError) and place.is_file():
        reason, remedy = "it is a file, not a folder", "Move the file elsewhere"
    else:
        reason = error.strerror or str(error) or type(error).__name__
        remedy = f"Make the {'file' if place.is_file() else 'folder'} writable"
    if error.errno == errno.ENOSPC:
        remedy = "Free some space on that disk"
    return (
        f"Folio cannot write to {place}: {reason}. {remedy}, or set FOLIO_HOME to another folder."
    )


def show_error(parent: QWidget | None, message: str, title: str = "Folio") -> None:
    """What happened and what to do, in plain words; details go to the log."""
    log.info("shown to user: %s", message)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(message)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.exec()


def install_excepthook(log_file: Path) -> None:
    """Unexpected errors are logged and shown in a dialog instead of silently killing the app."""
    showing = False

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        nonlocal showing
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        log.critical("unexpected error", exc_info=(kind, error, trace))
        if showing or QApplication.instance() is None:
            return
        showing = True
        try:
            details = "".join(traceback.format_exception(kind, error, trace))
            box = QMessageBox()
            box.setIcon(QMessageBox.Icon.Critical)
            box.setWindowTitle("Folio ran into a problem")
            box.setText(
                "Something went wrong inside Folio. Your chats are saved; you can keep working, "
                "but if this happens again please restart Folio."
            )
            box.setInformativeText(f"The details were written to the log:\n{log_file}")
            box.setDetailedText(details)
            box.exec()
        finally:
            showing = False

    sys.excepthook = hook
