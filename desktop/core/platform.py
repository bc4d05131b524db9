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


# What Qt's window needs from the system, by the Debian/Ubuntu package that has each: Qt's
# own message when one is missing names only the first (or just the platform plugin), and then
# aborts. The xcb libraries are needed only on an X11 display.
QT_SYSTEM_LIBRARIES = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",
}
XCB_SYSTEM_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def missing_window_libraries(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The system libraries Qt's window would fail to load here, each with its package; empty
    off Linux and when nothing is missing. Each is opened as the loader would open it (a copy
    inside a frozen program counts)."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return {}
    env = os.environ if environ is None else environ
    wanted = dict(QT_SYSTEM_LIBRARIES)
    platform_name = env.get("QT_QPA_PLATFORM", "")
    if platform_name.startswith("xcb") or (not platform_name and not env.get("WAYLAND_DISPLAY")):
        wanted |= XCB_SYSTEM_LIBRARIES
    bundled = Path(getattr(sys, "_MEIPASS", "")) if getattr(sys, "frozen", False) else None
    missing: dict[str, str] = {}
    for library, package in wanted.items():
        if bundled is not None and (bundled / library).exists():
            continue
        try:
            ctypes.CDLL(library)
        except OSError:
            missing[library] = package
    return missing


def missing_libraries_message(missing: dict[str, str]) -> str:
    names = ", ".join(missing)
    packages = " ".join(sorted(set(missing.values())))
    return (
        f"Folio cannot open its window: this system lacks {names}. "
        f"Install {'it' if len(missing) == 1 else 'them'} with: sudo apt install {packages} "
        "(the package names are Debian's and Ubuntu's), then start Folio again."
    )
