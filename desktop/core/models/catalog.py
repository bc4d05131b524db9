"""The catalog of models Folio offers to download: ``resources/catalog.json``, checked whole.

Each entry names its file, its address, its size, its SHA-256 and its licence; an entry that
could not be downloaded safely (no checksum, an address that is not http(s), a file name with a
folder in it) makes the whole catalog refused with a message naming the entry.

An entry may also give what the file's header would: its parameters, its context length, its
architecture, and the shape its KV cache grows with (``"attention": {"layers", "kv_heads",
"head_dim"}``). From these the window says whether a model would fit before it is downloaded;
without the shape the KV cache is guessed from the file's size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from desktop.core.models.download import (
    SHA256,
    DownloadRequest,
    download_request,
    filename_problem,
    url_problem,
)
from desktop.core.models.memory import (
    AttentionShape,
    MemoryEstimate,
    estimate_need,
    free_memory_bytes,
    guessed_kv_cache_bytes,
)
from desktop.core.models.registry import Fit, fit_of
from desktop.core.resources import resource

CATALOG_FILE = "catalog.json"
CATALOG_KINDS = ("chat", "embedding")


class CatalogError(Exception):
    """The model catalog cannot be used; the message says which entry and what is wrong."""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    filename: str
    url: str
    size_bytes: int
    sha256: str
    licence: str
    description: str
    kind: str
    # What the file's header will say, where the catalog says it.
    parameters: int | None = None
    context_length: int | None = None
    architecture: str = ""
    attention: AttentionShape | None = None

    def request(self, filename: str | None = None) -> DownloadRequest:
        """This entry's download, checked against its own checksum."""
        return download_request(
            self.url,
            sha256=self.sha256,
            filename=filename or self.filename,
            name=self.name,
            size_bytes=self.size_bytes,
        )


@dataclass(frozen=True)
class CatalogFit:
    """Whether a catalog model would fit in the memory free now, worked out before download."""

    estimate: MemoryEstimate
    # The tokens of context the KV cache is sized for (the setting, capped at the model's own).
    context: int
    # False: the catalog does not give the model's layers and heads, so the KV cache is a guess.
    shape_known: bool

    @property
    def fit(self) -> Fit:
        return fit_of(self.estimate)


def estimate_before_download(
    entry: CatalogEntry, context: int, available: int | None = None
) -> CatalogFit:
    """What ``entry`` would need at ``context`` tokens: its file for the weights (as once it is
    here), its KV cache from its shape or, without one, guessed from the file's size."""
    n_ctx = min(context, entry.context_length) if entry.context_length else context
    shape = entry.attention
    kv_bytes = (
        shape.kv_cache_bytes(n_ctx)
        if shape is not None
        else guessed_kv_cache_bytes(entry.size_bytes, n_ctx)
    )
    return CatalogFit(
        estimate=estimate_need(entry.size_bytes, kv_bytes, available),
        context=n_ctx,
        shape_known=shape is not None,
    )


def estimate_catalog(
    entries: Iterable[CatalogEntry], context: int, available: int | None = None
) -> dict[str, CatalogFit]:
    """Per file name, whether each entry would fit; the free memory is measured once for all."""
    free = free_memory_bytes() if available is None else available
    return {entry.filename: estimate_before_download(entry, context, free) for entry in entries}


def shipped_catalog() -> Path | Traversable:
    """The catalog that comes with Folio."""
    return resource(CATALOG_FILE)


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    """The models the catalog at ``path`` (default: the shipped one) offers, in its order."""
    source = path if path is not None else shipped_catalog()
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(f"The model catalog is missing: there is no file at {source}.") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise CatalogError(f"The model catalog {source} could not be read: {reason}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogError(
            f"The model catalog {source} is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise CatalogError(
            f"The model catalog {source} must be a JSON object with a “models” list."
        )
    entries = [_catalog_entry(item, index, source) for index, item in enumerate(data["models"], 1)]
    for field in ("name", "filename"):
        seen: set[str] = set()
        for entry in entries:
            value = str(getattr(entry, field)).casefold()
            if value in seen:
                raise CatalogError(
                    f"The model catalog {source} lists the {field} “{getattr(entry, field)}” "
                    "twice; each entry needs its own."
                )
            seen.add(value)
    return entries


def _catalog_entry(item: Any, index: int, source: Path | Traversable) -> CatalogEntry:
    def problem(text: str) -> CatalogError:
        label = item.get("name") if isinstance(item, dict) else None
        named = f" (“{label}”)" if isinstance(label, str) and label else ""
        return CatalogError(f"The model catalog {source}: entry {index}{named} {text}.")

    if not isinstance(item, dict):
        raise problem("is not a JSON object")
    text_fields = ("name", "filename", "url", "sha256", "licence", "description", "kind")
    values: dict[str, str] = {}
    for field in text_fields:
        value = item.get(field)
        if not isinstance(value, str) or not value.strip():
            raise problem(f"needs “{field}” as a non-empty string")
        if "\n" in value or "\r" in value:
            raise problem(f"has a line break in “{field}”; each field is one line")
        values[field] = value.strip()
    size = item.get("size_bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise problem("needs “size_bytes” as a positive whole number")
    sha256 = values["sha256"].lower()
    if not SHA256.fullmatch(sha256):
        raise problem("has a “sha256” that is not 64 hexadecimal characters")
    if url_problem(values["url"]) is not None:
        raise problem(f"has a “url” that is not an http or https address: {values['url']}")
    unusable = filename_problem(values["filename"])
    if unusable is not None:
        raise problem(f"has an unusable “filename”: {unusable}")
    if values["kind"] not in CATALOG_KINDS:
        raise problem(
            f"has “kind” {values['kind']!r}; it must be one of {', '.join(CATALOG_KINDS)}"
        )
    architecture = item.get("architecture", "")
    if not isinstance(architecture, str) or "\n" in architecture or "\r" in architecture:
        raise problem("needs “architecture” as a one-line string")
    return CatalogEntry(
        name=values["name"],
        filename=values["filename"],
        url=values["url"],
        size_bytes=size,
        sha256=sha256,
        licence=values["licence"],
        description=values["description"],
        kind=values["kind"],
        parameters=_optional_count(item, "parameters", problem),
        context_length=_optional_count(item, "context_length", problem),
        architecture=architecture.strip(),
        attention=_attention_shape(item, problem),
    )


def _optional_count(
    source: dict[str, Any], field: str, problem: Callable[[str], CatalogError], prefix: str = ""
) -> int | None:
    value = source.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise problem(f"needs “{prefix}{field}” as a positive whole number")
    return value


def _attention_shape(
    item: dict[str, Any], problem: Callable[[str], CatalogError]
) -> AttentionShape | None:
    """The entry's ``attention``: all three of its numbers, or none at all."""
    attention = item.get("attention")
    if attention is None:
        return None
    if not isinstance(attention, dict):
        raise problem("needs “attention” as a JSON object with layers, kv_heads and head_dim")
    layers, kv_heads, head_dim = (
        _optional_count(attention, field, problem, "attention.")
        for field in ("layers", "kv_heads", "head_dim")
    )
    if layers is None or kv_heads is None or head_dim is None:
        raise problem("needs “attention” with all of layers, kv_heads and head_dim")
    return AttentionShape(layers, kv_heads, key_length=head_dim, value_length=head_dim)
