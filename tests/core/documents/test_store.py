"""The documents table: libraries written by older versions open, and say what they said."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from desktop.core.documents.extract import Problem
from desktop.core.documents.records import DocumentStatus
from desktop.core.documents.store import DocumentStore

# The table as the first libraries wrote it: no problem column, no heading.
FIRST_SCHEMA = """
CREATE TABLE documents (
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
    indexed_at REAL
)
"""
# The table once problems had a column of their own, before headings were read.
PROBLEM_SCHEMA = FIRST_SCHEMA.replace(
    "indexed_at REAL\n", "indexed_at REAL,\n    problem TEXT NOT NULL DEFAULT ''\n"
)


def old_library(folder: Path, schema: str) -> sqlite3.Connection:
    """A library file an older Folio wrote: a 10-K whose title field held its accession
    number, and a protected PDF."""
    report = folder / "AMAZON_2017_10K.pdf"
    report.write_bytes(b"%PDF-1.4")
    secret = folder / "statement.pdf"
    secret.write_bytes(b"%PDF-1.4")
    connection = sqlite3.connect(folder / "library.sqlite3", check_same_thread=False)
    with connection:
        connection.execute(schema)
        connection.execute(
            "INSERT INTO documents (id, path, name, title, size, pages, chunks, status, message,"
            " added_at, indexed_at) VALUES ('a', ?, ?, '0001018724-18-000005', 8, 85, 610,"
            " 'ready', '', 1.0, 2.0)",
            (str(report), report.name),
        )
        connection.execute(
            "INSERT INTO documents (id, path, name, title, size, status, message, added_at)"
            " VALUES ('b', ?, ?, 'statement', 8, 'needs_attention',"
            " '“statement.pdf” is protected with a password.', 3.0)",
            (str(secret), secret.name),
        )
        if "problem" in schema:
            connection.execute("UPDATE documents SET problem = 'password' WHERE id = 'b'")
    return connection


@pytest.mark.parametrize("schema", [FIRST_SCHEMA, PROBLEM_SCHEMA], ids=["first", "problem"])
def test_a_library_from_before_headings_opens_with_its_documents_as_they_were(
    tmp_path: Path, schema: str
) -> None:
    connection = old_library(tmp_path, schema)
    try:
        store = DocumentStore(connection, threading.RLock())
        report, secret = store.all()

        columns = {row[1] for row in connection.execute("PRAGMA table_info(documents)")}
        assert {"problem", "heading"} <= columns
        assert (report.status, report.pages, report.chunks) == (DocumentStatus.READY, 85, 610)
        # Not looked for yet: the library reads it later, without indexing again.
        assert report.heading is None and secret.heading is None
        # The accession number in its title field is known for junk now.
        assert report.display_title == "AMAZON 2017 10K"
        assert secret.problem == Problem.PASSWORD and secret.needs_password

        # What indexing finds is kept, and shown from then on.
        updated = store.update("a", heading="AMAZON.COM, INC.")
        assert updated is not None and updated.display_title == "AMAZON.COM, INC."
        assert store.get("a") == updated

        # Opening it again changes nothing more.
        again = DocumentStore(connection, threading.RLock())
        assert again.all() == store.all()
    finally:
        connection.close()


def test_a_heading_looked_for_and_not_found_is_told_apart_from_one_not_looked_for(
    tmp_path: Path,
) -> None:
    connection = sqlite3.connect(tmp_path / "library.sqlite3", check_same_thread=False)
    try:
        store = DocumentStore(connection, threading.RLock())
        path = tmp_path / "letter.pdf"
        path.write_bytes(b"%PDF-1.4")
        store.insert("c", path, 8)

        new = store.get("c")
        assert new is not None and new.heading is None

        found = store.update("c", heading="")
        assert found is not None and found.heading == "" and found.display_title == "letter"
        assert store.get("c") == found
    finally:
        connection.close()
