"""Named points where the crash-consistency tests kill the process, as SQLite's own tests do:
between the two writes of a pair, in the middle of a save. ``FOLIO_KILL_AT=name`` (or
``name:N``, the N-th time the point is passed) makes the process SIGKILL itself there.

Unset, a point costs one dictionary look-up; nothing else in Folio reads the variable.
"""

from __future__ import annotations

import os
import signal

_PLAN = os.environ.get("FOLIO_KILL_AT", "")
_NAME, _, _COUNT = _PLAN.partition(":")
_passes: dict[str, int] = {}

# The points, so that a test can go through all of them.
KEYWORDS_WRITTEN = "keywords-written"  # a page's passages in the keyword index, no vectors yet
VECTORS_WRITTEN = "vectors-written"  # a batch's vectors in Chroma, not yet marked embedded
DOCUMENT_FINISHING = "document-finishing"  # every vector stored, the document not yet ready
CHECKPOINT = "conversation-checkpoint"  # a streaming answer's text being saved
SETTINGS_RENAME = "settings-rename"  # a settings file written in full, not yet renamed
DOWNLOAD_RENAME = "download-rename"  # a model downloaded and checked, not yet renamed
POINTS = (
    KEYWORDS_WRITTEN,
    VECTORS_WRITTEN,
    DOCUMENT_FINISHING,
    CHECKPOINT,
    SETTINGS_RENAME,
    DOWNLOAD_RENAME,
)


def kill_point(name: str) -> None:
    if not _PLAN or name != _NAME:
        return
    passes = _passes.get(name, 0) + 1
    _passes[name] = passes
    if passes >= int(_COUNT or 1):
        os.kill(os.getpid(), signal.SIGKILL)
