"""``folio bench``: Folio's speed side by side with a reference measured in the same run.

The benchmarks live in ``benchmarks/`` beside the package (a checkout, not an installed app);
each prints its figures and writes them to ``NAME.json`` in the output folder.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from desktop.core.paths import AppPaths

REPO = Path(__file__).resolve().parents[1]
# In the order they run: the quick ones first.
BENCHMARKS = ("startup", "retrieval", "download", "generation", "ttft", "embed", "ingest", "ui")


def add_parser(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    bench = commands.add_parser(
        "bench",
        help="Run benchmarks, each against a reference measured in the same run.",
    )
    bench.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"Which to run (default: all): {', '.join(BENCHMARKS)}.",
    )
    bench.add_argument("--json", action="store_true", help="Print the results as one JSON list.")
    bench.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "results",
        help="Where each NAME.json goes (default: benchmarks/results).",
    )


def run(args: argparse.Namespace, _paths: AppPaths) -> int:
    from desktop.cli import UsageError

    names = list(args.names) or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise UsageError(
            f"no benchmark called {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    try:
        common = importlib.import_module("benchmarks.common")
    except ImportError:
        raise UsageError(
            "the benchmarks come with a checkout of Folio's source; run this from one"
        ) from None
    results: list[dict[str, Any]] = []
    args.out.mkdir(parents=True, exist_ok=True)
    unavailable: list[str] = []
    for name in names:
        print(f"folio bench: running {name}…", file=sys.stderr)
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            result = module.run().to_json()
        except common.ReferenceUnavailableError as exc:
            # No ratio against nothing: say why, and go on with the others.
            print(f"folio bench: {name} not run: {exc}", file=sys.stderr)
            unavailable.append(name)
            continue
        (args.out / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        results.append(result)
        if not args.json:
            _print(result)
    if args.json:
        print(json.dumps(results, indent=2))
    if unavailable:
        return 4
    return 0


def _print(result: dict[str, Any]) -> None:
    print(f"{result['benchmark']}:")
    for name, value in result["ratios"].items():
        print(f"  {name} = {value}")
    for name, goal in result["goals"].items():
        verdict = "met" if goal["met"] else "MISSED"
        print(f"  goal {name}: {goal['measured']} (target {goal['target']}) {verdict}")
