"""The .deb: the frozen program under /opt/folio, a ``folio`` launcher on PATH, the desktop
entry, the AppStream metadata and the icon in the hicolor theme, built with ``dpkg-deb``.

The package holds only the program. Chats, the library and settings live in the user's home
(``~/.local/share/Folio``, ``~/.config/Folio``), which dpkg never touches: removing or
upgrading the package keeps them. The menu and icon caches are refreshed by the file triggers
of the desktop-file-utils and hicolor-icon-theme packages, so no maintainer script is needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "folio"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# Libraries a system may lack, by the Debian package that has them: used when one is missing
# on the build machine too (ldd says "not found", so dpkg cannot be asked).
KNOWN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
}
# What Qt needs that no library names: a font to draw text with.
ALWAYS_DEPENDS = ("fonts-dejavu-core | fonts-freefont-ttf",)


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    installed_bytes: int
    depends: list[str]


def tree_size(folder: Path) -> int:
    return sum(
        path.stat().st_size
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    )


def size_by_part(bundle: Path) -> dict[str, int]:
    """The frozen program's bytes split by what they are for."""
    parts = {"qt": 0, "llama_cpp": 0, "chroma": 0, "starter_models": 0, "numpy": 0, "other": 0}
    for path in bundle.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(bundle).as_posix()
        size = path.stat().st_size
        if "/PySide6/" in relative or "/shiboken6/" in relative:
            parts["qt"] += size
        elif "/llama_cpp/" in relative:
            parts["llama_cpp"] += size
        elif "/chromadb" in relative:
            parts["chroma"] += size
        elif relative.endswith(".gguf"):
            parts["starter_models"] += size
        elif "/numpy" in relative:
            parts["numpy"] += size
        else:
            parts["other"] += size
    return parts


def _version(root: Path) -> str:
    text = (root / "desktop" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'__version__ = "([^"]+)"', text)
    assert found is not None
    return found.group(1)


def _architecture() -> str:
    done = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _check_release_listed(metainfo: Path, version: str) -> None:
    releases = ElementTree.parse(metainfo).getroot().find("releases")
    listed = [] if releases is None else [r.get("version") for r in releases]
    if version not in listed:
        raise SystemExit(
            f'build: error: {metainfo.name} has no <release version="{version}">; '
            "add it (with its date and what changed) before building this version."
        )


def render_icons(svg: Path, out: Path) -> dict[int, Path]:
    """PNG renders of the SVG icon at the hicolor sizes, drawn by Qt (already installed)."""
    out.mkdir(parents=True, exist_ok=True)
    script = (
        "import sys\n"
        "from PySide6.QtCore import Qt\n"
        "from PySide6.QtGui import QGuiApplication, QImage, QPainter\n"
        "from PySide6.QtSvg import QSvgRenderer\n"
        "app = QGuiApplication([])\n"
        "renderer = QSvgRenderer(sys.argv[1])\n"
        "for size in map(int, sys.argv[3:]):\n"
        "    image = QImage(size, size, QImage.Format.Format_ARGB32)\n"
        "    image.fill(Qt.GlobalColor.transparent)\n"
        "    painter = QPainter(image)\n"
        "    painter.setRenderHint(QPainter.RenderHint.Antialiasing)\n"
        "    renderer.render(painter)\n"
        "    painter.end()\n"
        "    assert image.save(f'{sys.argv[2]}/folio-{size}.png')\n"
    )
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(
        [sys.executable, "-c", script, str(svg), str(out), *map(str, ICON_SIZES)],
        check=True,
        env=environment,
    )
    return {size: out / f"folio-{size}.png" for size in ICON_SIZES}


def system_depends(bundle: Path) -> list[str]:
    """The Debian packages of the system libraries the frozen program links to (as
    dpkg-shlibdeps would find them), so that apt installs them and a missing one is named."""
    # The frozen program's loader looks in its own folder first (PyInstaller's bootloader puts
    # it on LD_LIBRARY_PATH), so a library it carries is no dependency.
    carried = {path.name for path in bundle.rglob("*.so*")}
    needed: set[str] = set()
    for path in bundle.rglob("*.so*"):
        if not path.is_file():
            continue
        done = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False)
        for line in done.stdout.splitlines():
            name, _, where = line.strip().partition(" => ")
            where = where.split(" (")[0].strip()
            if not where or where.startswith(str(bundle)) or name.strip() in carried:
                continue
            needed.add(name.strip() if where == "not found" else where)
    packages: set[str] = set()
    unknown: list[str] = []
    for library in sorted(needed):
        if not library.startswith("/"):
            if library in KNOWN_PACKAGES:
                packages.add(KNOWN_PACKAGES[library])
            elif not library.startswith("lib"):
                continue
            else:
                unknown.append(library)
            continue
        done = subprocess.run(
            ["dpkg", "-S", os.path.realpath(library)], capture_output=True, text=True
        )
        if done.returncode != 0:
            done = subprocess.run(["dpkg", "-S", library], capture_output=True, text=True)
        if done.returncode == 0:
            packages.add(done.stdout.split(":", 1)[0].strip())
        else:
            unknown.append(library)
    if unknown:
        # Libraries the bundle links to that neither dpkg nor the table knows: those come
        # from plugins Folio does not need on Linux desktops (for example Qt's Vulkan or
        # Wayland pieces); listed, not fatal.
        print(f"build: note: no package known for {', '.join(unknown)}", file=sys.stderr)
    packages.discard("libc6")
    return [f"libc6 (>= {glibc_needed(bundle)})", *sorted(packages | set(ALWAYS_DEPENDS))]


def glibc_needed(bundle: Path) -> str:
    """The newest glibc symbol version any file of the bundle asks for: the oldest C library
    it runs on (the build machine's glibc is an upper bound, not the answer)."""
    newest = (2, 17)
    for path in [bundle / "folio", *bundle.rglob("*.so*")]:
        if not path.is_file() or path.is_symlink():
            continue
        symbols = subprocess.run(
            ["objdump", "-T", str(path)], capture_output=True, text=True, check=False
        ).stdout
        for major, minor in re.findall(r"GLIBC_(\d+)\.(\d+)", symbols):
            newest = max(newest, (int(major), int(minor)))
    return f"{newest[0]}.{newest[1]}"


def _launcher() -> str:
    return (
        "#!/bin/sh\n"
        "# Folio's frozen program lives in /opt/folio; this puts it on PATH.\n"
        'exec /opt/folio/folio "$@"\n'
    )


def build_deb(root: Path, bundle: Path, dist: Path, work: Path) -> BuiltPackage:
    version = _version(root)
    metainfo = root / "packaging" / "linux" / "folio.metainfo.xml"
    _check_release_listed(metainfo, version)
    architecture = _architecture()
    stage = work / f"{PACKAGE}_{version}_{architecture}"
    if stage.exists():
        shutil.rmtree(stage)
    program = stage / "opt" / "folio"
    shutil.copytree(bundle, program, symlinks=True)

    launcher = stage / "usr" / "bin" / "folio"
    launcher.parent.mkdir(parents=True)
    launcher.write_text(_launcher(), encoding="utf-8")
    launcher.chmod(0o755)

    share = stage / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(root / "packaging" / "linux" / "folio.desktop", share / "applications")
    (share / "metainfo").mkdir(parents=True)
    shutil.copy2(metainfo, share / "metainfo" / "app.folio.Folio.metainfo.xml")
    icons = share / "icons" / "hicolor"
    svg = root / "resources" / "icons" / "folio.svg"
    (icons / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(svg, icons / "scalable" / "apps" / "folio.svg")
    for size, png in render_icons(svg, work / "icons").items():
        folder = icons / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True)
        shutil.copy2(png, folder / "folio.png")
    docs = share / "doc" / PACKAGE
    docs.mkdir(parents=True)
    shutil.copy2(root / "README.md", docs / "README.md")
    for license_file in (program / "_internal" / "desktop" / "resources" / "starter").glob(
        "*.LICENSE.txt"
    ):
        shutil.copy2(license_file, docs / license_file.name)

    depends = system_depends(program)
    installed_bytes = tree_size(stage)
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {architecture}\n"
        "Maintainer: Folio developers <folio@localhost>\n"
        f"Installed-Size: {installed_bytes // 1024}\n"
        f"Depends: {', '.join(depends)}\n"
        "Section: utils\n"
        "Priority: optional\n"
        "Description: chat with local language models and your own PDFs, offline\n"
        " Folio is a desktop app for chatting with language models that run on this\n"
        " computer and for asking questions about your own documents, with answers that\n"
        " cite the page they come from. It includes a small starter chat model and an\n"
        " embedding model, and never connects to the network unless you download a\n"
        " model. Your chats, library and settings stay in your home folder and are kept\n"
        " when the package is removed.\n",
        encoding="utf-8",
    )
    for path in stage.rglob("*"):
        if path.is_symlink():
            continue
        if path.is_dir() or path.stat().st_mode & 0o111:
            path.chmod(0o755)
        else:
            path.chmod(0o644)
    output = dist / f"{PACKAGE}_{version}_{architecture}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(stage), str(output)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return BuiltPackage(output, installed_bytes, depends)
