"""The architecture guard, the linter and the type checker are part of the test suite, so the
README's one test command is also what keeps the code clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

CHECKS = {
    "import contracts: layers, no cycles": ["lint-imports"],
    "ruff lint": ["ruff", "check", "."],
    "ruff format": ["ruff", "format", "--check", "."],
    "mypy": ["mypy"],
}


@pytest.mark.parametrize("command", CHECKS.values(), ids=CHECKS.keys())
def test_code_is_clean(command: list[str]) -> None:
    executable = BIN / command[0]
    assert executable.exists(), (
        f"{command[0]} is missing: install the dev extra (pip install -e '.[dev]')"
    )
    result = subprocess.run(
        [str(executable), *command[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
