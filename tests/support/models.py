"""Model files for the tests: small GGUFs written on the spot."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np


def write_gguf(path: Path, architecture: str) -> Path:
    """A tiny but well-formed GGUF: the architecture key and one small f32 tensor."""
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_tensor("weights", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
