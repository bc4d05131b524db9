"""Is this file the kind of model it is meant to be? Answered from its header, without weights.

The settings dialog, ``folio config set`` and the engine ask the same questions, so a file is
refused with the same words wherever it is chosen.
"""

from __future__ import annotations

from pathlib import Path

from desktop.core.errors import ModelLoadError
from desktop.core.models.gguf import GGUFError, GGUFInfo, read_gguf_info


def read_model_header(path: Path) -> GGUFInfo:
    """The header, or ``ModelLoadError`` saying why the file is not a usable GGUF."""
    try:
        return read_gguf_info(path)
    except GGUFError as exc:
        raise ModelLoadError(str(exc)) from exc


def check_chat_model_file(path: Path) -> GGUFInfo:
    """The header of a file that is to be the chat model, or ``ModelLoadError`` saying why not."""
    header = read_model_header(path)
    if header.is_embedding_only:
        raise ModelLoadError(
            f"“{path.name}” is an embedding model ({header.architecture}); it turns text "
            "into vectors for document search and cannot chat. Choose a chat (instruct) model."
        )
    return header


def check_embedding_model_file(path: Path) -> GGUFInfo:
    """The header of a file that is to be the embedding model, or ``ModelLoadError`` saying
    why not: a chat model would embed, but its vectors are poor for search."""
    header = read_model_header(path)
    if not header.is_embedding_only:
        raise ModelLoadError(
            f"“{path.name}” is a chat model ({header.architecture}), not an embedding model. "
            "Choose an embedding model such as all-MiniLM, bge or nomic-embed."
        )
    return header


def check_lora_file(path: Path, architecture: str | None = None) -> GGUFInfo:
    """The header of a LoRA adapter (for a model of ``architecture`` when given), or
    ``ModelLoadError`` saying why the file cannot be one."""
    header = read_model_header(path)
    kind = header.metadata.get("general.type")
    adapter = header.metadata.get("adapter.type")
    if kind != "adapter" or adapter != "lora":
        what = "a whole model" if kind in (None, "model") else f"a “{kind}” file"
        raise ModelLoadError(
            f"“{path.name}” is not a LoRA adapter: its header says it is {what}. Choose a GGUF "
            "LoRA adapter (converted with llama.cpp's convert_lora_to_gguf.py)."
        )
    if architecture is not None and header.architecture != architecture:
        raise ModelLoadError(
            f"“{path.name}” is a LoRA adapter for “{header.architecture}” models, but the chat "
            f"model is a “{architecture}” model. Choose an adapter trained for this model."
        )
    return header
