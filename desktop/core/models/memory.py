"""Will a model fit? Weights + KV cache + working overhead against the memory actually free."""

from __future__ import annotations

from dataclasses import dataclass

from desktop.core.models.gguf import GGUFInfo
from desktop.core.platform import available_memory_bytes

# llama.cpp's compute buffers and Folio's own share, measured loosely on small models.
_OVERHEAD_BYTES = 300 * 1024 * 1024
# Decimal gigabytes, as file sizes are shown everywhere else (the Models window, file managers).
_GB = 1000**3
# Keys and values are kept in f16.
_KV_ELEMENT_BYTES = 2
# Without a model's layers and heads, one token's KV cache is guessed as this fraction of its
# file. Across common GGUF models the file is from about 5,000 (no grouped-query attention:
# SmolLM2 1.7B, Phi-3) to 80,000 (Qwen2.5 7B) times one token's cache; the guess leans to the
# larger caches, so that a model it calls a fit has room to spare.
_FILE_BYTES_PER_GUESSED_KV_BYTE = 8_000


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


@dataclass(frozen=True)
class AttentionShape:
    """What a model's KV cache grows with: its layers, and per layer the key and value heads."""

    layers: int
    kv_heads: int
    key_length: int
    value_length: int

    def kv_cache_bytes(self, n_ctx: int) -> int:
        """Keys and values in f16 for every layer and context position."""
        per_token = self.layers * self.kv_heads * (self.key_length + self.value_length)
        return per_token * n_ctx * _KV_ELEMENT_BYTES


def attention_shape(header: GGUFInfo) -> AttentionShape:
    """The shape a GGUF header gives (missing keys read as llama.cpp's defaults)."""
    arch = header.architecture
    meta = header.metadata

    def number(key: str, default: int) -> int:
        value = meta.get(f"{arch}.{key}", default)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    embedding = number("embedding_length", 0)
    heads = number("attention.head_count", 1) or 1
    return AttentionShape(
        layers=number("block_count", 0),
        kv_heads=number("attention.head_count_kv", heads) or heads,
        key_length=number("attention.key_length", embedding // heads),
        value_length=number("attention.value_length", embedding // heads),
    )


def kv_cache_bytes(header: GGUFInfo, n_ctx: int) -> int:
    """Keys and values in f16 for every layer and context position."""
    return attention_shape(header).kv_cache_bytes(n_ctx)


def guessed_kv_cache_bytes(file_size: int, n_ctx: int) -> int:
    """The KV cache of a model known only by the size of its file (see the ratio above)."""
    return file_size * n_ctx // _FILE_BYTES_PER_GUESSED_KV_BYTE


def free_memory_bytes() -> int:
    """The memory free now; measured once for a list of estimates, so that they agree."""
    return available_memory_bytes()


def estimate_need(
    weights_bytes: int, kv_bytes: int, available: int | None = None, freed_first: int = 0
) -> MemoryEstimate:
    """``freed_first``: memory that will be released before loading (the current model's)."""
    free_now = free_memory_bytes() if available is None else available
    return MemoryEstimate(
        weights_bytes=weights_bytes,
        kv_cache_bytes=kv_bytes,
        overhead_bytes=_OVERHEAD_BYTES,
        available_bytes=free_now + freed_first,
    )


def estimate_memory(
    header: GGUFInfo, n_ctx: int, available: int | None = None, freed_first: int = 0
) -> MemoryEstimate:
    """What the model in ``header`` needs at ``n_ctx`` tokens, against the memory free now."""
    return estimate_need(header.file_size, kv_cache_bytes(header, n_ctx), available, freed_first)
