"""Will a model fit? Weights + KV cache + working overhead against the memory actually free."""

from __future__ import annotations

from dataclasses import dataclass

from desktop.core.models.gguf import GGUFInfo
from desktop.core.platform import available_memory_bytes

# llama.cpp's compute buffers and Folio's own share, measured loosely on small models.
_OVERHEAD_BYTES = 300 * 1024 * 1024
# Decimal gigabytes, as file sizes are shown everywhere else (the Models window, file managers).
_GB = 1000**3


@dataclass(frozen=True)
class MemoryEstimate:
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    available_bytes: int

    @property
    def required_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    @property
    def fits(self) -> bool:
        return self.required_bytes <= self.available_bytes

    @property
    def required_gb(self) -> float:
        return self.required_bytes / _GB

    @property
    def available_gb(self) -> float:
        return self.available_bytes / _GB


def kv_cache_bytes(header: GGUFInfo, n_ctx: int) -> int:
    """Keys and values in f16 for every layer and context position."""
    arch = header.architecture
    meta = header.metadata

    def number(key: str, default: int) -> int:
        value = meta.get(f"{arch}.{key}", default)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    layers = number("block_count", 0)
    embedding = number("embedding_length", 0)
    heads = number("attention.head_count", 1) or 1
    kv_heads = number("attention.head_count_kv", heads) or heads
    key_dim = number("attention.key_length", embedding // heads)
    value_dim = number("attention.value_length", embedding // heads)
    return layers * n_ctx * kv_heads * (key_dim + value_dim) * 2


def estimate_memory(
    header: GGUFInfo, n_ctx: int, available: int | None = None, freed_first: int = 0
) -> MemoryEstimate:
    """``freed_first``: memory that will be released before loading (the current model's)."""
    free_now = available_memory_bytes() if available is None else available
    return MemoryEstimate(
        weights_bytes=header.file_size,
        kv_cache_bytes=kv_cache_bytes(header, n_ctx),
        overhead_bytes=_OVERHEAD_BYTES,
        available_bytes=free_now + freed_first,
    )
