"""``settings.toml``: the settings saved as TOML in the config folder.

A damaged file never stops the app: it is backed up, each bad key falls back to its default,
and the caller is told which. Files are replaced atomically, so a crash never leaves half of one.
"""

from __future__ import annotations

import logging
import shutil
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def load_settings(path: Path) -> LoadReport:
    if not path.exists():
        return LoadReport(Settings())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        backup = _backup(path)
        log.warning("settings file %s unreadable (%s); using defaults", path, exc)
        return LoadReport(
            Settings(),
            (f"The settings file could not be read ({exc}); all settings were reset.",),
            backup,
        )
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


def _backup(path: Path) -> Path | None:
    target = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
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


def write_text_atomically(path: Path, text: str) -> None:
    """Write beside ``path`` and rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


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
