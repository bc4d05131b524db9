"""``python main.py`` does what the ``folio`` command does: no arguments open the window."""

import sys

from desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
