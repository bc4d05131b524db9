"""The local embedder: all-MiniLM-L6-v2, shipped inside Folio as GGUF (converted from its PyPI
package by the build) and run by llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest

from desktop.core.embedding.convert import ConversionError, convert_sentence_transformer
from desktop.core.embedding.embedder import Embedder, Prefixes, prefixes_for
from desktop.core.embedding.starter import starter_embedder_path
from desktop.core.errors import ModelLoadError
from desktop.core.models.gguf import GGUFInfo, read_gguf_info
from desktop.core.models.starter import starter_embedder_source


def test_the_converted_starter_is_a_bert_gguf_with_mean_pooling(
    starter_embedder_file: Path,
) -> None:
    header = read_gguf_info(starter_embedder_file)
    assert header.architecture == "bert"
    assert header.is_embedding_only
    assert header.metadata["bert.embedding_length"] == 384
    assert header.metadata["bert.pooling_type"] == int(gguf.PoolingType.MEAN)
    assert header.metadata["tokenizer.ggml.model"] == "bert"
    assert header.expected_size == header.file_size


def test_conversion_happens_once(starter_embedder_file: Path) -> None:
    before = starter_embedder_file.stat().st_mtime_ns
    again = starter_embedder_path(starter_embedder_file.parent.parent)
    assert again == starter_embedder_file
    assert again.stat().st_mtime_ns == before


def test_similar_sentences_score_as_the_reference_model_does(embedder: Embedder) -> None:
    vectors = embedder.embed(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # sentence-transformers' all-MiniLM-L6-v2 gives 0.7553 and -0.1050 for these pairs.
    assert float(vectors[0] @ vectors[1]) == pytest.approx(0.7553, abs=0.005)
    assert float(vectors[0] @ vectors[2]) == pytest.approx(-0.1050, abs=0.01)


@pytest.mark.parametrize(
    ("similar", "dissimilar"),
    [
        (
            ("The cat sits on the mat.", "A feline is resting on a rug."),
            ("The cat sits on the mat.", "Quarterly revenue grew by 12 percent."),
        ),
        (
            ("The court dismissed the appeal.", "The appeal was rejected by the judges."),
            ("The court dismissed the appeal.", "Preheat the oven to 200 degrees."),
        ),
    ],
)
def test_related_sentences_are_closer_than_unrelated_ones(
    embedder: Embedder, similar: tuple[str, str], dissimilar: tuple[str, str]
) -> None:
    a, b = embedder.embed(list(similar))
    c, d = embedder.embed(list(dissimilar))
    assert float(a @ b) > 0.5 > float(c @ d) + 0.3


def test_a_question_finds_the_passage_that_answers_it(embedder: Embedder) -> None:
    passages = [
        "Net revenue increased 12% to $4.2 billion, driven by cloud subscriptions.",
        "The tenant shall pay rent on the first day of each month.",
        "Photosynthesis converts light energy into chemical energy in plants.",
        "The museum is closed on Mondays and public holidays.",
    ]
    documents = embedder.embed(passages, kind="document")
    query = embedder.embed(["When is the rent due?"], kind="query")[0]
    assert int(np.argmax(documents @ query)) == 1


def test_empty_and_overlong_texts_are_handled(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, 384)
    vectors = embedder.embed(["", "word " * 3000])
    assert vectors.shape == (2, 384)
    assert np.all(np.isfinite(vectors))


def test_models_trained_with_prefixes_get_them(tmp_path: Path) -> None:
    def header_for(architecture: str, name: str) -> GGUFInfo:
        path = tmp_path / f"{name}.gguf"
        writer = gguf.GGUFWriter(str(path), architecture)
        writer.add_name(name)
        writer.add_tensor("x", np.zeros(4, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return read_gguf_info(path)

    nomic = prefixes_for(header_for("nomic-bert", "nomic-embed-text-v1.5"))
    assert nomic == Prefixes(query="search_query: ", document="search_document: ")
    bge = prefixes_for(header_for("bert", "bge-small-en-v1.5"))
    assert bge.query.startswith("Represent this sentence") and bge.document == ""
    assert prefixes_for(header_for("bert", "all-MiniLM-L6-v2")) == Prefixes()


def test_converting_the_package_again_gives_the_file_folio_ships(
    starter_embedder_file: Path, tmp_path: Path
) -> None:
    # The build converts the safetensors once; the converter in the app is the same code, so the
    # same package gives the same bytes (no hidden randomness, no machine-dependent rounding).
    converted = convert_sentence_transformer(starter_embedder_source(), tmp_path / "again.gguf")
    assert converted.path.read_bytes() == starter_embedder_file.read_bytes()


def test_a_folder_that_is_not_a_bert_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ConversionError, match="only BERT-style"):
        convert_sentence_transformer(tmp_path, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


def test_a_missing_embedding_model_file_is_a_clear_error(tmp_path: Path) -> None:
    embedder = Embedder()
    try:
        with pytest.raises(ModelLoadError, match="There is no file"):
            embedder.load(tmp_path / "missing.gguf").result()
    finally:
        embedder.close()


def test_a_long_text_is_read_within_the_models_trained_window(embedder: Embedder) -> None:
    assert embedder.info is not None
    assert embedder.info.window == 128  # all-MiniLM-L6-v2 was trained on 128 word pieces
    long_text = " ".join(
        f"Paragraph {n} gives the museum's winter opening hours." for n in range(40)
    )
    assert embedder.count_tokens(long_text) > 3 * embedder.info.window
    tail = " Rockets, volcanoes and the stock market crash of 1929."

    long_vectors = embedder.embed([long_text, long_text + tail])
    short_text = "The museum's winter opening hours."
    short_vectors = embedder.embed([short_text, short_text + tail])

    # Past the window nothing more is read; within it, every word counts.
    assert float(long_vectors[0] @ long_vectors[1]) > 0.9999
    assert float(short_vectors[0] @ short_vectors[1]) < 0.9
