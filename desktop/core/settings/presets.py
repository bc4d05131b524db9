"""Generation presets, and the settings one chat uses.

A preset is a named set of generation values: three are built in (Precise, Balanced, Creative)
and the user can save more, kept in ``presets.toml`` beside the settings file. A chat uses the
global settings, then its preset if it chose one, then its own overrides: each layer only says
what it changes, so a new global default still reaches every chat that did not change it.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.settings.schema import (
    GENERATION,
    SPECS,
    GenerationSettings,
    SettingError,
    Settings,
    coerce,
    specs_of,
)
from desktop.core.settings.store import toml_string, toml_value, write_text_atomically

log = logging.getLogger(__name__)

GENERATION_KEYS: tuple[str, ...] = tuple(spec.key for spec in specs_of(GENERATION))
MAX_NAME_LENGTH = 40


@dataclass(frozen=True)
class Preset:
    name: str
    values: Mapping[str, Any]
    description: str = ""
    builtin: bool = False


BUILTIN_PRESETS: tuple[Preset, ...] = (
    Preset(
        "Precise",
        {
            "temperature": 0.2,
            "top_p": 0.8,
            "top_k": 20,
            "min_p": 0.1,
            "repeat_penalty": 1.1,
            "presence_penalty": 0.0,
            "frequency_penalty": 0.0,
        },
        "Almost always the most likely words: facts, figures, summaries, classification.",
        builtin=True,
    ),
    Preset(
        "Balanced",
        {
            "temperature": 0.7,
            "top_p": 0.95,
            "top_k": 40,
            "min_p": 0.05,
            "repeat_penalty": 1.1,
            "presence_penalty": 0.0,
            "frequency_penalty": 0.0,
        },
        "Folio's defaults: natural answers that stay on topic.",
        builtin=True,
    ),
    Preset(
        "Creative",
        {
            "temperature": 1.1,
            "top_p": 0.98,
            "top_k": 100,
            "min_p": 0.02,
            "repeat_penalty": 1.05,
            "presence_penalty": 0.3,
            "frequency_penalty": 0.0,
        },
        "More surprising word choices: brainstorming, stories, a creative essay.",
        builtin=True,
    ),
)


class PresetError(ValueError):
    """A preset cannot be saved as asked; the message is written for the user."""


def validated_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Only generation settings, each coerced through the schema (``SettingError``)."""
    checked: dict[str, Any] = {}
    for key, raw in values.items():
        spec = SPECS.get(key)
        if spec is None or spec.group != GENERATION:
            raise SettingError(key, f"“{key}” is not a generation setting.")
        checked[key] = coerce(spec, raw)
    return checked


@dataclass(frozen=True)
class PresetLoad:
    presets: tuple[Preset, ...]
    problems: tuple[str, ...] = ()


class PresetLibrary:
    """The built-in presets plus the user's, saved to ``path`` on every change (without a
    path, the built-in ones only)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        loaded = load_user_presets(path) if path is not None else PresetLoad(())
        self._user: dict[str, Preset] = {preset.name: preset for preset in loaded.presets}
        self.problems = loaded.problems

    @property
    def path(self) -> Path | None:
        return self._path

    def all(self) -> list[Preset]:
        return [*BUILTIN_PRESETS, *sorted(self._user.values(), key=lambda p: p.name.lower())]

    def get(self, name: str) -> Preset | None:
        for preset in BUILTIN_PRESETS:
            if preset.name == name:
                return preset
        return self._user.get(name)

    def save(self, name: str, values: Mapping[str, Any]) -> Preset:
        """Add or replace the user preset ``name`` (never a built-in one)."""
        name = " ".join(name.split())
        if not name:
            raise PresetError("A preset needs a name.")
        if len(name) > MAX_NAME_LENGTH:
            raise PresetError(f"A preset name can be at most {MAX_NAME_LENGTH} characters.")
        if any(preset.name.casefold() == name.casefold() for preset in BUILTIN_PRESETS):
            raise PresetError(f"“{name}” is a built-in preset; choose another name.")
        try:
            checked = validated_values(values)
        except SettingError as error:
            raise PresetError(str(error)) from None
        if self._path is None:
            raise PresetError("Presets cannot be saved here.")
        preset = Preset(name, checked)
        previous = dict(self._user)
        self._user[name] = preset
        try:
            save_user_presets(self._user.values(), self._path)
        except OSError as error:
            self._user = previous
            raise PresetError(
                f"The preset could not be saved: {error.strerror or error}."
            ) from None
        return preset

    def delete(self, name: str) -> None:
        if name not in self._user:
            raise PresetError(f"There is no saved preset called “{name}”.")
        assert self._path is not None  # user presets exist only when they can be saved
        previous = dict(self._user)
        del self._user[name]
        try:
            save_user_presets(self._user.values(), self._path)
        except OSError as error:
            self._user = previous
            raise PresetError(
                f"The preset could not be deleted: {error.strerror or error}."
            ) from None


def load_user_presets(path: Path) -> PresetLoad:
    """The presets saved in ``path``; a damaged file or entry is skipped and reported."""
    if not path.exists():
        return PresetLoad(())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as error:
        log.warning("presets file %s unreadable: %s", path, error)
        return PresetLoad((), (f"The saved presets could not be read ({error}).",))
    section = data.get("presets", {})
    if not isinstance(section, dict):
        return PresetLoad((), ("The saved presets file has no [presets] section.",))
    presets: list[Preset] = []
    problems: list[str] = []
    builtin_names = {preset.name.casefold() for preset in BUILTIN_PRESETS}
    for name, values in section.items():
        if not isinstance(values, dict) or name.casefold() in builtin_names:
            problems.append(f"The saved preset “{name}” was ignored.")
            continue
        try:
            presets.append(Preset(name, validated_values(values)))
        except SettingError as error:
            problems.append(f"The saved preset “{name}” was ignored: {error}")
    return PresetLoad(tuple(presets), tuple(problems))


def save_user_presets(presets: Iterable[Preset], path: Path) -> None:
    lines = ["# Folio's saved generation presets. Edit them in Settings.", ""]
    for preset in presets:
        lines.append(f"[presets.{toml_string(preset.name)}]")
        for key, value in preset.values.items():
            lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
    write_text_atomically(path, "\n".join(lines))


def matching_preset(settings: Settings, presets: Iterable[Preset]) -> Preset | None:
    """The preset whose every value ``settings`` has, if any."""
    for preset in presets:
        if all(settings.value(key) == value for key, value in preset.values.items()):
            return preset
    return None


@dataclass(frozen=True)
class ChatTuning:
    """What one chat changes: a preset (empty: the global settings) and its own values."""

    preset: str = ""
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        return not self.preset and not self.overrides

    @classmethod
    def from_setting(cls, value: object) -> ChatTuning:
        """Read what the chat store kept; anything unreadable counts as no change."""
        if not isinstance(value, dict):
            return cls()
        preset = value.get("preset", "")
        overrides: dict[str, Any] = {}
        raw_overrides = value.get("overrides", {})
        if isinstance(raw_overrides, dict):
            for key, raw in raw_overrides.items():
                try:
                    overrides.update(validated_values({key: raw}))
                except SettingError:
                    log.warning("ignoring a chat's unusable setting %s=%r", key, raw)
        return cls(preset if isinstance(preset, str) else "", overrides)

    def to_setting(self) -> dict[str, Any] | None:
        if self.is_default:
            return None
        overrides = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in self.overrides.items()
        }
        return {"preset": self.preset, "overrides": overrides}

    def base(self, defaults: Settings, presets: PresetLibrary) -> Settings:
        """The global settings with this chat's preset applied, before its own overrides."""
        preset = presets.get(self.preset) if self.preset else None
        if preset is None:
            return defaults
        return defaults.with_values(preset.values)

    def apply(self, defaults: Settings, presets: PresetLibrary) -> Settings:
        """The settings this chat's next answer uses."""
        base = self.base(defaults, presets)
        try:
            return base.with_values(self.overrides)
        except SettingError:
            log.warning("a chat's overrides no longer apply; using its preset alone")
            return base

    def with_changes(
        self,
        preset: str,
        chosen: Settings,
        keys: Iterable[str],
        defaults: Settings,
        presets: PresetLibrary,
    ) -> ChatTuning:
        """This chat's tuning after the user chose ``preset`` and changed ``keys`` to their
        values in ``chosen``. Only those keys move: a value the chat never changed keeps
        following the global settings, even if they changed while the dialog was open."""
        keys = [key for key in keys if key in GENERATION_KEYS]
        kept = {key: value for key, value in self.overrides.items() if key not in keys}
        base = ChatTuning(preset).base(defaults, presets)
        overrides = kept | {key: chosen.value(key) for key in keys}
        return ChatTuning(
            preset, {key: value for key, value in overrides.items() if value != base.value(key)}
        )

    def describe(self, presets: PresetLibrary) -> str:
        """“Creative · temperature 1.3, top-p 0.9” for the chat header."""
        name = self.preset if self.preset and presets.get(self.preset) else "Global settings"
        if not self.overrides:
            return name
        changes = ", ".join(
            f"{SPECS[key].title.split(' (')[0].lower()} {_short(value)}"
            for key, value in self.overrides.items()
        )
        return f"{name} · {changes}"


def describe_sampling(generation: GenerationSettings) -> str:
    """“temperature 0.7, top-p 0.95, top-k 40”, plus the seed when it is fixed."""
    text = (
        f"temperature {generation.temperature:g}, top-p {generation.top_p:g}, "
        f"top-k {generation.top_k}"
    )
    return text + (f", seed {generation.seed}" if generation.seed >= 0 else "")


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return f"{len(value)} stop texts" if len(value) != 1 else "1 stop text"
    if isinstance(value, str):
        return "changed"
    return str(value)
