"""``settings.toml``: the settings saved as TOML in the config folder.

A damaged file never stops the app: it is backed up, each bad key falls back to its default,
and the caller is told which. Files are replaced atomically, so a crash never leaves half of one.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import stat
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core import faults
from desktop.core.locks import file_lock
from desktop.core.settings.schema import (
    GROUPS,
    SCHEMA,
    SPECS,
    SettingError,
    Settings,
    coerce,
    display_value,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadReport:
    settings: Settings
    # Human-readable problems found in the file; each bad key was reset to its default.
    problems: tuple[str, ...] = ()
    backup: Path | None = None


# Far more than every setting with long paths and prompts; a larger file is not Folio's.
MAX_SETTINGS_BYTES = 1_000_000


def load_settings(path: Path) -> LoadReport:
    try:
        status = path.stat()
    except FileNotFoundError:
        return LoadReport(Settings())
    except OSError as exc:
        return _unusable(path, f"it could not be read ({exc.strerror or exc})", backup=False)
    if not stat.S_ISREG(status.st_mode):
        # Never opened: a pipe would block every command, a folder cannot be read.
        kind = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file"
        return _unusable(path, f"it is {kind}; move it away so Folio can write one", backup=False)
    if status.st_size > MAX_SETTINGS_BYTES:
        return _unusable(path, f"it is far too large ({status.st_size:,} bytes)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError, RecursionError) as exc:
        reason = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        return _unusable(path, f"it could not be read ({reason})")
    problems: list[str] = []
    groups: dict[str, dict[str, Any]] = {}
    for group_name, group in data.items():
        if not isinstance(group, dict):
            problems.append(f"“{group_name}” is not a settings section; it was ignored.")
            continue
        for key, raw in group.items():
            spec = SPECS.get(key)
            if spec is None or spec.group != group_name:
                problems.append(f"“{group_name}.{key}” is not a Folio setting; it was ignored.")
                continue
            try:
                groups.setdefault(group_name, {})[key] = coerce(spec, raw)
            except SettingError as exc:
                problems.append(f"{exc} It was reset to {display_value(spec.default)}.")
    # Rules between fields are checked once every field is read, so their order in the file
    # does not matter; a broken rule resets the field it names.
    settings = Settings().replaced(groups)
    while (conflict := settings.conflict()) is not None:
        default = SPECS[conflict.key].default
        problems.append(f"{conflict} It was reset to {display_value(default)}.")
        settings = settings.replaced({SPECS[conflict.key].group: {conflict.key: default}})
    backup = _backup(path) if problems else None
    return LoadReport(settings, tuple(problems), backup)


def _unusable(path: Path, reason: str, backup: bool = True) -> LoadReport:
    log.warning("settings file %s unusable (%s); using defaults", path, reason)
    return LoadReport(
        Settings(),
        (f"The settings file could not be used: {reason}. All settings were reset.",),
        _backup(path) if backup else None,
    )


def _backup(path: Path) -> Path | None:
    """A copy of the damaged file beside it, made once per content: a file that stays
    damaged is not copied again by every command that reads it."""
    try:
        content = path.read_bytes()
        for earlier in sorted(path.parent.glob(f"{glob.escape(path.name)}.bad-*")):
            if earlier.is_file() and earlier.read_bytes() == content:
                return earlier
        target = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        suffix = 1
        while target.exists():
            suffix += 1
            target = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{suffix}")
        shutil.copy2(path, target)
    except OSError:
        log.exception("could not back up %s", path)
        return None
    return target


def save_settings(settings: Settings, path: Path) -> None:
    """Write atomically (temp file + rename), so a crash never leaves half a settings file."""
    lines = [
        "# Folio settings. Edit in the app (Settings) or here; see the README for each key.",
        "",
    ]
    for group_name in GROUPS:
        lines.append(f"[{group_name}]")
        for spec in SCHEMA:
            if spec.group == group_name:
                lines.append(f"{spec.key} = {toml_value(settings.value(spec.key))}")
        lines.append("")
    write_text_atomically(path, "\n".join(lines))


def update_settings(path: Path, change: Callable[[Settings], Settings]) -> Settings:
    """Read the file, ``change`` what it holds, and write the result, with no other Folio
    process changing it in between (the window and ``folio config set`` side by side would
    otherwise each lose the other's change). Returns what was written."""
    with file_lock(path):
        updated = change(load_settings(path).settings)
        save_settings(updated, path)
    return updated


def write_text_atomically(path: Path, text: str) -> None:
    """Write beside ``path``, flush to disk, and rename, so a crash never leaves half a file.
    The temporary name is unique, so that two writers never rename each other's file; it is
    removed when the write fails (a full disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        faults.kill_point(faults.SETTINGS_RENAME)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(text: str) -> str:
    """A TOML basic string: every control character (including DEL) escaped."""
    escaped = []
    for character in text:
        if character in _TOML_ESCAPES:
            escaped.append(_TOML_ESCAPES[character])
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            escaped.append(f"\\u{ord(character):04X}")
        else:
            escaped.append(character)
    return '"' + "".join(escaped) + '"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_string(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")
