"""``folio bench``: Folio's speed side by side with a reference measured in the same run.

The benchmarks live in ``benchmarks/`` of a source checkout, not in the installed app. Each
runs in a process of its own (``python -m benchmarks.NAME --json`` in the checkout), so one
benchmark's models and threads never weigh on the next one's figures; each result is printed
and written to ``NAME.json`` in the output folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from desktop.cli import parsers
from desktop.cli.errors import EXIT_REFERENCE_UNAVAILABLE, CommandError, UsageError
from desktop.core.paths import AppPaths

# The source checkout this package was installed from (editable), where ``benchmarks/`` is.
CHECKOUT = Path(__file__).resolve().parents[2]


def run(args: argparse.Namespace, _paths: AppPaths) -> int:
    names = list(args.names) or list(parsers.BENCHMARKS)
    unknown = [name for name in names if name not in parsers.BENCHMARKS]
    if unknown:
        raise UsageError(
            f"no benchmark called {', '.join(unknown)}; choose from {', '.join(parsers.BENCHMARKS)}"
        )
    if not (CHECKOUT / "benchmarks" / "common.py").is_file():
        raise UsageError("the benchmarks come with a checkout of Folio's source; run this from one")
    out: Path = args.out or CHECKOUT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    unavailable: list[str] = []
    for name in names:
        print(f"folio bench: running {name}…", file=sys.stderr, flush=True)
        result = _run_one(name)
        if result is None:
            unavailable.append(name)
            continue
        (out / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        results.append(result)
        if not args.json:
            _print(result)
    if args.json:
        print(json.dumps(results, indent=2))
    return EXIT_REFERENCE_UNAVAILABLE if unavailable else 0


def _run_one(name: str) -> dict[str, Any] | None:
    """The benchmark's result, or None (having said why) when its reference cannot run here.

    Its progress lines go on to stderr as they come; the last one says why, when it stops.
    """
    # The result goes to a file rather than a pipe, so that reading the progress lines as they
    # come can never wait on a full pipe of results.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        with subprocess.Popen(
            [sys.executable, "-m", f"benchmarks.{name}", "--json"],
            cwd=CHECKOUT,
            stdout=output,
            stderr=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stderr is not None
            last = ""
            for line in child.stderr:
                sys.stderr.write(line)
                last = line.strip() or last
        code = child.returncode
        output.seek(0)
        printed = output.read()
    if code == EXIT_REFERENCE_UNAVAILABLE:
        # No ratio against nothing: say why, and go on with the others.
        reason = last.removeprefix(f"{name}:").strip()
        print(f"folio bench: {name} not run: {reason}", file=sys.stderr)
        return None
    if code != 0:
        raise CommandError(
            f"the {name} benchmark failed (exit code {code}); its messages are above"
        )
    result: dict[str, Any] = json.loads(printed)
    return result


def _print(result: dict[str, Any]) -> None:
    print(f"{result['benchmark']}:")
    for name, value in result["ratios"].items():
        print(f"  {name} = {value}")
    for name, goal in result["goals"].items():
        verdict = "met" if goal["met"] else "MISSED"
        print(f"  goal {name}: {goal['measured']} (target {goal['target']}) {verdict}")
