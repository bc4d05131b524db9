"""The library's table of documents, in its SQLite file beside the keyword index.

One row per document, keyed by the SHA-256 of its content. The status column is the indexing
journal: queued → extracting → embedding → ready, so a run stopped part-way (quit, crash, kill -9)
leaves a document that is not ready, and the next run indexes it again.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from desktop.core.documents.extract import Problem
from desktop.core.documents.records import IN_PROGRESS, DocumentRecord, DocumentStatus
from desktop.core.formatting import terminal_text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    pages INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    added_at REAL NOT NULL,
    indexed_at REAL,
    problem TEXT NOT NULL DEFAULT '',
    -- NULL until the document's first pages have been looked at for a heading ('' for none)
    heading TEXT
)
"""
_META_SCHEMA = "CREATE TABLE IF NOT EXISTS library_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_COLUMNS = (
    "id, path, name, title, size, pages, chunks, status, message, added_at, indexed_at, problem,"
    " heading"
)
_FIELDS = frozenset(_COLUMNS.replace(" ", "").split(","))
_PROBLEMS = frozenset(problem.value for problem in Problem)
# Libraries written before the problem was kept in its own column said it only in the message;
# what those messages said is read once, when the column is added.
_PROBLEMS_IN_OLD_MESSAGES = (
    (Problem.PASSWORD, "%password%"),
    (Problem.NO_TEXT, "%no text layer%"),
    (Problem.ENCRYPTED, "%encryption%"),
)


class DocumentStore:
    """Thread-safe: every statement runs under the library's lock, on its one connection."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = connection
        self._lock = lock
        # Counts the writes, so that of two lists of the documents read on two threads the
        # newer one can be told apart (the window shows the newer).
        self._version = 0
        with self._lock, self._conn:
            self._conn.execute(_SCHEMA)
            self._conn.execute(_META_SCHEMA)
            self._add_problem_column()
            self._add_heading_column()

    # -- reading --------------------------------------------------------------------------------

    def all(self) -> list[DocumentRecord]:
        """Every document, oldest first; a ready one whose file is gone reads as missing."""
        return self.snapshot()[1]

    def snapshot(self) -> tuple[int, list[DocumentRecord]]:
        """Every document, with the number of writes it reflects."""
        with self._lock:
            version = self._version
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM documents ORDER BY added_at, name"
            ).fetchall()
        return version, [_with_presence(_record(row)) for row in rows]

    def get(self, document_id: str) -> DocumentRecord | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
        return _with_presence(_record(row)) if row else None

    def id_at(self, path: Path) -> str | None:
        """The document last added from ``path``, whatever its content is now."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id FROM documents WHERE path = ?", (str(path),)
            ).fetchone()
        return str(row[0]) if row else None

    def present(self, document_ids: Iterable[str]) -> set[str]:
        """Those of ``document_ids`` still in the library."""
        wanted = sorted(set(document_ids))
        if not wanted:
            return set()
        marks = ", ".join("?" for _ in wanted)
        with self._lock:
            rows = self._conn.execute(f"SELECT id FROM documents WHERE id IN ({marks})", wanted)
            return {str(row[0]) for row in rows}

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM library_meta WHERE key = ?", (key,)
            ).fetchone()
        return str(row[0]) if row else None

    # -- writing --------------------------------------------------------------------------------

    def insert(self, document_id: str, path: Path, size: int) -> None:
        """A new document, queued for indexing."""
        with self._lock, self._conn:
            self._version += 1
            self._conn.execute(
                "INSERT INTO documents (id, path, name, size, status, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    document_id,
                    str(path),
                    terminal_text(path.name),
                    size,
                    DocumentStatus.QUEUED,
                    time.time(),
                ),
            )

    def update(self, document_id: str, **fields: object) -> DocumentRecord | None:
        """The record after the change; None when the document was removed meanwhile (from
        another thread)."""
        unknown = set(fields) - _FIELDS
        if unknown:
            raise ValueError(f"documents have no column {', '.join(sorted(unknown))}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [
            terminal_text(value)
            if name in _SHOWN_AS_TEXT and isinstance(value, str)
            else _stored(value)
            for name, value in fields.items()
        ]
        with self._lock, self._conn:
            self._version += 1
            self._conn.execute(
                f"UPDATE documents SET {assignments} WHERE id = ?", (*values, document_id)
            )
        return self.get(document_id)

    def set_status(
        self,
        document_id: str,
        status: DocumentStatus,
        message: str = "",
        problem: Problem | None = None,
        **fields: object,
    ) -> DocumentRecord | None:
        return self.update(
            document_id, status=status, message=message, problem=problem or "", **fields
        )

    def delete(self, document_id: str) -> None:
        with self._lock, self._conn:
            self._version += 1
            self._conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))

    def set_meta(self, values: Sequence[tuple[str, str]]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO library_meta (key, value) VALUES (?, ?)", values
            )

    def requeue_interrupted(self) -> None:
        """Documents a run was indexing when it stopped are queued to be indexed again."""
        with self._lock, self._conn:
            self._version += 1
            self._conn.execute(
                "UPDATE documents SET status = ?, message = ? WHERE status IN (?, ?)",
                (
                    DocumentStatus.QUEUED,
                    "Indexing was interrupted; it will start again.",
                    *IN_PROGRESS,
                ),
            )

    def _add_problem_column(self) -> None:
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(documents)")}
        if "problem" in columns:
            return
        self._conn.execute("ALTER TABLE documents ADD COLUMN problem TEXT NOT NULL DEFAULT ''")
        for problem, pattern in _PROBLEMS_IN_OLD_MESSAGES:
            self._conn.execute(
                "UPDATE documents SET problem = ? WHERE problem = '' AND status IN (?, ?)"
                " AND message LIKE ?",
                (problem, DocumentStatus.NEEDS_ATTENTION, DocumentStatus.FAILED, pattern),
            )

    def _add_heading_column(self) -> None:
        """Libraries from before headings were read: their documents' headings are NULL, not
        looked for yet, so that the library can read them later (``Library.read_headings``)
        without indexing anything again; until then they are called by their metadata title
        or file name."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(documents)")}
        if "heading" not in columns:
            self._conn.execute("ALTER TABLE documents ADD COLUMN heading TEXT")


# Shown as they are: a newline or a right-to-left override in a file name (which can make
# "fdp.exe" read "exe.pdf") is kept as a visible escape, never acted on.
_SHOWN_AS_TEXT = frozenset({"name", "message", "title", "heading"})


def _stored(value: object, shown: bool = False) -> object:
    if shown and isinstance(value, str):
        return terminal_text(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, DocumentStatus | Problem):
        return str(value)
    return value


def _record(row: tuple[Any, ...]) -> DocumentRecord:
    (
        identifier,
        path,
        name,
        title,
        size,
        pages,
        chunks,
        status,
        message,
        added,
        indexed,
        problem,
        heading,
    ) = row
    return DocumentRecord(
        id=str(identifier),
        path=Path(str(path)),
        name=str(name),
        title=str(title),
        size=int(size),
        pages=int(pages),
        chunks=int(chunks),
        status=DocumentStatus(str(status)),
        message=str(message),
        added_at=float(added),
        indexed_at=float(indexed) if indexed is not None else None,
        problem=Problem(str(problem)) if problem in _PROBLEMS else None,
        heading=str(heading) if heading is not None else None,
    )


def _with_presence(record: DocumentRecord) -> DocumentRecord:
    present = record.path.exists()
    if present:
        return record
    if record.status == DocumentStatus.READY:
        return replace(
            record,
            present=False,
            status=DocumentStatus.MISSING,
            message=f"“{record.name}” was moved or deleted; its passages can still be "
            "found, but not opened.",
        )
    return replace(record, present=False)
