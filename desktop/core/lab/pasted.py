"""Pasted lines kept as a data file of their own, named by their content: a run over them is
then a run over a file like any other, so it resumes, compares and exports the same way."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from desktop.core.lab.datasets import TEXT_COLUMN, pasted_rows


def save_pasted_lines(text: str, folder: Path) -> Path:
    """The file holding ``text``'s non-blank lines, one JSON object per line; the same lines
    give the same file (DatasetError when there are none)."""
    _info, rows = pasted_rows(text)
    body = "".join(
        json.dumps({TEXT_COLUMN: row.values[TEXT_COLUMN]}, ensure_ascii=False) + "\n"
        for row in rows
    ).encode("utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pasted-{hashlib.sha256(body).hexdigest()[:12]}.jsonl"
    if path.exists():
        return path
    handle, temporary = tempfile.mkstemp(prefix=".pasted-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(body)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
