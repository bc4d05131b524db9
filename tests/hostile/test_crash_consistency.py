"""Kill -9 at many points, SQLite-style: at each named point between two writes, and at
seeded random moments, then check every store, rerun, and check again.

Each kill leaves: a conversation store that passes ``PRAGMA integrity_check`` and holds every
message whose write had returned; no document listed ready that is not complete; a settings
file that parses; no partial model listed. The rerun finishes everything, and then the
keyword index and Chroma agree passage for passage. The fast subset runs in CI; ``-m slow``
runs at least 100 kill points.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.core import faults
from desktop.core.documents.vector_index import ChromaVectors
from desktop.core.models.registry import scan
from desktop.core.settings.store import load_settings
from tests.support.cli import REPO_ROOT
from tests.support.crash_driver import COMPLETED_LOG
from tests.support.documents import make_pdf

SEEDED_KILLS_FAST = 4
SEEDED_KILLS_FULL = 100


def _documents(folder: Path, count: int = 4) -> Path:
    folder.mkdir()
    for number in range(count):
        make_pdf(
            folder / f"report-{number}.pdf",
            [
                f"Report {number}, page {page}: the harbour board met about ferry fares, the "
                f"budget for pier {page} and the timetable for the winter season. " * 3
                for page in range(1, 9)
            ],
        )
    return folder


def _drive(home: Path, docs: Path, kill_at: str = "", kill_after: float | None = None) -> int:
    env = {**os.environ, "FOLIO_HOME": str(home), "FOLIO_KILL_AT": kill_at}
    env.pop("QT_QPA_PLATFORM", None)
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.support.crash_driver", str(home), str(docs)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if kill_after is not None:
        try:
            driver.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            driver.send_signal(signal.SIGKILL)
    _, err = driver.communicate(timeout=300)
    assert driver.returncode in (0, -signal.SIGKILL), err
    return driver.returncode


def _check_after_a_kill(home: Path) -> None:
    data = home / "data"
    conversations = data / "conversations.sqlite3"
    if conversations.exists():
        connection = sqlite3.connect(conversations)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            kept = {
                row[0]: (row[1], row[2])
                for row in connection.execute("SELECT id, status, content FROM messages")
            }
        finally:
            connection.close()
        completed = home / COMPLETED_LOG
        written = completed.read_text().split() if completed.exists() else []
        for message_id in map(int, written):
            assert message_id in kept, f"message {message_id} was lost"
            assert kept[message_id][0] == "complete" and kept[message_id][1]
    settings = home / "config" / "settings.toml"
    if settings.exists():
        assert load_settings(settings).problems == ()
    entries, unusable = scan(data / "models")
    assert unusable == []
    assert all(entry.path.suffix == ".gguf" for entry in entries)
    _check_library(data / "library", finished=False)


def _check_library(folder: Path, finished: bool) -> None:
    database = folder / "library.sqlite3"
    if not database.exists():
        assert not finished
        return
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if "documents" not in tables:
            # Killed between creating the file and its first table: an empty library.
            assert not finished
            return
        documents = connection.execute("SELECT id, status, chunks FROM documents").fetchall()
        chunks: dict[str, set[str]] = {}
        for chunk_id, document_id in connection.execute("SELECT id, document_id FROM chunks"):
            chunks.setdefault(document_id, set()).add(chunk_id)
    finally:
        connection.close()
    stored = set(ChromaVectors(folder / "vectors", writable=False).ids())
    for document_id, status, count in documents:
        if status == "ready":
            ids = chunks.get(document_id, set())
            assert len(ids) == count, "a document listed ready is missing passages"
            assert ids <= stored, "a document listed ready is missing vectors"
    if finished:
        assert {status for _, status, _ in documents} == {"ready"}
        every = set().union(*chunks.values()) if chunks else set()
        assert every == stored, "the keyword index and Chroma disagree"


def _kill_and_recover(home: Path, docs: Path, **kill: object) -> int:
    code = _drive(home, docs, **kill)  # type: ignore[arg-type]
    _check_after_a_kill(home)
    assert _drive(home, docs) == 0  # the rerun finishes what the kill left
    _check_after_a_kill(home)
    _check_library(home / "data" / "library", finished=True)
    return code


# Passed once per run (the small library is one batch of vectors): killed at the first pass.
# The others at the second, when something before them was already written.
_ONCE_PER_RUN = (faults.SETTINGS_RENAME, faults.DOWNLOAD_RENAME, faults.VECTORS_WRITTEN)


@pytest.mark.parametrize("point", faults.POINTS)
def test_a_kill_at_each_named_point_loses_nothing(tmp_path: Path, point: str) -> None:
    docs = _documents(tmp_path / "docs")
    passes = 1 if point in _ONCE_PER_RUN else 2
    code = _kill_and_recover(tmp_path / "home", docs, kill_at=f"{point}:{passes}")
    assert code == -signal.SIGKILL, f"the run never reached {point}"


def _seeded_kills(tmp_path: Path, count: int, seed: int) -> None:
    docs = _documents(tmp_path / "docs")
    schedule = random.Random(seed)
    home = tmp_path / "home"
    started = time.monotonic()
    _drive(home, docs)  # one uninterrupted run, to know how long a run takes
    run_seconds = time.monotonic() - started
    for kill in range(count):
        home = tmp_path / f"home-{kill}"
        _kill_and_recover(home, docs, kill_after=schedule.uniform(0.2, run_seconds))


def test_kills_at_seeded_random_moments_lose_nothing(tmp_path: Path) -> None:
    _seeded_kills(tmp_path, SEEDED_KILLS_FAST, seed=15)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_hundred_kills_at_seeded_random_moments_lose_nothing(tmp_path: Path) -> None:
    _seeded_kills(tmp_path, SEEDED_KILLS_FULL, seed=1515)
