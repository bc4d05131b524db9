"""The starter embedder, all-MiniLM-L6-v2: shipped inside Folio as GGUF, or (in an install made
before it was) converted from its PyPI package at first use."""

from __future__ import annotations

from pathlib import Path

from desktop.core.embedding.convert import ConversionError, convert_sentence_transformer
from desktop.core.errors import ModelLoadError
from desktop.core.models.starter import starter_embedder_source, starter_embedder_target


def starter_embedder_path(cache_dir: Path) -> Path:
    """all-MiniLM-L6-v2 as GGUF: Folio's own copy, else converted from its PyPI package once.

    Raises ``ModelLoadError`` with a user-facing message if neither is installed.
    """
    target = starter_embedder_target(cache_dir)
    if target.is_file():
        return target
    source = starter_embedder_source()
    try:
        convert_sentence_transformer(source, target)
    except (ConversionError, OSError, KeyError) as exc:
        raise ModelLoadError(f"The starter embedding model could not be prepared: {exc}") from exc
    return target
