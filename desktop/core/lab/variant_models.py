"""The model a lab run or variant runs on: the chat's model as it is loaded, another installed
model, or the chat's model with its LoRA adapter at another scale.

The chat's own engine is used when the choice is what it has loaded; anything else gets an
engine of its own for the length of the run, closed after it, so the chat never changes under
the user and a variant never waits for the chat model to be switched back. The second engine
is checked against the memory free like any load, and refused with the reason when it does not
fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from desktop.core.errors import EngineError
from desktop.core.llm.engine import ChatEngine
from desktop.core.models.registry import scan
from desktop.core.settings.schema import ModelSettings


@dataclass(frozen=True)
class ModelChoice:
    """A model file and the loading settings it is opened with (its LoRA adapter and scale
    among them)."""

    path: Path
    options: ModelSettings

    @property
    def identity(self) -> str:
        """The same words as the loaded model's identity: its name, its adapter and scale."""
        lora = self.options.lora_path
        suffix = f" + LoRA {Path(lora).stem} ×{self.options.lora_scale:g}" if lora else ""
        return self.path.stem + suffix

    @property
    def lora_key(self) -> tuple[str, float]:
        return (self.options.lora_path, self.options.lora_scale if self.options.lora_path else 0)

    @property
    def key(self) -> tuple[Path, str, float]:
        """What the answers depend on: the file and its adapter at its scale (the threads or
        the batch size it is loaded with change the speed, not the words)."""
        return (self.path, *self.lora_key)

    def with_lora_scale(self, scale: float) -> ModelChoice:
        return replace(self, options=replace(self.options, lora_scale=round(scale, 2)))

    def on_model(self, path: Path) -> ModelChoice:
        """Another model with the same loading settings, without the adapter (an adapter is
        made for one model)."""
        if path == self.path:
            return self
        return ModelChoice(path, replace(self.options, lora_path=""))


def chat_choice(engine: ChatEngine) -> ModelChoice | None:
    """What the chat has loaded, or None; an adapter it refused is not part of it."""
    loaded, info = engine.loaded_with, engine.info
    if loaded is None or info is None:
        return None
    path, options = loaded
    if options.lora_path and not info.lora:
        options = replace(options, lora_path="")
    return ModelChoice(path, options)


def is_chat_model(choice: ModelChoice, engine: ChatEngine) -> bool:
    chat = chat_choice(engine)
    return chat is not None and chat.key == choice.key


@contextmanager
def engine_for(choice: ModelChoice | None, chat: ChatEngine) -> Iterator[ChatEngine]:
    """An engine with ``choice`` loaded: the chat's when it is what the chat has (or when
    ``choice`` is None), else one of its own, closed afterwards. EngineError says why the
    model could not be loaded, or why its adapter was refused."""
    if choice is None or is_chat_model(choice, chat):
        if chat.info is None:
            raise EngineError("Load a chat model first: the lab runs the prompt on it.")
        yield chat
        return
    engine = ChatEngine()
    try:
        info = engine.load(choice.path, choice.options).result()
        if info.lora_problem:
            raise EngineError(info.lora_problem)
        yield engine
    finally:
        engine.close()


def installed_chat_models(folder: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """The chat models in ``folder`` and ``extra``, each once (embedding models, LoRA adapters
    and files that are not models left out); reads only their headers."""
    entries, _unusable = scan(folder, extra)
    return [entry.path for entry in entries if not (entry.is_embedding_model or entry.is_adapter)]
