"""``folio config``: every setting of the schema, shown and changed from the command line.

The same schema drives the window, ``settings.toml`` and ``folio ask``; these commands read and
write the same file, validated the same way.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from desktop.cli.errors import CommandError, UsageError
from desktop.cli.options import warn_about
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import (
    SCHEMA,
    SPECS,
    FieldSpec,
    SettingError,
    Settings,
)
from desktop.core.settings.store import load_settings, update_settings


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    report = load_settings(paths.settings_file)
    warn_about(report.problems)
    if args.config_command == "show":
        return _show(report.settings, args.json)
    if args.config_command == "set":
        values = _parse_assignments(args.assignments)

        def change(current: Settings) -> Settings:
            updated = current.with_values(values)
            # A model file is checked as the settings dialog checks it, before it is saved,
            # so the window never starts on a file that cannot serve.
            problems = updated.file_problems(list(values))
            if problems:
                raise UsageError(str(problems[0]))
            return updated

        try:
            # Read, changed and written under the settings file's lock: a window or another
            # "config set" saving meanwhile keeps its change.
            settings = update_settings(paths.settings_file, change)
        except SettingError as error:
            raise UsageError(str(error)) from None
        except TimeoutError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(
                f"the settings could not be saved to {paths.settings_file}: "
                f"{error.strerror or error}"
            ) from None
        for key in values:
            print(f"{key} = {_shown(SPECS[key], settings.value(key))}")
        return 0
    raise UsageError("say what to do: “folio config show” or “folio config set KEY=VALUE”")


def _parse_assignments(assignments: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for assignment in assignments:
        key, equals, value = assignment.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or not key:
            raise UsageError(f"“{assignment}” is not KEY=VALUE")
        spec = SPECS.get(key)
        if spec is None:
            raise UsageError(f"“{key}” is not a Folio setting (see “folio config show”)")
        if isinstance(spec.default, tuple):
            items: list[str] = values.setdefault(key, [])
            if value:
                items.append(value)
        elif key in values:
            raise UsageError(f"{key} is given twice")
        else:
            values[key] = value
    return values


def _show(settings: Settings, as_json: bool) -> int:
    if as_json:
        print(
            json.dumps([_field_json(spec, settings.value(spec.key)) for spec in SCHEMA], indent=2)
        )
        return 0
    group = ""
    for spec in SCHEMA:
        if spec.group != group:
            group = spec.group
            print(f"[{group}]")
        value = settings.value(spec.key)
        default = "" if value == spec.default else f"   (default {_shown(spec, spec.default)})"
        print(f"  {spec.key} = {_shown(spec, value)}{default}")
    return 0


def _field_json(spec: FieldSpec, value: Any) -> dict[str, Any]:
    return {
        "key": spec.key,
        "group": spec.group,
        "title": spec.title,
        "value": list(value) if isinstance(value, tuple) else value,
        "default": list(spec.default) if isinstance(spec.default, tuple) else spec.default,
        "minimum": spec.minimum,
        "maximum": spec.maximum,
        "unit": spec.unit,
        "effect": str(spec.effect),
        "reloads_model": spec.reloads_model,
        "help": spec.help,
    }


def _shown(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(json.dumps(item) for item in value) if value else "none"
    if isinstance(value, str):
        if not value and spec.empty_title:
            return f"({spec.empty_title})"
        return json.dumps(value)
    return str(value)
