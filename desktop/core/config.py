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
    # Changing this field changes how documents are indexed: existing documents need indexing
    # again to follow it (the app offers to).
    reindexes: bool = False
    # A text field limited to these values (shown as a choice, not typed).
    choices: tuple[str, ...] = ()
    # A text field naming a file: the dialog offers a file chooser with this filter.
    file_filter: str = ""
    # How the dialog shows a choice value, when it differs from the stored value.
    choice_titles: tuple[str, ...] = ()
    # What the minimum of a number means, shown in its place ("Off", "Automatic").
    minimum_title: str = ""

    @property
    def kind(self) -> type:
        return type(self.default)


GENERATION = "generation"
MODEL = "model"
DOCUMENTS = "documents"
APPEARANCE = "appearance"
GROUPS: tuple[str, ...] = (GENERATION, MODEL, DOCUMENTS, APPEARANCE)
GROUP_TITLES: dict[str, str] = {
    GENERATION: "Generation",
    MODEL: "Model loading",
    DOCUMENTS: "Documents",
    APPEARANCE: "Appearance",
}
GGUF_FILTER = "GGUF models (*.gguf)"

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
        minimum_title="Off",
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
        "answer. -1 (Random each time) picks a new random seed for every answer.",
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
        file_filter=GGUF_FILTER,
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
        minimum_title="Automatic",
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
    FieldSpec(
        "gpu_layers",
        MODEL,
        "GPU layers",
        "How many of the model's layers run on the graphics card. 0 runs everything on the CPU; "
        "-1 puts every layer on the GPU. More layers on the GPU answer faster but need its "
        "memory. It only has an effect when llama.cpp was built with GPU support.",
        0,
        -1,
        999,
        "layers",
        reloads_model=True,
        minimum_title="All layers",
    ),
    FieldSpec(
        "chunk_size",
        DOCUMENTS,
        "Passage size",
        "Documents are cut into passages of about this many characters; a question is answered "
        "from the best passages. Smaller passages point at the exact place; larger ones keep "
        "more context together. About a paragraph (600) found the right page most often on "
        "Folio's test documents. Applies to documents indexed from now on.",
        600,
        200,
        4000,
        "characters",
        reindexes=True,
    ),
    FieldSpec(
        "chunk_overlap",
        DOCUMENTS,
        "Passage overlap",
        "How much text neighbouring passages share, so a sentence cut at a passage boundary is "
        "still found whole in one of them. Must be smaller than the passage size.",
        100,
        0,
        1000,
        "characters",
        reindexes=True,
    ),
    FieldSpec(
        "results_per_question",
        DOCUMENTS,
        "Sources per answer",
        "How many passages (at most one per page) are given to the model with a question about "
        "your documents. More sources find more, but fill the context window and give a small "
        "model more to get confused by.",
        6,
        1,
        20,
        "passages",
    ),
    FieldSpec(
        "keyword_share",
        DOCUMENTS,
        "Keywords vs. meaning",
        "How keyword search and meaning search are weighed: 0.5 equally, 0 meaning only, "
        "1 keywords only. Keyword search finds exact words, names and numbers; meaning search "
        "finds passages that say the same thing in other words.",
        0.5,
        0.0,
        1.0,
    ),
    FieldSpec(
        "relevance_threshold",
        DOCUMENTS,
        "Relevance threshold",
        "How similar in meaning the best passage must be (0 to 1) before Folio answers from your "
        "documents. Below it, Folio says the documents do not cover the question instead of "
        "guessing. Raise it if answers cite unrelated passages; lower it if Folio refuses "
        "questions your documents do answer.",
        0.25,
        0.0,
        1.0,
    ),
    FieldSpec(
        "embedding_model",
        DOCUMENTS,
        "Embedding model",
        "The GGUF model that turns passages into vectors for meaning search. Empty means the "
        "built-in all-MiniLM-L6-v2. Changing it means every document is indexed again.",
        "",
        reindexes=True,
        file_filter=GGUF_FILTER,
    ),
    FieldSpec(
        "theme",
        APPEARANCE,
        "Theme",
        "Light or dark colours, or whatever the system uses.",
        "system",
        choices=("system", "light", "dark"),
        choice_titles=("Follow the system", "Light", "Dark"),
    ),
    FieldSpec(
        "font_size",
        APPEARANCE,
        "Text size",
        "The size of the text in the window, in points; 0 follows the system.",
        0,
        0,
        32,
        "pt",
        minimum_title="System size",
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
    gpu_layers: int = 0


@dataclass(frozen=True)
class DocumentSettings:
    chunk_size: int = 600
    chunk_overlap: int = 100
    results_per_question: int = 6
    keyword_share: float = 0.5
    relevance_threshold: float = 0.25
    embedding_model: str = ""


@dataclass(frozen=True)
class AppearanceSettings:
    theme: str = "system"
    font_size: int = 0


@dataclass(frozen=True)
class Settings:
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    appearance: AppearanceSettings = field(default_factory=AppearanceSettings)

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
        updated = self._replaced(groups)
        problem = updated.conflict()
        if problem is not None:
            raise problem
        return updated

    def _replaced(self, groups: Mapping[str, Mapping[str, Any]]) -> Settings:
        return replace(
            self,
            **{name: replace(getattr(self, name), **values) for name, values in groups.items()},
        )

    def values(self) -> dict[str, Any]:
        """Every setting by key, in schema order."""
        return {spec.key: self.value(spec.key) for spec in SCHEMA}

    def changed_keys(self, other: Settings) -> list[str]:
        return [spec.key for spec in SCHEMA if self.value(spec.key) != other.value(spec.key)]

    def conflict(self) -> SettingError | None:
        """A rule between two fields that these values break, if any."""
        documents = self.documents
        if documents.chunk_overlap >= documents.chunk_size:
            return SettingError(
                "chunk_overlap",
                f"Passage overlap ({documents.chunk_overlap}) must be smaller than the passage "
                f"size ({documents.chunk_size}).",
            )
        return None


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
        if spec.choices and raw not in spec.choices:
            raise SettingError(
                spec.key, f"{title} must be one of {', '.join(spec.choices)}, not “{raw}”."
            )
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
                problems.append(f"{exc} It was reset to {_display(spec.default)}.")
    # Rules between fields are checked once every field is read, so their order in the file
    # does not matter; a broken rule resets the field it names.
    settings = Settings()._replaced(groups)
    while (conflict := settings.conflict()) is not None:
        default = SPECS[conflict.key].default
        problems.append(f"{conflict} It was reset to {_display(default)}.")
        settings = settings._replaced({SPECS[conflict.key].group: {conflict.key: default}})
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
    for group_name in GROUPS:
        lines.append(f"[{group_name}]")
        group = getattr(settings, group_name)
        for spec_field in fields(group):
            lines.append(f"{spec_field.name} = {toml_value(getattr(group, spec_field.name))}")
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


README_TABLE_START = "<!-- settings table: generated from desktop/core/config.py -->"
README_TABLE_END = "<!-- end of settings table -->"


def settings_table_markdown() -> str:
    """The README's settings table, from the schema (a test keeps the README in step)."""
    rows = [
        "| setting | group | default | range | what it does |",
        "|---|---|---|---|---|",
    ]
    for spec in SCHEMA:
        if spec.choices:
            span = " / ".join(spec.choices)
        elif spec.minimum is not None and spec.maximum is not None:
            span = f"{_fmt(spec.minimum)} – {_fmt(spec.maximum)}"
            if spec.unit:
                span += f" {spec.unit}"
        else:
            span = ""
        default = _display(spec.default)
        if spec.file_filter and not spec.default:
            default = "built-in"
        elif isinstance(spec.default, str) and len(default) > 24:
            default = default[:22] + '…"'
        notes = []
        if spec.reloads_model:
            notes.append("reloads the model")
        if spec.reindexes:
            notes.append("offers to re-index")
        summary = _first_sentence(spec.help)
        if notes:
            summary += f" ({', '.join(notes)})"
        rows.append(
            f"| `{spec.key}` | {GROUP_TITLES[spec.group]} | {default} | {span} | "
            f"{summary.replace('|', '/')} |"
        )
    return "\n".join(rows)


def _first_sentence(text: str) -> str:
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]
