"""Whether a catalog model would fit, worked out before its file is downloaded."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from desktop.core.models import memory
from desktop.core.models.catalog import (
    CatalogEntry,
    CatalogError,
    estimate_before_download,
    estimate_catalog,
    load_catalog,
)
from desktop.core.models.gguf import read_gguf_info
from desktop.core.models.memory import attention_shape, estimate_memory
from desktop.core.models.registry import Fit

GB = 1_000_000_000

ENTRY: dict[str, Any] = {
    "name": "Tiny Test Model",
    "filename": "tiny-test-model.gguf",
    "url": "https://example.org/tiny-test-model.gguf",
    "size_bytes": 2_000_000_000,
    "sha256": "a" * 64,
    "licence": "MIT",
    "description": "A model for tests.",
    "kind": "chat",
}
FACTS: dict[str, Any] = {
    "parameters": 3_210_000_000,
    "context_length": 8192,
    "architecture": "llama",
    "attention": {"layers": 28, "kv_heads": 8, "head_dim": 128},
}


def catalog_of(tmp_path: Path, *models: dict[str, Any]) -> list[CatalogEntry]:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": list(models)}), encoding="utf-8")
    return load_catalog(path)


def test_an_entry_may_give_what_its_files_header_will_say(tmp_path: Path) -> None:
    (entry,) = catalog_of(tmp_path, {**ENTRY, **FACTS})

    assert entry.parameters == 3_210_000_000
    assert entry.context_length == 8192
    assert entry.architecture == "llama"
    assert entry.attention is not None
    assert (entry.attention.layers, entry.attention.kv_heads) == (28, 8)
    assert entry.attention.key_length == entry.attention.value_length == 128

    (bare,) = catalog_of(tmp_path, ENTRY)
    assert (bare.parameters, bare.context_length, bare.architecture, bare.attention) == (
        None,
        None,
        "",
        None,
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"parameters": "3B"}, "“parameters” as a positive whole number"),
        ({"context_length": 0}, "“context_length” as a positive whole number"),
        ({"architecture": "llama\nqwen"}, "“architecture” as a one-line string"),
        ({"attention": [28, 8, 128]}, "“attention” as a JSON object"),
        ({"attention": {"layers": 28, "kv_heads": 8}}, "all of layers, kv_heads and head_dim"),
        (
            {"attention": {"layers": 28, "kv_heads": True, "head_dim": 128}},
            "“attention.kv_heads” as a positive whole number",
        ),
    ],
)
def test_a_wrong_header_fact_is_named_with_its_entry(
    tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(CatalogError, match=re.escape(fragment)) as refused:
        catalog_of(tmp_path, {**ENTRY, **FACTS, **change})
    assert "entry 1 (“Tiny Test Model”)" in str(refused.value)


def test_with_its_shape_a_catalog_entry_needs_what_its_downloaded_file_will(
    starter_model: Path,
) -> None:
    header = read_gguf_info(starter_model)
    assert header.context_length is not None
    as_listed = CatalogEntry(
        **{**ENTRY, "size_bytes": header.file_size},
        context_length=header.context_length,
        attention=attention_shape(header),
    )

    for context in (2048, 100_000):
        before = estimate_before_download(as_listed, context, available=8 * GB)
        n_ctx = min(context, header.context_length)
        assert before.context == n_ctx, "capped at the model's own context length"
        assert before.estimate == estimate_memory(header, n_ctx, available=8 * GB)
        assert before.shape_known and before.fit is Fit.FITS


def test_without_its_shape_the_kv_cache_is_guessed_from_the_file_size() -> None:
    bare = CatalogEntry(**ENTRY)
    short = estimate_before_download(bare, 2048, available=16 * GB)
    long = estimate_before_download(bare, 8192, available=16 * GB)

    assert not short.shape_known
    assert short.context == 2048, "no context length given: the setting is used as is"
    assert 0 < short.estimate.kv_cache_bytes < short.estimate.weights_bytes
    assert long.estimate.kv_cache_bytes == 4 * short.estimate.kv_cache_bytes
    assert short.estimate.weights_bytes == bare.size_bytes


def test_the_verdict_follows_the_memory_free() -> None:
    entry = CatalogEntry(**ENTRY)
    need = estimate_before_download(entry, 4096, available=0).estimate.required_bytes

    verdicts = {
        free: estimate_before_download(entry, 4096, available=free).fit
        for free in (need * 2, need, need - 1)
    }
    assert verdicts == {need * 2: Fit.FITS, need: Fit.TIGHT, need - 1: Fit.WONT_FIT}


def test_the_free_memory_is_measured_once_for_the_whole_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = catalog_of(
        tmp_path,
        ENTRY,
        {**ENTRY, **FACTS, "name": "Second", "filename": "second.gguf"},
        {**ENTRY, "name": "Third", "filename": "third.gguf", "size_bytes": 900 * GB},
    )
    readings = iter([3 * GB, 50 * GB, 50 * GB])
    monkeypatch.setattr(memory, "available_memory_bytes", lambda *_args: next(readings))

    fits = estimate_catalog(entries, 4096)

    assert list(fits) == ["tiny-test-model.gguf", "second.gguf", "third.gguf"]
    assert {fit.estimate.available_bytes for fit in fits.values()} == {3 * GB}
    assert fits["third.gguf"].fit is Fit.WONT_FIT
    assert fits["second.gguf"].shape_known and not fits["tiny-test-model.gguf"].shape_known
