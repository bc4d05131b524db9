"""Read a GGUF file's header without loading its weights.

llama.cpp answers a bad file with a bare "failed to load model"; reading the header ourselves lets
Folio say what is actually wrong (not a GGUF at all, cut short by a failed download, a format
version from the future) before any memory is committed, and tells the engine whether the model
carries its own chat template.
"""

from __future__ import annotations

import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from desktop.core.formatting import exact_size_text

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# Value types of GGUF metadata, from the GGUF specification.
_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL = range(8)
_STRING, _ARRAY, _UINT64, _INT64, _FLOAT64 = range(8, 13)

_SCALAR_FORMATS: dict[int, str] = {
    _UINT8: "<B",
    _INT8: "<b",
    _UINT16: "<H",
    _INT16: "<h",
    _UINT32: "<I",
    _INT32: "<i",
    _FLOAT32: "<f",
    _BOOL: "<?",
    _UINT64: "<Q",
    _INT64: "<q",
    _FLOAT64: "<d",
}

# ggml tensor types: (elements per block, bytes per block). Used only to compute how large the
# file must be; a type missing here just skips the truncation check rather than failing.
_GGML_BLOCK_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
}


class GGUFError(ValueError):
    """The file cannot be used as a model; the message is written for the user."""


@dataclass(frozen=True)
class ArraySummary:
    """An array value, kept as its length only (token lists run to hundreds of thousands)."""

    item_type: int
    length: int


MetadataValue = int | float | bool | str | ArraySummary


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    version: int
    tensor_count: int
    file_size: int
    metadata: dict[str, MetadataValue] = field(repr=False)
    parameter_count: int
    # None when a tensor type is unknown to us, so the size could not be worked out.
    expected_size: int | None

    @property
    def architecture(self) -> str:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else "unknown"

    @property
    def name(self) -> str:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) and value.strip() else self.path.stem

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def is_embedding_only(self) -> bool:
        return self.architecture in {"bert", "nomic-bert", "jina-bert-v2", "t5encoder"}


_SKIP_BLOCK = 1 << 20
_MAX_STRING = 64 * 1024 * 1024
# Real models nest arrays at most two deep; a deeper nesting is a damaged (or hostile) header.
_MAX_ARRAY_DEPTH = 8


class _Reader:
    def __init__(self, stream: BinaryIO, path: Path, size: int) -> None:
        self._stream = stream
        self._path = path
        self._size = size

    def read(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise GGUFError(
                f"“{self._path.name}” ends in the middle of its header: the file is truncated "
                "(an interrupted download or copy). Download it again."
            )
        return data

    def scalar(self, value_type: int) -> int | float | bool:
        fmt = _SCALAR_FORMATS[value_type]
        value: int | float | bool = struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]
        return value

    def u32(self) -> int:
        return int(struct.unpack("<I", self.read(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.read(8))[0])

    def string(self) -> str:
        length = self.u64()
        if length > 64 * 1024 * 1024:
            raise GGUFError(
                f"“{self._path.name}” has a corrupt header (a string of {length} bytes)."
            )
        return self.read(length).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = self.u64()
        if length > _MAX_STRING:
            raise self._corrupt(f"a string of {length} bytes")
        self.skip(length)

    def skip(self, size: int) -> None:
        """Move past ``size`` bytes, which must lie within the file (a corrupt length field of
        2^64 - 1 would otherwise fail deep in ``seek``)."""
        if self._stream.tell() + size > self._size:
            self.read(self._size + 1)  # raises the truncated-file error
        self._stream.seek(size, 1)

    def _corrupt(self, what: str) -> GGUFError:
        return GGUFError(f"“{self._path.name}” has a corrupt header ({what}).")

    def value(self, value_type: int) -> MetadataValue:
        if value_type == _STRING:
            return self.string()
        if value_type == _ARRAY:
            item_type = self.u32()
            length = self.u64()
            self.skip_array(item_type, length)
            return ArraySummary(item_type=item_type, length=length)
        if value_type in _SCALAR_FORMATS:
            return self.scalar(value_type)
        raise GGUFError(
            f"“{self._path.name}” has a corrupt header (unknown value type {value_type})."
        )

    def skip_array(self, item_type: int, length: int, depth: int = 0) -> None:
        if depth > _MAX_ARRAY_DEPTH:
            raise self._corrupt(f"arrays nested over {_MAX_ARRAY_DEPTH} deep")
        if item_type == _STRING:
            self._skip_strings(length)
        elif item_type == _ARRAY:
            for _ in range(length):
                self.skip_array(self.u32(), self.u64(), depth + 1)
        elif item_type in _SCALAR_FORMATS:
            self.skip(struct.calcsize(_SCALAR_FORMATS[item_type]) * length)
        else:
            raise GGUFError(f"“{self._path.name}” has a corrupt header (unknown array type).")

    def _skip_strings(self, count: int) -> None:
        """Walk ``count`` length-prefixed strings in memory: a vocabulary of 262k tokens is
        then a few large reads instead of half a million small ones (5x faster on Gemma 3)."""
        buffer = b""
        offset = 0
        while count:
            end = offset + 8
            if end <= len(buffer):
                length = int.from_bytes(buffer[offset:end], "little")
                if length > 64 * 1024 * 1024:
                    raise GGUFError(
                        f"“{self._path.name}” has a corrupt header (a string of {length} bytes)."
                    )
                end += length
            if end > len(buffer):
                more = self._stream.read(max(_SKIP_BLOCK, end - len(buffer)))
                if not more:
                    self.read(1)  # raises the truncated-file error
                buffer = buffer[offset:] + more
                offset = 0
                continue
            offset = end
            count -= 1
        # What was read past the last string belongs to the next header field.
        self._stream.seek(offset - len(buffer), 1)

    def tell(self) -> int:
        return self._stream.tell()


def read_gguf_info(path: Path | str) -> GGUFInfo:
    """Parse the header of ``path``; raise :class:`GGUFError` with a user-facing message."""
    path = Path(path)
    if not path.exists():
        raise GGUFError(f"There is no file at {path}.")
    if path.is_dir():
        raise GGUFError(f"{path} is a folder, not a model file.")
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise GGUFError(f"“{path.name}” is not a regular file (a pipe, socket or device).")
        file_size = status.st_size
        with path.open("rb") as stream:
            return _parse(_Reader(stream, path, file_size), path, file_size)
    except PermissionError as exc:
        raise GGUFError(f"Folio may not read “{path.name}” (permission denied).") from exc
    except OSError as exc:
        raise GGUFError(f"“{path.name}” could not be read: {exc.strerror or exc}.") from exc


def _parse(reader: _Reader, path: Path, file_size: int) -> GGUFInfo:
    if file_size < 24:
        raise GGUFError(f"“{path.name}” is not a GGUF model file: it is only {file_size} bytes.")
    magic = reader.read(4)
    if magic != GGUF_MAGIC:
        raise GGUFError(
            f"“{path.name}” is not a GGUF model file: whatever its name, its contents are not in "
            "the GGUF format that llama.cpp models are published in."
        )
    version = reader.u32()
    if version not in SUPPORTED_VERSIONS:
        raise GGUFError(
            f"“{path.name}” uses GGUF version {version}, which this version of Folio cannot read."
        )
    tensor_count = reader.u64()
    kv_count = reader.u64()
    if tensor_count > 1_000_000 or kv_count > 1_000_000:
        raise GGUFError(f"“{path.name}” has a corrupt header.")

    metadata: dict[str, MetadataValue] = {}
    for _ in range(kv_count):
        key = reader.string()
        metadata[key] = reader.value(reader.u32())

    parameter_count = 0
    data_extent = 0
    sizes_known = True
    for _ in range(tensor_count):
        reader.skip_string()
        n_dims = reader.u32()
        if n_dims > 8:
            raise GGUFError(f"“{path.name}” has a corrupt tensor table.")
        elements = 1
        for _ in range(n_dims):
            elements *= reader.u64()
        tensor_type = reader.u32()
        offset = reader.u64()
        parameter_count += elements
        block = _GGML_BLOCK_SIZES.get(tensor_type)
        if block is None:
            sizes_known = False
            continue
        block_elements, block_bytes = block
        data_extent = max(data_extent, offset + (elements // block_elements) * block_bytes)

    alignment_value = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    alignment = alignment_value if isinstance(alignment_value, int) else DEFAULT_ALIGNMENT
    alignment = max(alignment, 1)
    data_start = -(-reader.tell() // alignment) * alignment
    expected_size = data_start + data_extent if sizes_known else None

    info = GGUFInfo(
        path=path,
        version=version,
        tensor_count=tensor_count,
        file_size=file_size,
        metadata=metadata,
        parameter_count=parameter_count,
        expected_size=expected_size,
    )
    if expected_size is not None and file_size < expected_size:
        raise GGUFError(
            f"“{path.name}” is truncated: it holds {exact_size_text(file_size)} but its header "
            f"describes {exact_size_text(expected_size)}. The download or copy probably stopped "
            "early; get the file again."
        )
    return info
