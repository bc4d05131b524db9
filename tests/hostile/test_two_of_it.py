"""Two of it on one data folder: one writer, refused writers told who holds it, readers served
beside a writer without writing, and child processes that die with their parent."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from desktop.core.locks import WINDOW, FolderBusyError, WriterLock, is_locked, read_holder
from tests.support.cli import REPO_ROOT, folio
from tests.support.documents import make_pdf
from tests.support.hostile import GOOD_TEXT


def _hold_lock(data: Path, program: str) -> subprocess.Popen[str]:
    """Another process holding the writer lock of ``data`` until it is killed."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from desktop.core.locks import WriterLock
        WriterLock(Path({str(data)!r}), {program!r}).acquire()
        print("held", flush=True)
        time.sleep(600)
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def _end(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def test_the_lock_names_its_holder_and_goes_with_its_process(tmp_path: Path) -> None:
    holder = _hold_lock(tmp_path, "“folio index”")
    try:
        assert is_locked(tmp_path)
        with pytest.raises(FolderBusyError) as refused:
            WriterLock(tmp_path, WINDOW).acquire()
        assert f"“folio index” (process {holder.pid}" in str(refused.value)
        assert read_holder(tmp_path / "folio.lock") is not None
    finally:
        _end(holder)  # SIGKILL: no chance to let go of anything
    lock = WriterLock(tmp_path, WINDOW)
    lock.acquire()  # never stale: the kernel let go with the process
    lock.release()
    assert not is_locked(tmp_path)


def test_a_second_window_is_told_folio_is_running(tmp_path: Path) -> None:
    holder = _hold_lock(tmp_path, WINDOW)
    try:
        with pytest.raises(FolderBusyError, match="Folio is already running"):
            WriterLock(tmp_path, WINDOW).acquire()
    finally:
        _end(holder)


@pytest.fixture
def indexed_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "harbour.pdf", [GOOD_TEXT, "The ferry timetable changes in May."])
    run = folio("index", str(docs), home=home)
    assert run.returncode == 0, run.stderr
    return home


def test_index_is_refused_while_another_writer_holds_the_folder(
    indexed_home: Path, tmp_path: Path
) -> None:
    holder = _hold_lock(indexed_home / "data", WINDOW)
    try:
        make_pdf(tmp_path / "more.pdf", ["Another page about the harbour budget."])
        run = folio("index", str(tmp_path / "more.pdf"), home=indexed_home)
    finally:
        _end(holder)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("folio: error: The Folio window is open on this data folder")
    assert f"process {holder.pid}" in line


def test_readers_are_served_beside_a_writer_and_write_nothing(indexed_home: Path) -> None:
    database = indexed_home / "data" / "library" / "library.sqlite3"
    # The writer is in the middle of indexing this document.
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE documents SET status = 'embedding'")
    connection.close()
    holder = _hold_lock(indexed_home / "data", "“folio index”")
    try:
        listed = folio("library", "--json", home=indexed_home)
        found = folio("search", "harbour budget", "--json", home=indexed_home)
    finally:
        _end(holder)
    assert listed.returncode == 0, listed.stderr
    assert found.returncode == 0, found.stderr
    assert '"status": "embedding"' in listed.stdout, "the writer's journal is left as it is"
    assert "harbour.pdf" in found.stdout
    with sqlite3.connect(database) as connection:
        [(status, message)] = connection.execute("SELECT status, message FROM documents")
    connection.close()
    assert (status, message) == ("embedding", "")


def test_a_reader_with_nobody_writing_tidies_an_interrupted_run(indexed_home: Path) -> None:
    database = indexed_home / "data" / "library" / "library.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE documents SET status = 'extracting'")
    connection.close()

    listed = folio("library", home=indexed_home)

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("queued")


_WORKER_SCRIPT = """
import multiprocessing.resource_tracker as tracker, sys, time
from pathlib import Path
from desktop.core.documents.extraction_process import ExtractionWorker, ExtractJob
from desktop.core.documents.vector_process import VectorProcess
vectors = VectorProcess(Path(sys.argv[2]))
worker = ExtractionWorker()
worker.pause()  # it waits between pages, alive, as a worker on a long document does
worker.submit(ExtractJob("doc", Path(sys.argv[1]), "long.pdf"))
while worker.next_message(5.0) is None:
    pass
print(worker.pid(), tracker._resource_tracker._pid, vectors.pid(), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (ended, not yet reaped by init) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_child_processes_die_with_their_parent(tmp_path: Path, signal_number: int) -> None:
    long = make_pdf(tmp_path / "long.pdf", [f"Page {n}. {GOOD_TEXT}" for n in range(40)])
    parent = subprocess.Popen(
        [sys.executable, "-c", _WORKER_SCRIPT, str(long), str(tmp_path / "vectors")],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    worker_pid, tracker_pid, vectors_pid = (int(v) for v in parent.stdout.readline().split())
    assert _alive(worker_pid) and _alive(tracker_pid) and _alive(vectors_pid)

    parent.send_signal(signal_number)
    parent.wait()
    parent.stdout.close()

    deadline = time.monotonic() + 20
    children = (worker_pid, tracker_pid, vectors_pid)
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker_pid), "the reader outlived its parent"
    assert not _alive(vectors_pid), "the vector store outlived its parent"
    assert not _alive(tracker_pid), "multiprocessing's resource tracker outlived it"
