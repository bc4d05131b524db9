"""Facts about this machine that several areas plan with: its cores and its free memory."""

from __future__ import annotations

import os
from pathlib import Path

# Decimal gigabytes, as file sizes are shown everywhere else.
_GB = 1000**3


def physical_cores(cpuinfo: Path = Path("/proc/cpuinfo")) -> int:
    logical = os.cpu_count() or 1
    try:
        text = cpuinfo.read_text()
    except OSError:
        return logical
    cores: set[tuple[str, str]] = set()
    physical_id = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical_id = value.strip()
        elif key == "core id":
            cores.add((physical_id, value.strip()))
    return min(len(cores), logical) if cores else logical


def default_threads() -> int:
    """Physical cores minus one, at least one.

    llama.cpp's threads meet at a barrier after every layer, so if one of them is preempted the
    others spin until it runs again. Using every core leaves none for the window (and the OS):
    measured on a 2-core machine, 2 threads fell from ~120 to under 4 tokens/s while the window
    was busy, where 1 thread held ~85.
    """
    return max(1, physical_cores() - 1)


def available_memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int:
    """MemAvailable on Linux (free + reclaimable cache); physical pages elsewhere."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * _GB
