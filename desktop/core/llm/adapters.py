"""LoRA adapters on the chat model: checked from their header, applied by llama.cpp at a
scale, and refused with the reason when they do not fit the model, which then works without."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.errors import ModelLoadError
from desktop.core.llm import binding, llama_log
from desktop.core.models.checks import check_lora_file
from desktop.core.models.gguf import GGUFInfo

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppliedLora:
    adapter: binding.LoraAdapter | None
    name: str = ""
    scale: float = 0.0
    problem: str = ""


def apply_lora(llama: Llama, header: GGUFInfo, path: Path, scale: float) -> AppliedLora:
    """The adapter at ``path`` applied at ``scale``, or none and why not."""
    path = path.expanduser()
    try:
        check_lora_file(path, header.architecture)
        with llama_log.capture_errors() as errors:
            try:
                adapter = binding.LoraAdapter(llama, str(path))
                adapter.apply(scale)
            except ValueError:
                detail = " ".join(line.strip() for line in errors.lines if line.strip())
                raise ModelLoadError(
                    f"“{path.name}” cannot be applied to {header.path.stem}: it is probably "
                    "an adapter for another model or size."
                    + (f" (llama.cpp: {detail[-240:]})" if detail else "")
                ) from None
    except ModelLoadError as exc:
        log.warning("LoRA adapter refused: %s", exc)
        return AppliedLora(None, problem=str(exc))
    log.info("applied LoRA %s at scale %.2f", path.name, scale)
    return AppliedLora(adapter, path.stem, scale)
