"""``folio bench``: what it refuses, and the one shape every benchmark reports in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.common import BenchResult, Goal, percentile
from desktop.cli import bench, parsers
from desktop.cli.main import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_an_unknown_benchmark_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["bench", "warp-speed"]) == 2
    assert "no benchmark called warp-speed" in capsys.readouterr().err


def test_a_benchmark_without_its_reference_says_why_and_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A checkout whose one benchmark cannot find its reference, in the shape they all share.
    checkout = tmp_path / "checkout"
    (checkout / "benchmarks").mkdir(parents=True)
    (checkout / "benchmarks" / "__init__.py").write_text("")
    (checkout / "benchmarks" / "common.py").write_text(
        (REPO / "benchmarks" / "common.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (checkout / "benchmarks" / "no_reference.py").write_text(
        "import sys\n"
        "from benchmarks.common import ReferenceUnavailableError, print_result\n"
        "def run():\n"
        "    raise ReferenceUnavailableError('building llama-bench needs cmake')\n"
        "sys.exit(print_result('no_reference', run, '--json' in sys.argv))\n"
    )
    monkeypatch.setattr(bench, "CHECKOUT", checkout)
    monkeypatch.setattr(parsers, "BENCHMARKS", (*parsers.BENCHMARKS, "no_reference"))
    out = tmp_path / "results"
    assert run_cli(["bench", "no_reference", "--out", str(out)]) == 4
    assert "no_reference not run: building llama-bench needs cmake" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_every_result_has_the_one_shape() -> None:
    result = BenchResult("example", figures={"a": 1}, ratios={"x_vs_y": 0.91234})
    result.goals = {"fast": Goal(50.0, 42.0, "at_most"), "ratio": Goal(0.95, 0.91234)}
    shown = result.to_json()
    assert {"benchmark", "machine", "figures", "ratios", "goals"} <= set(shown)
    assert shown["goals"] == {
        "fast": {"target": 50.0, "measured": 42.0, "met": True},
        "ratio": {"target": 0.95, "measured": 0.9123, "met": False},
    }
    assert shown["machine"]["cores"] == os.cpu_count()
    json.dumps(shown)  # numpy floats would fail here
    assert percentile([5, 1, 4, 2, 3], 0.5) == 3
    assert percentile([5, 1, 4, 2, 3], 0.95) == 5


def test_the_startup_probe_reports_and_quits(tmp_path: Path) -> None:
    report = tmp_path / "startup.json"
    environment = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "FOLIO_HOME": str(tmp_path / "home"),
        "FOLIO_STARTUP_REPORT": str(report),
    }
    subprocess.run(
        [sys.executable, "-m", "desktop"], env=environment, cwd=REPO, check=True, timeout=240
    )
    figures = json.loads(report.read_text())
    assert figures["loaded_at"] >= figures["ready_at"] > 0
    assert figures["rss_loaded_bytes"] > figures["rss_idle_bytes"] > 0
