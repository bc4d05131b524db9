"""``folio self-test``: the whole install checked end to end, offline, and a failure named."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import selftest
from desktop.core.paths import app_paths
from tests.support.cli import REPO_ROOT

CHECKS = ["chat model", "embedding model", "index a PDF", "answer with a citation", "window"]


def _without_network() -> list[str]:
    """``unshare -n``: a network namespace with no interfaces, where this user may make one."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True, check=False)
    return [unshare, "-n"] if probe.returncode == 0 else []


def test_every_check_passes_and_is_reported_with_its_time(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "FOLIO_HOME": str(home)}
    env.pop("QT_QPA_PLATFORM", None)
    done = subprocess.run(
        [*_without_network(), sys.executable, "-m", "desktop", "self-test"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert [check["name"] for check in report["checks"]] == CHECKS
    assert all(check["ok"] and check["seconds"] > 0 for check in report["checks"])
    answer = next(check for check in report["checks"] if check["name"] == CHECKS[3])
    assert "page 2" in answer["detail"]
    assert "all 5 checks passed" in done.stderr
    # Nothing of the user's: the data folder holds no library, chats or models.
    assert not (home / "data" / "library").exists()
    assert not (home / "data" / "conversations.sqlite3").exists()


def test_a_failed_check_is_named_the_rest_that_need_it_skipped_and_the_exit_is_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(selftest, "starter_model_path", lambda: None)
    paths = app_paths({"FOLIO_HOME": str(tmp_path)})
    code = selftest.run(argparse.Namespace(), paths)
    out, err = capsys.readouterr()
    report = json.loads(out)
    by_name = {check["name"]: check for check in report["checks"]}
    assert code == 1
    assert report["ok"] is False
    assert by_name["chat model"]["ok"] is False
    assert "not part of this install" in by_name["chat model"]["detail"]
    assert by_name["answer with a citation"]["skipped"] is True
    assert by_name["index a PDF"]["ok"] is True
    assert "failed: chat model: the starter chat model is not part of this install" in err
    assert "Traceback" not in err
