"""No egress, proven: ``folio index``, ``folio ask --docs`` and the window, each run in a
network namespace with no interfaces and under a trace of every ``connect``, ``bind``,
``listen``, ``sendto`` and ``sendmsg``: no connection leaves the machine and nothing listens.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import REPO_ROOT
from tests.support.documents import make_pdf
from tests.support.hostile import GOOD_TEXT

_CALLS = "connect,bind,listen,sendto,sendmsg"
_INET = re.compile(
    r'sa_family=AF_INET6?,.*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")'
)


def _can_isolate() -> bool:
    if shutil.which("strace") is None or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(
    not _can_isolate(), reason="needs strace and unshare -n (a network namespace)"
)


# No network interfaces at all, and every call that could reach one written down.
_ISOLATED_AND_TRACED = ("unshare", "-n", "strace", "-f", "-qq", "-e", f"trace={_CALLS}")


def _traced(home: Path, trace: Path, *args: str, window: bool = False) -> str:
    env = {**os.environ, "FOLIO_HOME": str(home)}
    if window:
        env["QT_QPA_PLATFORM"] = "offscreen"
        env["FOLIO_STARTUP_REPORT"] = str(home / "startup.json")
    else:
        env.pop("QT_QPA_PLATFORM", None)
    run = subprocess.run(
        [*_ISOLATED_AND_TRACED, "-o", str(trace), sys.executable, "-m", "desktop", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return trace.read_text()


def _outside_and_listening(trace: str) -> tuple[list[str], list[str]]:
    outside, listening = [], []
    for line in trace.splitlines():
        if re.search(r"\blisten\(", line):
            listening.append(line)
        if not re.search(r"\b(connect|sendto|sendmsg)\(", line):
            continue
        for v4, v6 in _INET.findall(line):
            address = v4 or v6
            if not (address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")):
                outside.append(line)
    return outside, listening


def test_index_ask_and_the_window_open_no_outside_connection(tmp_path: Path) -> None:
    home = tmp_path / "home"
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "harbour.pdf", [GOOD_TEXT, "The ferry timetable changes in May."])

    traces = {
        "index": _traced(home, tmp_path / "index.trace", "index", str(docs)),
        "ask": _traced(
            home,
            tmp_path / "ask.trace",
            "ask",
            "--docs",
            "all",
            "--max-tokens",
            "16",
            "What did the committee approve?",
        ),
        "window": _traced(home, tmp_path / "window.trace", window=True),
    }

    for name, trace in traces.items():
        outside, listening = _outside_and_listening(trace)
        assert outside == [], f"{name} tried to reach outside: {outside[:3]}"
        assert listening == [], f"{name} listened: {listening[:3]}"
    assert (home / "startup.json").exists(), "the window opened, loaded and quit"


def test_the_trace_would_see_a_connection() -> None:
    """The check is not blind: a program that connects out is caught (in the namespace the
    connection fails, but the attempt is traced)."""
    script = (
        "import socket\n"
        "try:\n    socket.create_connection(('192.0.2.1', 80), 1)\n"
        "except OSError:\n    pass\n"
    )
    run = subprocess.run(
        [*_ISOLATED_AND_TRACED, sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    outside, _ = _outside_and_listening(run.stderr)
    assert outside, run.stderr


_NETWORK_MODULES = re.compile(
    # urllib.parse only reads strings; every other part of these opens connections.
    r"^\s*(?:import|from)\s+(socket|ssl|http|urllib(?!\.parse)|httpx|requests|aiohttp|websocket)\b",
    re.MULTILINE,
)


def test_only_the_model_downloader_touches_the_network() -> None:
    """One module may open a connection, the one behind a download the user starts."""
    reaching = sorted(
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "desktop").rglob("*.py")
        if _NETWORK_MODULES.search(path.read_text(encoding="utf-8"))
    )
    assert reaching == ["desktop/core/models/transfer.py"]
