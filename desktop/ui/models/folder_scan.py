"""What a read of the models folder found, worked out off the GUI thread.

The window never asks the file system itself: whether a file is a link and where it points,
whether a catalog file is present or partly downloaded, which file a settings path names. The
scan task answers all of it at once and the window shows the answer (no Qt here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.models.download import partial_path
from desktop.core.models.registry import ModelEntry, UnusableFile, scan
from desktop.core.models.starter import is_starter_model

# ``partial_path`` keeps what arrived of NAME as ``.NAME.part``.
_PART_PREFIX, _PART_SUFFIX = ".", ".part"


@dataclass(frozen=True)
class InstalledModel:
    """A usable model, with what the window needs to know about its file."""

    entry: ModelEntry
    # The file itself, links followed: two paths name the same model when these agree.
    resolved: Path
    # Where a link points, or None for a file.
    link_target: Path | None
    # The starter model that ships with Folio (never deleted).
    starter: bool
    # In the models folder (a link counts by where the link is, not by where it points).
    in_folder: bool

    @property
    def path(self) -> Path:
        return self.entry.path


@dataclass(frozen=True)
class FolderScan:
    models: list[InstalledModel]
    unusable: list[UnusableFile]
    # The names present directly in the models folder.
    files: frozenset[str] = frozenset()
    # Per model file name, the bytes its partial download kept so far.
    partial_files: dict[str, int] = field(default_factory=dict)
    # Each path the scan was asked about (the models in use) with the file it names.
    resolved_paths: dict[Path, Path] = field(default_factory=dict)

    @property
    def installed_names(self) -> frozenset[str]:
        """The file names a catalog entry counts as installed under."""
        return self.files | {model.path.name for model in self.models}

    def resolve(self, path: Path) -> Path:
        """The file ``path`` names, as far as this scan knows."""
        known = self.resolved_paths.get(path)
        if known is not None:
            return known
        for model in self.models:
            if model.path == path:
                return model.resolved
        return path

    def same_file(self, path: Path, model: InstalledModel) -> bool:
        return path == model.path or self.resolve(path) == model.resolved


def scan_folder(
    folder: Path, extra: Iterable[Path], context: int, asked_about: Iterable[Path] = ()
) -> FolderScan:
    """Read the models in ``folder`` and ``extra`` (``OSError`` when the folder cannot be read),
    and resolve the paths ``asked_about``."""
    entries, unusable = scan(folder, extra, context)
    models = [_installed_model(entry, folder) for entry in entries]
    files, partial_files = _folder_files(folder)
    resolved = {path: _resolve(path) for path in asked_about}
    return FolderScan(models, unusable, files, partial_files, resolved)


def partial_size(folder: Path, filename: str) -> int:
    """The bytes kept of an interrupted download of ``filename`` (0: nothing is kept)."""
    try:
        return partial_path(folder, filename).stat().st_size
    except OSError:
        return 0


def _installed_model(entry: ModelEntry, folder: Path) -> InstalledModel:
    path = entry.path
    resolved = _resolve(path)
    return InstalledModel(
        entry=entry,
        resolved=resolved,
        link_target=resolved if path.is_symlink() else None,
        starter=is_starter_model(path),
        in_folder=_in_folder(path, folder),
    )


def _folder_files(folder: Path) -> tuple[frozenset[str], dict[str, int]]:
    try:
        children = list(folder.iterdir())
    except OSError:
        return frozenset(), {}
    files: set[str] = set()
    partial_files: dict[str, int] = {}
    for child in children:
        name = child.name
        if name.startswith(_PART_PREFIX) and name.endswith(_PART_SUFFIX):
            try:
                partial_files[name[len(_PART_PREFIX) : -len(_PART_SUFFIX)]] = child.stat().st_size
            except OSError:
                continue
        elif child.exists():
            files.add(name)
    return frozenset(files), partial_files


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _in_folder(path: Path, folder: Path) -> bool:
    try:
        return (path.parent.resolve() / path.name).is_relative_to(folder.resolve())
    except OSError:
        return False
