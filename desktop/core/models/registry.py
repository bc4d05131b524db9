"""The models Folio knows: the models folder, the starter models, and what each file's header says.

Everything here is read from GGUF headers, never by loading weights, so listing a folder of
multi-gigabyte models takes milliseconds. Whether a model fits is the memory estimate (weights +
KV cache for the chosen context + overhead) against the memory actually free now.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from desktop.core.models.gguf import GGUFError, GGUFInfo, read_gguf_info
from desktop.core.models.memory import MemoryEstimate, estimate_memory
from desktop.core.models.starter import starter_embedder_target, starter_model_path

# llama.cpp's ``general.file_type`` (enum llama_ftype): the quantisation most tensors use.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
}
# Below this share of the free memory a model fits with room to spare; up to all of it, tight
# (it loads, but the rest of the machine slows down or swaps).
COMFORTABLE_SHARE = 0.75
COPY_BLOCK = 8 << 20


class Fit(StrEnum):
    FITS = "fits"
    TIGHT = "tight"
    WONT_FIT = "wont_fit"


def fit_of(estimate: MemoryEstimate) -> Fit:
    if estimate.required_bytes <= estimate.available_bytes * COMFORTABLE_SHARE:
        return Fit.FITS
    return Fit.TIGHT if estimate.fits else Fit.WONT_FIT


@dataclass(frozen=True)
class ModelEntry:
    path: Path
    name: str
    architecture: str
    parameters: int
    quantization: str
    context_length: int | None
    has_chat_template: bool
    is_embedding_model: bool
    size_bytes: int
    licence: str
    estimate: MemoryEstimate
    context_for_estimate: int
    # A LoRA adapter is a GGUF file too, but applied to a model rather than loaded as one.
    is_adapter: bool = False

    @property
    def fit(self) -> Fit:
        return fit_of(self.estimate)


@dataclass(frozen=True)
class UnusableFile:
    path: Path
    reason: str


def describe(header: GGUFInfo, context: int, available: int | None = None) -> ModelEntry:
    """What the header says, and the memory the model needs at ``context`` tokens (capped at
    the model's own context length)."""
    n_ctx = min(context, header.context_length) if header.context_length else context
    file_type = header.metadata.get("general.file_type")
    quantization = (
        FILE_TYPES.get(file_type, f"type {file_type}")
        if isinstance(file_type, int) and not isinstance(file_type, bool)
        else "unknown"
    )
    licence = header.metadata.get("general.license", "")
    return ModelEntry(
        path=header.path,
        name=header.path.stem,
        architecture=header.architecture,
        parameters=header.parameter_count,
        quantization=quantization,
        context_length=header.context_length,
        has_chat_template=header.chat_template is not None,
        is_embedding_model=header.is_embedding_only,
        size_bytes=header.file_size,
        licence=licence if isinstance(licence, str) else "",
        estimate=estimate_memory(header, n_ctx, available),
        context_for_estimate=n_ctx,
        is_adapter=header.metadata.get("general.type") == "adapter",
    )


def known_model_files(
    cache: Path, configured: Iterable[str], loaded: Path | None = None
) -> list[Path]:
    """The models outside the models folder that Folio knows of: the starter chat model, the
    converted starter embedder, the configured files and the one loaded now, those present."""
    files = [starter_model_path(), starter_embedder_target(cache), loaded]
    files.extend(Path(path).expanduser() for path in configured if path)
    return [path for path in files if path is not None and path.is_file()]


def scan(
    folder: Path, extra: Iterable[Path] = (), context: int = 4096, available: int | None = None
) -> tuple[list[ModelEntry], list[UnusableFile]]:
    """Every ``.gguf`` in ``folder`` (and its subfolders) plus ``extra`` files, each once; files
    that are not usable models come back separately, each with the reason."""
    candidates: list[Path] = list(extra)
    if folder.is_dir():
        candidates.extend(sorted(folder.rglob("*.gguf"), key=lambda path: path.name.lower()))
    seen: set[Path] = set()
    models: list[ModelEntry] = []
    unusable: list[UnusableFile] = []
    for path in candidates:
        try:
            resolved = path.resolve()
        except OSError:
            resolved = path
        if resolved in seen:
            continue
        seen.add(resolved)
        try:
            models.append(describe(read_gguf_info(path), context, available))
        except GGUFError as error:
            unusable.append(UnusableFile(path, str(error)))
    return models, unusable


class ModelImportError(Exception):
    """The file cannot be imported; the message is written for the user."""


def import_model(
    source: Path, folder: Path, *, link: bool = False, stop: threading.Event | None = None
) -> Path:
    """Copy (or symlink) a GGUF into the models folder after checking its header; a copy is
    written beside its final name and renamed, so a failed copy never looks like a model."""
    try:
        header = read_gguf_info(source)
    except GGUFError as error:
        raise ModelImportError(str(error)) from None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if target.exists() or target.is_symlink():
        if target.resolve() == source.resolve():
            return target
        raise ModelImportError(
            f"The models folder already has a file named “{source.name}”. Rename one of them."
        )
    if link:
        target.symlink_to(source.resolve())
        return target
    free = shutil.disk_usage(folder).free
    if header.file_size > free:
        raise ModelImportError(
            f"“{source.name}” needs {header.file_size / 1e9:.1f} GB but only {free / 1e9:.1f} GB "
            "is free where the models folder is."
        )
    partial = folder / f".{source.name}.part"
    try:
        _copy(source, partial, stop)
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ModelImportError(f"“{source.name}” could not be copied: {error.strerror}.") from None
    except ModelImportError:
        partial.unlink(missing_ok=True)
        raise
    return target


def _copy(source: Path, target: Path, stop: threading.Event | None) -> None:
    """A copy that ``stop`` ends between blocks (a model is gigabytes: quitting must not wait)."""
    with source.open("rb") as reader, target.open("wb") as writer:
        while block := reader.read(COPY_BLOCK):
            if stop is not None and stop.is_set():
                raise ModelImportError(f"Importing “{source.name}” was stopped.")
            writer.write(block)


class ModelDeleteError(Exception):
    """The file cannot be deleted; the message is written for the user."""


def delete_model(path: Path, folder: Path) -> None:
    """Delete a model file that lives in the models folder; a link is removed, never the file
    it points to. Anything elsewhere (the starter models, a file the settings point at) belongs
    to someone else and is refused."""
    # The link itself is what must be in the folder, so only its parent is resolved.
    location = path.expanduser().absolute()
    location = location.parent.resolve() / location.name
    root = folder.expanduser().resolve()
    if location == root or not location.is_relative_to(root):
        raise ModelDeleteError(
            f"“{path.name}” is not in the models folder ({root}). Folio deletes only the models "
            "it keeps there; remove other files with your file manager."
        )
    if not location.is_symlink():
        if not location.exists():
            raise ModelDeleteError(f"“{path.name}” is not in the models folder any more.")
        if not location.is_file():
            raise ModelDeleteError(f"“{path.name}” is a folder, not a model file.")
    try:
        location.unlink()
    except FileNotFoundError:
        raise ModelDeleteError(f"“{path.name}” is not in the models folder any more.") from None
    except PermissionError:
        raise ModelDeleteError(
            f"Folio may not delete “{path.name}” (permission denied). Check the permissions of "
            f"{root}."
        ) from None
    except OSError as error:
        raise ModelDeleteError(
            f"“{path.name}” could not be deleted: {error.strerror or error}."
        ) from None
