"""Build Folio for end users: ``dist/folio/`` (a frozen one-folder program) and, on Debian and
Ubuntu, ``dist/folio_<version>_<arch>.deb`` wrapping it.

Run with the Python of a developer install that has the ``package`` extra::

    .venv/bin/pip install -e '.[package]' && .venv/bin/python packaging/build.py

Steps: the starter models are put in place (as ``pip install`` does), PyInstaller freezes the app
with ``pyinstaller/folio.spec``, the frozen program is checked (``folio --version``), then the
.deb is assembled and built with ``dpkg-deb``. The time of each step and the sizes are written
to ``build/build-report.json`` (``benchmarks/packaging.py`` reads it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
sys.path.insert(0, str(ROOT / "packaging" / "backend"))

import deb  # noqa: E402
import folio_build  # noqa: E402

DIST = ROOT / "dist"
WORK = ROOT / "build"
BUNDLE = DIST / "folio"


def _say(message: str) -> None:
    print(f"build: {message}", file=sys.stderr, flush=True)


def _fail(message: str) -> None:
    print(f"build: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def _check_tools(want_deb: bool) -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        _fail(
            "PyInstaller is not installed in this Python. Run: "
            f"{sys.executable} -m pip install -e '{ROOT}[package]'"
        )
    try:
        import desktop  # noqa: F401
    except ImportError:
        _fail(f"Folio is not installed in this Python. Run: {sys.executable} -m pip install -e .")
    if want_deb and shutil.which("dpkg-deb") is None:
        _fail("dpkg-deb is not on PATH (it comes with dpkg); build with --no-deb elsewhere.")


def freeze() -> float:
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        str(ROOT / "packaging" / "pyinstaller" / "folio.spec"),
        "--noconfirm",
        "--clean",
        "--log-level=WARN",
        "--distpath",
        str(DIST),
        "--workpath",
        str(WORK / "pyinstaller"),
    ]
    _say("freezing with PyInstaller (a few minutes)…")
    if subprocess.run(command, check=False).returncode != 0:
        _fail("PyInstaller failed; its messages are above.")
    return time.perf_counter() - started


def tidy_bundle(bundle: Path) -> int:
    """Links left pointing at libraries the spec dropped are removed, and a library shipped
    twice under its two names (``libggml.so`` and ``libggml.so.0``, as llama-cpp-python's wheel
    has them) is kept once, the other name a link. Returns the bytes saved."""
    saved = 0
    for path in sorted(bundle.rglob("*")):
        if path.is_symlink() and not path.exists():
            path.unlink()
    for versioned in sorted(bundle.rglob("*.so.*")):
        plain = versioned.with_name(versioned.name.split(".so.")[0] + ".so")
        if (
            plain.is_file()
            and not plain.is_symlink()
            and not versioned.is_symlink()
            and plain.stat().st_size == versioned.stat().st_size
            and plain.read_bytes() == versioned.read_bytes()
        ):
            saved += plain.stat().st_size
            plain.unlink()
            plain.symlink_to(versioned.name)
    return saved


def strip_bundle(bundle: Path) -> int:
    """Debugging symbols out of the libraries that still carry them (the system libraries and
    Python's own modules; wheels' are stripped already). Not those auditwheel relocated into a
    ``*.libs`` folder: strip(1) corrupts them (numpy's OpenBLAS then fails with "ELF load
    command address/offset not page-aligned"), which is why the spec does not strip at all.
    Returns the bytes saved."""
    saved = 0
    for path in sorted(bundle.rglob("*.so*")):
        if path.is_symlink() or not path.is_file() or any(p.endswith(".libs") for p in path.parts):
            continue
        described = subprocess.run(["file", "-b", str(path)], capture_output=True, text=True)
        if "ELF" not in described.stdout or "not stripped" not in described.stdout:
            continue
        before = path.stat().st_size
        if subprocess.run(["strip", "--strip-unneeded", str(path)], check=False).returncode == 0:
            saved += before - path.stat().st_size
    return saved


def check_frozen() -> str:
    """The frozen program starts and knows its version: the least it must do."""
    done = subprocess.run(
        [str(BUNDLE / "folio"), "--version"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        _fail(f"the frozen program does not start: {done.stderr.strip()}")
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-deb", action="store_true", help="Build dist/folio/ only.")
    parser.add_argument(
        "--reuse-bundle",
        action="store_true",
        help="Wrap the dist/folio/ already there instead of freezing again.",
    )
    args = parser.parse_args(argv)
    _check_tools(want_deb=not args.no_deb)
    report: dict[str, object] = {}
    started = time.perf_counter()

    folio_build.ensure_starter_models()
    if not (args.reuse_bundle and (BUNDLE / "folio").is_file()):
        report["freeze_seconds"] = round(freeze(), 1)
        report["tidied_bytes"] = tidy_bundle(BUNDLE)
        report["stripped_bytes"] = strip_bundle(BUNDLE)
    report["version"] = check_frozen()
    report["bundle_bytes"] = deb.tree_size(BUNDLE)
    report["bundle_parts"] = deb.size_by_part(BUNDLE)
    _say(f"{report['version']} frozen: {report['bundle_bytes'] / 1e6:.0f} MB in {BUNDLE}")

    if not args.no_deb:
        deb_started = time.perf_counter()
        package = deb.build_deb(ROOT, BUNDLE, DIST, WORK / "deb")
        report["deb_seconds"] = round(time.perf_counter() - deb_started, 1)
        report["deb"] = str(package.path)
        report["deb_bytes"] = package.path.stat().st_size
        report["deb_installed_bytes"] = package.installed_bytes
        report["deb_depends"] = package.depends
        _say(
            f"{package.path.name}: {report['deb_bytes'] / 1e6:.0f} MB to download, "
            f"{package.installed_bytes / 1e6:.0f} MB installed"
        )
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    WORK.mkdir(exist_ok=True)
    (WORK / "build-report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    _say(f"done in {report['total_seconds']} s; report in {WORK / 'build-report.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
