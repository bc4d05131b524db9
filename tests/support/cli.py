"""``folio`` run the way a user runs it: a process of its own, one data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def folio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FOLIO_HOME": str(home)}
    env.pop("QT_QPA_PLATFORM", None)
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def assert_one_line_error(run: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("folio: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert run.stdout == ""


def write_settings(home: Path, text: str) -> None:
    settings = home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(text, encoding="utf-8")
