"""What every benchmark reports, in one shape.

    {"benchmark": NAME, "machine": {...}, "figures": {...}, "ratios": {...},
     "goals": {GOAL: {"target": x, "measured": y, "met": bool}}}

Figures are medians of interleaved runs (A B A B), and each benchmark pairs Folio with a
reference measured in the same run, because these machines are shared and absolute times drift.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PDFS = REPO.parent / "shared" / "eval" / "pdfs"


class ReferenceUnavailableError(RuntimeError):
    """The reference cannot run here (no compiler, no peer); no ratio against nothing."""


@dataclass(frozen=True)
class Goal:
    target: float
    measured: float
    # "at_most" (a time, a stall, memory) or "at_least" (a rate, a ratio).
    direction: str = "at_least"

    @property
    def met(self) -> bool:
        if self.direction == "at_most":
            return self.measured <= self.target
        return self.measured >= self.target

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "measured": round(self.measured, 4), "met": self.met}


@dataclass
class BenchResult:
    benchmark: str
    figures: dict[str, Any] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    goals: dict[str, Goal] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "machine": machine(),
            "figures": self.figures,
            "ratios": {name: round(value, 4) for name, value in self.ratios.items()},
            "goals": {name: goal.to_json() for name, goal in self.goals.items()},
            "notes": self.notes,
        }


def machine() -> dict[str, Any]:
    memory = 0
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    model = ""
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory / 1e9, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "executable": sys.executable,
    }


def interleaved(rounds: int, *runs: Callable[[], float]) -> list[list[float]]:
    """Each callable once per round, in turn (A B A B …); their measurements by callable."""
    measured: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for index, run in enumerate(runs):
            measured[index].append(run())
    return measured


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return float(ordered[index])


def print_result(name: str, measure: Callable[[], BenchResult], as_json: bool) -> int:
    """A benchmark's command line: its result as JSON, or why its reference could not run
    (exit 4, never a ratio against nothing)."""
    import json

    try:
        result = measure()
    except ReferenceUnavailableError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 4
    print(json.dumps(result.to_json(), indent=None if as_json else 2))
    return 0
