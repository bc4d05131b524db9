"""Why llama.cpp could not load a model, in words a person can act on, from what it logged."""

from __future__ import annotations

from collections.abc import Sequence

from desktop.core.models.gguf import GGUFInfo


def explain_load_failure(header: GGUFInfo, errors: Sequence[str], exc: Exception) -> str:
    detail = " ".join(line.strip() for line in errors if line.strip())
    name = header.path.name
    if "unknown model architecture" in detail or "unknown architecture" in detail:
        return (
            f"“{name}” is a “{header.architecture}” model, an architecture this version of "
            "llama.cpp cannot run. Choose a model of a supported family (Llama, Qwen, Mistral, "
            "Gemma, Phi, SmolLM…)."
        )
    if "failed to allocate" in detail or "out of memory" in detail.lower():
        return f"There is not enough memory to load “{name}”. Choose a smaller model."
    if detail:
        return f"llama.cpp could not load “{name}”: {detail[-400:]}"
    return f"llama.cpp could not load “{name}” ({exc})."
