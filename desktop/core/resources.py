"""Folio's own files (the model catalog, the icons), wherever Folio runs.

``resources/`` in the source tree is the package ``desktop.resources`` (``pyproject.toml`` maps
it), so a checkout, an installed wheel and a frozen bundle all find them through
``importlib.resources`` rather than by walking up from a module's file.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGE = "desktop.resources"


def resource(*parts: str) -> Traversable:
    found = files(PACKAGE)
    # One part at a time: in a frozen program the package is a MultiplexedPath (its modules in
    # the archive, its files on disk), whose joinpath takes a single name before Python 3.12.
    for part in parts:
        found = found.joinpath(part)
    return found


def resource_path(*parts: str) -> Path | None:
    """The file on disk, for what needs a path (a Qt icon); None when it is not there."""
    found = resource(*parts)
    return Path(str(found)) if isinstance(found, Path) and found.is_file() else None
