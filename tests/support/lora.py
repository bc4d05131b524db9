"""LoRA adapters written for the tests with the ``gguf`` package: real GGUF adapter files, for
the starter model or deliberately for another."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np


def model_shapes(model: Path, suffix: str = "attn_q.weight") -> dict[str, tuple[int, ...]]:
    """The model's tensors ending in ``suffix``, with their shapes (ggml order: inner first)."""
    reader = gguf.GGUFReader(str(model))
    return {
        tensor.name: tuple(int(n) for n in tensor.shape)
        for tensor in reader.tensors
        if tensor.name.endswith(suffix)
    }


def write_lora(
    path: Path,
    model: Path,
    rank: int = 8,
    strength: float = 0.6,
    architecture: str = "llama",
    shrink: int = 0,
    seed: int = 3,
) -> Path:
    """An adapter on every attention query matrix of ``model``; ``shrink`` makes its matrices
    that many columns narrower than the model's (an adapter for another size)."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    for name, (inner, outer) in model_shapes(model).items():
        inner -= shrink
        # ggml's lora_a is [inner, rank] and lora_b [rank, outer]; numpy writes them reversed.
        lora_a = (rng.standard_normal((rank, inner)) * strength).astype(np.float32)
        lora_b = (rng.standard_normal((outer, rank)) * strength).astype(np.float32)
        writer.add_tensor(name + ".lora_a", lora_a)
        writer.add_tensor(name + ".lora_b", lora_b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
