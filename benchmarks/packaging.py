"""Packaging: the size of what a user installs, by part, the frozen program's start against this
checkout's Python install (interleaved, in the same run), and how long the build took.

Reads what ``python packaging/build.py`` made (``dist/folio/``, the .deb and
``build/build-report.json``); without a build, it says so and is not run (exit 4), because a
benchmark should not spend minutes building as a side effect.

    python -m benchmarks.packaging [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import REPO, BenchResult, Goal
from benchmarks.startup import run_frozen

SIZE_GOAL_MB = 400.0
EXIT_REFERENCE_UNAVAILABLE = 4
BUNDLE = REPO / "dist" / "folio"
REPORT = REPO / "build" / "build-report.json"


def _mb(size: float) -> float:
    return round(size / 1e6, 1)


def _deb_installed_kib(deb: Path) -> int:
    done = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Installed-Size"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def run(rounds: int) -> BenchResult:
    sys.path.insert(0, str(REPO / "packaging"))
    import deb

    report = json.loads(REPORT.read_text(encoding="utf-8"))
    bundle_bytes = deb.tree_size(BUNDLE)
    parts = deb.size_by_part(BUNDLE)
    result = BenchResult("packaging")
    result.figures = {
        "bundle_mb": _mb(bundle_bytes),
        "bundle_parts_mb": {name: _mb(size) for name, size in parts.items()},
        "freeze_s": report.get("freeze_seconds"),
        "deb_s": report.get("deb_seconds"),
        "build_total_s": report.get("total_seconds"),
    }
    installed = bundle_bytes
    package = Path(report["deb"]) if report.get("deb") else None
    if package is not None and package.is_file():
        installed = _deb_installed_kib(package) * 1024
        result.figures["deb_download_mb"] = _mb(package.stat().st_size)
        result.figures["deb_installed_mb"] = _mb(installed)
    started = run_frozen(BUNDLE / "folio", rounds)
    result.figures |= started.figures
    result.ratios = dict(started.ratios)
    result.goals = {
        "installed_mb": Goal(SIZE_GOAL_MB, _mb(installed), "at_most"),
        **started.goals,
    }
    result.notes.append(
        "Sizes in decimal MB (10^6 bytes), as dpkg's Installed-Size counts them (KiB × 1024). "
        "Build times are from the last packaging/build.py run on this machine."
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (BUNDLE / "folio").is_file() or not REPORT.is_file():
        print(
            "packaging: there is no build to measure; run python packaging/build.py first",
            file=sys.stderr,
        )
        return EXIT_REFERENCE_UNAVAILABLE
    result = run(args.rounds)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(json.dumps(result.figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
