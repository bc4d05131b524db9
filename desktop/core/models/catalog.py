"""The catalog of models Folio offers to download: ``resources/catalog.json``, checked whole.

Each entry names its file, its address, its size, its SHA-256 and its licence; an entry that
could not be downloaded safely (no checksum, an address that is not http(s), a file name with a
folder in it) makes the whole catalog refused with a message naming the entry.
"""

from __future__ import annotations

import json
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

    def request(self, filename: str | None = None) -> DownloadRequest:
        """This entry's download, checked against its own checksum."""
        return download_request(
            self.url,
            sha256=self.sha256,
            filename=filename or self.filename,
            name=self.name,
            size_bytes=self.size_bytes,
        )


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
    return CatalogEntry(
        name=values["name"],
        filename=values["filename"],
        url=values["url"],
        size_bytes=size,
        sha256=sha256,
        licence=values["licence"],
        description=values["description"],
        kind=values["kind"],
    )
