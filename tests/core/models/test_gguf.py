"""Reading GGUF headers: what Folio learns about a model file, and what it says about bad ones."""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import numpy as np
import pytest

from desktop.core.models.gguf import ArraySummary, GGUFError, read_gguf_info


def test_starter_model_header(starter_model: Path) -> None:
    info = read_gguf_info(starter_model)
    assert info.architecture == "llama"
    assert "SmolLM2" in info.name or "Smollm2" in info.name
    assert info.context_length == 8192
    assert info.chat_template is not None
    assert "<|im_start|>" in info.chat_template
    assert info.version == 3
    assert info.tensor_count > 0
    assert info.parameter_count == pytest.approx(134.5e6, rel=0.01)
    assert info.file_size == starter_model.stat().st_size
    assert info.expected_size == info.file_size
    assert info.is_embedding_only is False
    tokens = info.metadata["tokenizer.ggml.tokens"]
    assert isinstance(tokens, ArraySummary)
    assert tokens.length == 49152


def test_templateless_model_has_no_chat_template(templateless_model: Path) -> None:
    info = read_gguf_info(templateless_model)
    assert info.architecture == "gemma3"
    assert info.chat_template is None
    assert info.context_length == 32768
    assert info.expected_size == info.file_size


def test_metadata_written_by_the_gguf_tools_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Tiny Test Model")
    writer.add_context_length(1024)
    writer.add_chat_template("{{ messages[0]['content'] }}")
    writer.add_float32("tiny.scale", 0.5)
    writer.add_bool("tiny.flag", True)
    writer.add_array("tiny.list", ["a", "bb", "ccc"])
    writer.add_tensor("weights", np.zeros((8, 4), dtype=np.float32))
    writer.add_tensor("bias", np.zeros((4,), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    info = read_gguf_info(str(path))
    assert info.path == path
    assert info.architecture == "llama"
    assert info.name == "Tiny Test Model"
    assert info.context_length == 1024
    assert info.chat_template == "{{ messages[0]['content'] }}"
    assert info.metadata["tiny.scale"] == 0.5
    assert info.metadata["tiny.flag"] is True
    assert info.metadata["tiny.list"] == ArraySummary(item_type=8, length=3)
    assert info.tensor_count == 2
    assert info.parameter_count == 36
    assert info.file_size == path.stat().st_size
    # The writer pads the last tensor to the 32-byte alignment; that padding is not required.
    assert info.expected_size is not None
    assert 0 <= info.file_size - info.expected_size < 32


def test_nameless_model_is_named_after_its_file(tmp_path: Path) -> None:
    path = tmp_path / "mystery-model.gguf"
    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_tensor("weights", np.zeros((2, 2), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    info = read_gguf_info(path)
    assert info.name == "mystery-model"
    assert info.context_length is None
    assert info.chat_template is None
    assert info.is_embedding_only is True


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, starter_model: Path) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    data = starter_model.read_bytes()
    (folder / "readme.gguf").write_text("# My model\n\nDownload it from the website.\n" * 4)
    (folder / "future.gguf").write_bytes(b"GGUF" + struct.pack("<I", 99) + bytes(32))
    (folder / "zero.gguf").write_bytes(b"")
    (folder / "header-cut.gguf").write_bytes(data[:1_000_000])
    (folder / "data-cut.gguf").write_bytes(data[:60_000_000])
    (folder / "models.gguf").mkdir()
    return folder


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("readme.gguf", ["“readme.gguf”", "is not a GGUF model file", "GGUF format"]),
        ("future.gguf", ["“future.gguf”", "GGUF version 99", "cannot read"]),
        ("zero.gguf", ["“zero.gguf”", "is not a GGUF model file", "only 0 bytes"]),
        ("header-cut.gguf", ["“header-cut.gguf”", "truncated", "Download it again"]),
        (
            "data-cut.gguf",
            ["“data-cut.gguf”", "is truncated", "60.0 MB", "98.4 MB", "get the file again"],
        ),
        ("models.gguf", ["models.gguf", "is a folder, not a model file"]),
        ("nowhere.gguf", ["There is no file at", "nowhere.gguf"]),
    ],
)
def test_bad_files_get_a_message_for_the_user(
    bad_files: Path, file_name: str, expected: list[str]
) -> None:
    with pytest.raises(GGUFError) as raised:
        read_gguf_info(bad_files / file_name)
    message = str(raised.value)
    for fragment in expected:
        assert fragment in message
    assert "Traceback" not in message
    assert "struct" not in message  # no leaked parsing internals
    assert "\n" not in message
