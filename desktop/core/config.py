"""The one settings schema.

Every setting is declared once here, with its default, bounds, unit, title and help text. The
settings file, the CLI and the settings dialog are all driven from this declaration, so a new
field shows up everywhere at once. The file is TOML in the config dir; a damaged file never stops
the app: it is backed up, the bad keys fall back to defaults, and the caller is told which.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldSpec:
    key: str
    group: str
    title: str
    help: str
    default: float | int | str | tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    # Changing this field means the model has to be loaded again.
    reloads_model: bool = False

    @property
    def kind(self) -> type:
        return type(self.default)


GENERATION = "generation"
MODEL = "model"

SCHEMA: tuple[FieldSpec, ...] = (
    FieldSpec(
        "temperature",
        GENERATION,
        "Temperature",
        "How adventurous the choice of each next word is. Low values (0.1-0.3) nearly always pick "
        "the most likely word: good for facts, a capital city, classification. High values "
        "(1.0 and up) spread the choice over less likely words: good for brainstorming or a "
        "creative essay, at the risk of drifting off topic. 0 always picks the top word.",
        0.7,
        0.0,
        2.0,
    ),
    FieldSpec(
        "top_p",
        GENERATION,
        "Top-p (nucleus)",
        "Keeps only the most likely next words whose probabilities add up to this share, then "
        "chooses among them. Example: candidates at 0.4 / 0.3 / 0.2 / 0.1 with top-p 0.8 keep the "
        "first three (0.4 + 0.3 + 0.2 = 0.9 reaches 0.8) and never pick the fourth. Lower it for "
        "focused answers; 1.0 turns it off.",
        0.95,
        0.0,
        1.0,
    ),
    FieldSpec(
        "top_k",
        GENERATION,
        "Top-k",
        "Considers only this many of the most likely next words. 40 is a common choice; "
        "0 turns the limit off.",
        40,
        0,
        500,
        "words",
    ),
    FieldSpec(
        "min_p",
        GENERATION,
        "Min-p",
        "Drops any next word less likely than this fraction of the best one's probability. "
        "0.05 removes the long tail of unlikely words; 0 turns it off.",
        0.05,
        0.0,
        1.0,
    ),
    FieldSpec(
        "repeat_penalty",
        GENERATION,
        "Repeat penalty",
        "Makes words that already appeared recently less likely, to stop the model looping. "
        "1.0 is off; 1.1 is a gentle push; above 1.3 the text starts avoiding words it needs.",
        1.1,
        1.0,
        2.0,
    ),
    FieldSpec(
        "presence_penalty",
        GENERATION,
        "Presence penalty",
        "Lowers the chance of any word that has appeared at all, nudging the model to new "
        "topics. 0 is off; negative values encourage staying on topic.",
        0.0,
        -2.0,
        2.0,
    ),
    FieldSpec(
        "frequency_penalty",
        GENERATION,
        "Frequency penalty",
        "Lowers the chance of a word in proportion to how often it has appeared, reducing "
        "repetition of the same phrases. 0 is off.",
        0.0,
        -2.0,
        2.0,
    ),
    FieldSpec(
        "max_tokens",
        GENERATION,
        "Maximum answer length",
        "The longest answer the model may write, in tokens (a token is roughly three quarters "
        "of an English word). This room is reserved in the context window.",
        512,
        16,
        16384,
        "tokens",
    ),
    FieldSpec(
        "seed",
        GENERATION,
        "Seed",
        "Fixes the random choices so the same question with the same settings gives the same "
        "answer. -1 picks a new random seed for every answer.",
        -1,
        -1,
        2_147_483_647,
    ),
    FieldSpec(
        "stop",
        GENERATION,
        "Stop sequences",
        "The answer ends as soon as the model writes any of these texts (they are not shown).",
        (),
    ),
    FieldSpec(
        "system_prompt",
        GENERATION,
        "System prompt",
        "Standing instructions the model sees before every conversation.",
        "You are a helpful assistant. Answer clearly and concisely.",
    ),
    FieldSpec(
        "model_path",
        MODEL,
        "Chat model file",
        "The GGUF model used for chat. Empty means the built-in starter model.",
        "",
        reloads_model=True,
    ),
    FieldSpec(
        "context_length",
        MODEL,
        "Context length",
        "How many tokens the model can see at once: system prompt, earlier turns, your question "
        "and the answer together. Larger windows remember more of the chat but use more memory.",
        4096,
        512,
        131072,
        "tokens",
        reloads_model=True,
    ),
    FieldSpec(
        "threads",
        MODEL,
        "CPU threads",
        "How many CPU threads generate the answer. 0 lets Folio choose (one per physical core).",
        0,
        0,
        256,
        "threads",
        reloads_model=True,
    ),
    FieldSpec(
        "batch_size",
        MODEL,
        "Batch size",
        "How many prompt tokens are processed in one step. Larger is faster on long prompts and "
        "uses a little more memory.",
        512,
        32,
        4096,
        "tokens",
        reloads_model=True,
    ),
)

SPECS: dict[str, FieldSpec] = {spec.key: spec for spec in SCHEMA}


@dataclass(frozen=True)
class GenerationSettings:
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    max_tokens: int = 512
    seed: int = -1
    stop: tuple[str, ...] = ()
    system_prompt: str = "You are a helpful assistant. Answer clearly and concisely."


@dataclass(frozen=True)
class ModelSettings:
    model_path: str = ""
    context_length: int = 4096
    threads: int = 0
    batch_size: int = 512


@dataclass(frozen=True)
class Settings:
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    model: ModelSettings = field(default_factory=ModelSettings)

    def value(self, key: str) -> Any:
        spec = SPECS[key]
        return getattr(getattr(self, spec.group), key)

    def with_values(self, values: Mapping[str, Any]) -> Settings:
        """A copy with ``values`` applied; every value is validated (``SettingError``)."""
        groups: dict[str, dict[str, Any]] = {}
        for key, raw in values.items():
            spec = SPECS.get(key)
            if spec is None:
                raise SettingError(key, f"“{key}” is not a Folio setting.")
            groups.setdefault(spec.group, {})[key] = coerce(spec, raw)
        return replace(
            self,
            generation=replace(self.generation, **groups.get(GENERATION, {})),
            model=replace(self.model, **groups.get(MODEL, {})),
        )


class SettingError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def coerce(spec: FieldSpec, raw: Any) -> Any:
    """Turn ``raw`` (from TOML, the CLI or a widget) into the field's type, or explain why not."""
    title = spec.title
    if isinstance(spec.default, tuple):
        if isinstance(raw, str):
            raw = [raw] if raw else []
        if not isinstance(raw, Sequence) or not all(isinstance(item, str) for item in raw):
            raise SettingError(spec.key, f"{title} must be a list of texts.")
        return tuple(item for item in raw if item)
    if isinstance(spec.default, str):
        if not isinstance(raw, str):
            raise SettingError(spec.key, f"{title} must be text.")
        return raw
    number: float
    if isinstance(raw, bool):
        raise SettingError(spec.key, f"{title} must be a number.")
    if isinstance(raw, int | float):
        number = raw
    elif isinstance(raw, str):
        try:
            number = float(raw.strip())
        except ValueError:
            raise SettingError(spec.key, f"{title} must be a number, not “{raw}”.") from None
    else:
        raise SettingError(spec.key, f"{title} must be a number.")
    if not math.isfinite(number):
        raise SettingError(spec.key, f"{title} must be a finite number.")
    if isinstance(spec.default, int):
        if number != int(number):
            raise SettingError(spec.key, f"{title} must be a whole number.")
        number = int(number)
    if spec.minimum is not None and number < spec.minimum:
        raise SettingError(spec.key, f"{title} must be at least {_fmt(spec.minimum)}.")
    if spec.maximum is not None and number > spec.maximum:
        raise SettingError(spec.key, f"{title} must be at most {_fmt(spec.maximum)}.")
    return int(number) if isinstance(spec.default, int) else float(number)


def _fmt(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


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
    settings = Settings()
    problems: list[str] = []
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
                settings = settings.with_values({key: raw})
            except SettingError as exc:
                problems.append(f"{exc} It was reset to {_display(spec.default)}.")
    backup = _backup(path) if problems else None
    return LoadReport(settings, tuple(problems), backup)


def _display(value: object) -> str:
    if isinstance(value, tuple):
        return "none" if not value else ", ".join(value)
    return json.dumps(value) if isinstance(value, str) else str(value)


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
    for group_name in (GENERATION, MODEL):
        lines.append(f"[{group_name}]")
        group = getattr(settings, group_name)
        for spec_field in fields(group):
            lines.append(f"{spec_field.name} = {_toml_value(getattr(group, spec_field.name))}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("\n".join(lines), encoding="utf-8")
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


def _toml_string(text: str) -> str:
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


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_string(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")
