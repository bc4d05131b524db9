"""What is checked of a file before any of it is read: that it is a regular file with a name
Folio can store, of a size that is sane for its kind.

Each check answers with the message to show (None: the file may be read), so that a folder
walk reports every file it passes over with why, and one odd file never stops the others.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from desktop.core.documents.extract import MARKDOWN_SUFFIXES
from desktop.core.formatting import exact_size_text, size_text

# Larger than any real PDF of text (the largest in the evaluation set is 30 MB; scanned books
# with images reach a few hundred). Past this a file is most likely a damaged or unfinished
# download, which pypdf reads backwards through in full, and which cost 4.3 GB for 2 GiB.
MAX_PDF_BYTES = 1_000_000_000
# A text file is read whole; 64 MB of text is some 30,000 pages.
MAX_TEXT_BYTES = 64_000_000


def printable_name(path: Path) -> str:
    """The file's name as it can be shown: bytes that are not UTF-8 become U+FFFD."""
    return os.fsencode(path.name).decode("utf-8", errors="replace")


def has_unstorable_name(path: Path) -> bool:
    """A Linux file name is bytes; one that is not UTF-8 arrives here with lone surrogates,
    which SQLite (and Qt) cannot take."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def refusal(path: Path) -> str | None:
    """Why ``path`` will not be read, or None when it may be."""
    name = printable_name(path)
    if has_unstorable_name(path):
        return (
            f"The name of “{name}” is not valid text (UTF-8), so Folio cannot keep it in its "
            "library. Rename the file and add it again."
        )
    try:
        status = path.stat()
    except OSError as error:
        if path.is_symlink():
            return f"“{name}” is a link to a file that is not there (or a loop of links)."
        return f"“{name}” could not be read: {error.strerror or error}."
    if stat.S_ISDIR(status.st_mode):
        return f"“{name}” is a folder, not a document, although its name ends like one."
    if not stat.S_ISREG(status.st_mode):
        return f"“{name}” is not a regular file (it is a pipe, socket or device)."
    limit = size_limit(path)
    if status.st_size > limit:
        kind = "PDF" if path.suffix.lower() == ".pdf" else "text file"
        return (
            f"“{name}” is {exact_size_text(status.st_size)}, larger than Folio reads as a "
            f"{kind} ({size_text(limit)}); it may be damaged or an unfinished download."
        )
    return None


def size_limit(path: Path) -> int:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return MAX_PDF_BYTES
    if suffix == ".txt" or suffix in MARKDOWN_SUFFIXES:
        return MAX_TEXT_BYTES
    return MAX_PDF_BYTES
