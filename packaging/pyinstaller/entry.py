"""The frozen program's entry point: ``folio`` with no arguments opens the window, with
arguments it is the command line, as in a Python install."""

import multiprocessing
import sys

from desktop.app import main

if __name__ == "__main__":
    # Documents are read in a spawned worker process: in a frozen program that worker is this
    # same executable, which must become the worker here instead of opening another window.
    multiprocessing.freeze_support()
    sys.exit(main())
