"""Entry point: ``folio`` with no arguments opens the window; with arguments it is the CLI.

Qt is imported only on the window path, so the CLI starts quickly and runs without a display.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Sequence

from desktop.core.logs import setup_logging
from desktop.core.paths import app_paths
from desktop.core.platform import missing_libraries_message, missing_window_libraries


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments:
        from desktop.cli.main import run_cli

        return run_cli(arguments)
    # Logged before Qt is imported, so that a broken Qt install is in the log too. A folder that
    # cannot be written is not told here: run_gui says so in a dialog, not a traceback.
    paths = app_paths()
    with contextlib.suppress(OSError):
        paths.ensure()
    setup_logging(paths.log_file)
    # Qt would abort with a message naming one library (or only its platform plugin); this
    # names every one missing and the package to install, and nothing is lost by stopping here.
    missing = missing_window_libraries()
    if missing:
        message = missing_libraries_message(missing)
        logging.getLogger(__name__).error("%s", message)
        print(f"folio: error: {message}", file=sys.stderr)
        return 1
    try:
        from desktop.ui.application import run_gui
    except ImportError:
        logging.getLogger(__name__).exception("the window cannot start")
        raise
    return run_gui()
