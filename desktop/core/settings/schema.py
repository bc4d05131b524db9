"""The one settings schema: every setting declared once, as a typed field with what it means.

Each field of the four groups below carries its default, title, help text, bounds, unit, what a
change sets off (``Effect``), the name llama.cpp knows it by and the check a file value must pass.
The settings file, the settings dialog, ``folio config``, the ``folio ask`` options, the README
table and the engine's sampling and load parameters all read this declaration, so a new field is
one edit here and shows up everywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import Field, dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from desktop.core.errors import EngineError
from desktop.core.models.checks import (
    check_chat_model_file,
    check_embedding_model_file,
    check_lora_file,
)

Value = float | int | str | tuple[str, ...]


class Effect(StrEnum):
    """What changing a setting sets off, besides being saved."""

    # Read again when the next answer starts: nothing else to do.
    NEXT_ANSWER = "next_answer"
    # The chat model is loaded again with the new value (the dialog says so before Apply).
    RELOAD_MODEL = "reload_model"
    # Applies to documents indexed from now on; Folio offers to index the others again.
    REINDEX = "reindex"
    # Every vector must come from the same model: Folio asks, then indexes everything again.
    SWITCH_EMBEDDER = "switch_embedder"
    # The window is redrawn at once.
    RESTYLE = "restyle"


@dataclass(frozen=True)
class FieldSpec:
    key: str
    group: str
    title: str
    help: str
    default: Value
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    effect: Effect = Effect.NEXT_ANSWER
    # A text field limited to these values (shown as a choice, not typed), and how the dialog
    # names each one when that differs from the stored value.
    choices: tuple[str, ...] = ()
    choice_titles: tuple[str, ...] = ()
    # A text field naming a file: the dialog offers a file chooser with this filter.
    file_filter: str = ""
    # What the minimum of a number means, shown in its place ("Off", "Automatic").
    minimum_title: str = ""
    # What an empty text means ("the built-in starter model").
    empty_title: str = ""
    # llama.cpp's own name for the value, where the engine hands it on unchanged.
    binding_arg: str = ""
    # The ``folio ask`` option, where it is not ``--`` and the key with dashes.
    option: str = ""
    # Part of a saved preset (a generation value that describes a way of answering).
    in_presets: bool = True
    # A file setting's check: raises ``EngineError`` saying why the file cannot serve.
    check: Callable[[Path], object] | None = None

    @property
    def kind(self) -> type:
        return type(self.default)

    @property
    def reloads_model(self) -> bool:
        return self.effect == Effect.RELOAD_MODEL

    @property
    def reindexes(self) -> bool:
        return self.effect in (Effect.REINDEX, Effect.SWITCH_EMBEDDER)

    @property
    def option_name(self) -> str:
        return self.option or "--" + self.key.replace("_", "-")


_DECLARED = "folio.setting"


def setting(default: Value, title: str, help: str, **attributes: Any) -> Any:
    """Declare one setting: a dataclass field whose metadata holds everything else about it."""
    return field(
        default=default, metadata={_DECLARED: {"title": title, "help": help, **attributes}}
    )


GGUF_FILTER = "GGUF models (*.gguf)"


@dataclass(frozen=True)
class GenerationSettings:
    TITLE: ClassVar[str] = "Generation"
    NOTE: ClassVar[str] = ""

    temperature: float = setting(
        0.7,
        "Temperature",
        "How adventurous the choice of each next word is. Low values (0.1-0.3) nearly always pick "
        "the most likely word: good for facts, a capital city, classification. High values "
        "(1.0 and up) spread the choice over less likely words: good for brainstorming or a "
        "creative essay, at the risk of drifting off topic. 0 always picks the top word.",
        minimum=0.0,
        maximum=2.0,
        binding_arg="temp",
    )
    top_p: float = setting(
        0.95,
        "Top-p (nucleus)",
        "Keeps only the most likely next words whose probabilities add up to this share, then "
        "chooses among them. Example: candidates at 0.4 / 0.3 / 0.2 / 0.1 with top-p 0.8 keep the "
        "first three (0.4 + 0.3 + 0.2 = 0.9 reaches 0.8) and never pick the fourth. Lower it for "
        "focused answers; 1.0 turns it off.",
        minimum=0.0,
        maximum=1.0,
        binding_arg="top_p",
    )
    top_k: int = setting(
        40,
        "Top-k",
        "Considers only this many of the most likely next words. 40 is a common choice; "
        "0 turns the limit off.",
        minimum=0,
        maximum=500,
        unit="words",
        minimum_title="Off",
        binding_arg="top_k",
    )
    min_p: float = setting(
        0.05,
        "Min-p",
        "Drops any next word less likely than this fraction of the best one's probability. "
        "0.05 removes the long tail of unlikely words; 0 turns it off.",
        minimum=0.0,
        maximum=1.0,
        binding_arg="min_p",
    )
    repeat_penalty: float = setting(
        1.1,
        "Repeat penalty",
        "Makes words that already appeared recently less likely, to stop the model looping. "
        "1.0 is off; 1.1 is a gentle push; above 1.3 the text starts avoiding words it needs.",
        minimum=1.0,
        maximum=2.0,
        binding_arg="repeat_penalty",
    )
    presence_penalty: float = setting(
        0.0,
        "Presence penalty",
        "Lowers the chance of any word that has appeared at all, nudging the model to new "
        "topics. 0 is off; negative values encourage staying on topic.",
        minimum=-2.0,
        maximum=2.0,
        binding_arg="presence_penalty",
    )
    frequency_penalty: float = setting(
        0.0,
        "Frequency penalty",
        "Lowers the chance of a word in proportion to how often it has appeared, reducing "
        "repetition of the same phrases. 0 is off.",
        minimum=-2.0,
        maximum=2.0,
        binding_arg="frequency_penalty",
    )
    max_tokens: int = setting(
        512,
        "Maximum answer length",
        "The longest answer the model may write, in tokens (a token is roughly three quarters "
        "of an English word). This room is reserved in the context window.",
        minimum=16,
        maximum=16384,
        unit="tokens",
    )
    seed: int = setting(
        -1,
        "Seed",
        "Fixes the random choices so the same question with the same settings gives the same "
        "answer. -1 (Random each time) picks a new random seed for every answer.",
        minimum=-1,
        maximum=2_147_483_647,
        minimum_title="Random each time",
    )
    stop: tuple[str, ...] = setting(
        (),
        "Stop sequences",
        "The answer ends as soon as the model writes any of these texts (they are not shown).",
    )
    system_prompt: str = setting(
        "You are a helpful assistant. Answer clearly and concisely.",
        "System prompt",
        "Standing instructions the model sees before every conversation.",
        option="--system",
        in_presets=False,
    )


@dataclass(frozen=True)
class ModelSettings:
    TITLE: ClassVar[str] = "Model loading"
    NOTE: ClassVar[str] = (
        "Changing any of these loads the model again, which takes a few seconds; Folio says so "
        "before it happens."
    )

    model_path: str = setting(
        "",
        "Chat model file",
        "The GGUF model used for chat. Empty means the built-in starter model.",
        effect=Effect.RELOAD_MODEL,
        file_filter=GGUF_FILTER,
        empty_title="the starter model",
        option="--model",
        check=check_chat_model_file,
    )
    context_length: int = setting(
        4096,
        "Context length",
        "How many tokens the model can see at once: system prompt, earlier turns, your question "
        "and the answer together. Larger windows remember more of the chat but use more memory.",
        minimum=512,
        maximum=131072,
        unit="tokens",
        effect=Effect.RELOAD_MODEL,
        binding_arg="n_ctx",
    )
    threads: int = setting(
        0,
        "CPU threads",
        "How many CPU threads generate the answer. 0 lets Folio choose (one per physical core).",
        minimum=0,
        maximum=256,
        unit="threads",
        effect=Effect.RELOAD_MODEL,
        minimum_title="Automatic",
        binding_arg="n_threads",
    )
    batch_size: int = setting(
        512,
        "Batch size",
        "How many prompt tokens are processed in one step. Larger is faster on long prompts and "
        "uses a little more memory.",
        minimum=32,
        maximum=4096,
        unit="tokens",
        effect=Effect.RELOAD_MODEL,
        binding_arg="n_batch",
    )
    gpu_layers: int = setting(
        0,
        "GPU layers",
        "How many of the model's layers run on the graphics card. 0 runs everything on the CPU; "
        "-1 puts every layer on the GPU. More layers on the GPU answer faster but need its "
        "memory. It only has an effect when llama.cpp was built with GPU support.",
        minimum=-1,
        maximum=999,
        unit="layers",
        effect=Effect.RELOAD_MODEL,
        minimum_title="All layers",
        binding_arg="n_gpu_layers",
    )
    lora_path: str = setting(
        "",
        "LoRA adapter",
        "A GGUF LoRA adapter trained for the chat model, applied on top of it: a small file "
        "that specialises the model (a style, a task). Empty means none. An adapter for another "
        "model is refused and the model works without it.",
        effect=Effect.RELOAD_MODEL,
        file_filter="GGUF LoRA adapters (*.gguf)",
        empty_title="none",
        option="--lora",
        check=check_lora_file,
    )
    lora_scale: float = setting(
        1.0,
        "LoRA scale",
        "How strongly the adapter changes the model: 0 is the model as it is, 1 the adapter as "
        "trained, more exaggerates it.",
        minimum=0.0,
        maximum=4.0,
        effect=Effect.RELOAD_MODEL,
        option="--lora-scale",
    )


@dataclass(frozen=True)
class DocumentSettings:
    TITLE: ClassVar[str] = "Documents"
    NOTE: ClassVar[str] = (
        "Passage size and overlap apply to documents indexed from now on; Folio offers to index "
        "the others again. Sources, balance and threshold apply to the next question."
    )

    chunk_size: int = setting(
        600,
        "Passage size",
        "Documents are cut into passages of about this many characters; a question is answered "
        "from the best passages. Smaller passages point at the exact place; larger ones keep "
        "more context together. About a paragraph (600) found the right page most often on "
        "Folio's test documents. Applies to documents indexed from now on.",
        minimum=200,
        maximum=4000,
        unit="characters",
        effect=Effect.REINDEX,
    )
    chunk_overlap: int = setting(
        100,
        "Passage overlap",
        "How much text neighbouring passages share, so a sentence cut at a passage boundary is "
        "still found whole in one of them. Must be smaller than the passage size.",
        minimum=0,
        maximum=1000,
        unit="characters",
        effect=Effect.REINDEX,
    )
    # Measured with the starter model on the dev questions (folio eval --answers): 2 sources
    # gave the reference in the answer or the quotes for 41 % of questions, 3 for 33 %, 4 for
    # 33 %, 6 for 30 %, with prompts of 460, 640, 840 and 1,210 tokens.
    results_per_question: int = setting(
        2,
        "Sources per answer",
        "How many passages (at most one per page) are given to the model with a question about "
        "your documents. More sources find more, but fill the context window, take longer to "
        "read and give a small model more to get confused by: with the starter model two answer "
        "best; a larger model can use more.",
        minimum=1,
        maximum=20,
        unit="passages",
    )
    keyword_share: float = setting(
        0.5,
        "Keywords vs. meaning",
        "How keyword search and meaning search are weighed: 0.5 equally, 0 meaning only, "
        "1 keywords only. Keyword search finds exact words, names and numbers; meaning search "
        "finds passages that say the same thing in other words.",
        minimum=0.0,
        maximum=1.0,
    )
    relevance_threshold: float = setting(
        0.25,
        "Relevance needed",
        "How relevant (0 to 1, the score shown beside each source) the best passage must be "
        "before a question counts as covered by your documents. In the automatic mode a "
        "question below it is answered by the model alone, marked as not from your documents; "
        "with \u201cDocuments: all\u201d Folio says the documents do not cover it. Raise it if "
        "answers cite unrelated passages; lower it if Folio misses questions your documents "
        "answer.",
        minimum=0.0,
        maximum=1.0,
    )
    embedding_model: str = setting(
        "",
        "Embedding model",
        "The GGUF model that turns passages into vectors for meaning search. Empty means the "
        "built-in all-MiniLM-L6-v2. Changing it means every document is indexed again.",
        effect=Effect.SWITCH_EMBEDDER,
        file_filter=GGUF_FILTER,
        empty_title="the built-in all-MiniLM-L6-v2",
        check=check_embedding_model_file,
    )


@dataclass(frozen=True)
class AppearanceSettings:
    TITLE: ClassVar[str] = "Appearance"
    NOTE: ClassVar[str] = "Applies at once to the whole window."

    theme: str = setting(
        "system",
        "Theme",
        "Light or dark colours, or whatever the system uses.",
        effect=Effect.RESTYLE,
        choices=("system", "light", "dark"),
        choice_titles=("Follow the system", "Light", "Dark"),
    )
    font_size: int = setting(
        0,
        "Text size",
        "The size of the text in the window, in points; 0 follows the system.",
        minimum=0,
        maximum=32,
        unit="pt",
        effect=Effect.RESTYLE,
        minimum_title="System size",
    )


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
        updated = self.replaced(groups)
        problem = updated.conflict()
        if problem is not None:
            raise problem
        return updated

    def replaced(self, groups: Mapping[str, Mapping[str, Any]]) -> Settings:
        """A copy with already coerced values, by group, and no rule checked."""
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

    def file_problems(self, keys: Sequence[str]) -> list[SettingError]:
        """What is wrong with the files that ``keys`` name (read from their headers only)."""
        problems = []
        for key in keys:
            problem = file_problem(SPECS[key], self.value(key))
            if problem is not None:
                problems.append(SettingError(key, problem))
        return problems


class SettingError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class _Group(Protocol):
    """A group of settings: a dataclass with a title and a note for the settings dialog."""

    TITLE: ClassVar[str]
    NOTE: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


def _group_classes() -> dict[str, type[_Group]]:
    """Each group's name (its field in ``Settings``) and class, in the order they are shown."""
    return {item.name: cast(type[_Group], item.default_factory) for item in fields(Settings)}


GROUP_CLASSES = _group_classes()
GENERATION, MODEL, DOCUMENTS, APPEARANCE = GROUP_CLASSES
GROUPS: tuple[str, ...] = tuple(GROUP_CLASSES)
GROUP_TITLES: dict[str, str] = {name: cls.TITLE for name, cls in GROUP_CLASSES.items()}
GROUP_NOTES: dict[str, str] = {name: cls.NOTE for name, cls in GROUP_CLASSES.items()}
# The groups that shape one answer, and so are options of ``folio ask``.
ASK_GROUPS: tuple[str, ...] = (GENERATION, MODEL)


def _declared(group: str, declaration: Field[Any]) -> FieldSpec:
    attributes = declaration.metadata[_DECLARED]
    default = cast(Value, declaration.default)
    return FieldSpec(key=declaration.name, group=group, default=default, **attributes)


def _schema() -> Iterator[FieldSpec]:
    for group, cls in GROUP_CLASSES.items():
        for declaration in fields(cls):
            yield _declared(group, declaration)


SCHEMA: tuple[FieldSpec, ...] = tuple(_schema())
SPECS: dict[str, FieldSpec] = {spec.key: spec for spec in SCHEMA}


def specs_of(group: str) -> list[FieldSpec]:
    return [spec for spec in SCHEMA if spec.group == group]


def binding_arguments(group: object) -> dict[str, Any]:
    """The values of one group that llama.cpp takes as they are, under llama.cpp's names."""
    return {
        spec.binding_arg: getattr(group, spec.key)
        for spec in SCHEMA
        if spec.binding_arg and isinstance(group, GROUP_CLASSES[spec.group])
    }


def file_problem(spec: FieldSpec, value: object) -> str | None:
    """Why the file a file setting names cannot serve, read from its header (no weights)."""
    if spec.check is None or not isinstance(value, str) or not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        return f"There is no file at {path}."
    try:
        spec.check(path)
    except EngineError as error:
        return str(error)
    return None


# Past this an integer cannot become a float (``OverflowError``), and no setting comes near it.
_LARGEST_NUMBER = 2**53


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
    if isinstance(raw, int) and abs(raw) > _LARGEST_NUMBER:
        raise SettingError(spec.key, f"{title} is far too large a number.")
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
        raise SettingError(spec.key, f"{title} must be at least {format_number(spec.minimum)}.")
    if spec.maximum is not None and number > spec.maximum:
        raise SettingError(spec.key, f"{title} must be at most {format_number(spec.maximum)}.")
    return int(number) if isinstance(spec.default, int) else float(number)


def format_number(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def display_value(value: object) -> str:
    """A value as the settings file and the problems found in it show it."""
    if isinstance(value, tuple):
        return "none" if not value else ", ".join(value)
    return json.dumps(value) if isinstance(value, str) else str(value)
