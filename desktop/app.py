"""Entry point: ``folio`` with no arguments opens the window; with arguments it is the CLI.

Qt is imported only on the window path, so the CLI starts quickly and runs without a display.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments:
        from desktop.cli.main import run_cli

        return run_cli(arguments)
    from desktop.ui.application import run_gui

    return run_gui()
