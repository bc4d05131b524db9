"""A full disk during indexing (a real, small tmpfs): one clear line, the commands that only
read keep working while the disk is full, nothing already indexed is lost, and once there is
room again the same command finishes the job."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import folio
from tests.support.documents import make_pdf
from tests.support.hostile import GOOD_TEXT


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[Path]:
    folder.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("this machine cannot mount a small disk (tmpfs)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def _fill(disk: Path) -> Path:
    """Every free byte of ``disk`` taken by one file."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for block in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * block)
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_during_indexing_loses_nothing(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    make_pdf(first / "harbour.pdf", [GOOD_TEXT])
    more = tmp_path / "more"
    more.mkdir()
    for number in range(6):
        make_pdf(
            more / f"report-{number}.pdf",
            [f"Report {number} page {page}: ferries, piers and fares. " * 40 for page in range(30)],
        )
    with small_disk(tmp_path / "disk", 300) as home:
        assert folio("index", str(first), home=home).returncode == 0
        filler = _fill(home)

        full = folio("index", str(more), home=home)
        listed = folio("library", home=home)
        found = folio("search", "harbour budget", home=home)

        filler.unlink()
        again = folio("index", str(more), home=home)
        final = folio("library", "--json", home=home)

    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr
    assert "disk" in full.stderr and "full" in full.stderr, full.stderr
    assert listed.returncode == 0, listed.stderr
    assert "harbour.pdf" in listed.stdout and listed.stdout.startswith("ready")
    assert found.returncode == 0, found.stderr
    assert "harbour.pdf" in found.stdout
    assert again.returncode == 0, again.stderr
    assert final.stdout.count('"status": "ready"') == 7
