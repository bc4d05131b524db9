"""The models Folio lists: header facts without loading weights, memory fit, importing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import llama_cpp
import pytest

from desktop.core.models.memory import MemoryEstimate
from desktop.core.models.registry import (
    FILE_TYPES,
    Fit,
    ModelDeleteError,
    ModelImportError,
    delete_model,
    fit_of,
    import_model,
    scan,
)
from tests.support.cli import assert_one_line_error, folio

GB = 1024**3


def test_quantization_names_follow_llama_cpp() -> None:
    for number, name in FILE_TYPES.items():
        constant = "LLAMA_FTYPE_ALL_F32" if name == "F32" else f"LLAMA_FTYPE_MOSTLY_{name}"
        assert getattr(llama_cpp, constant) == number, name


@pytest.mark.parametrize(
    ("required_gb", "fit"), [(4, Fit.FITS), (7, Fit.TIGHT), (8, Fit.TIGHT), (9, Fit.WONT_FIT)]
)
def test_fit_compares_what_the_model_needs_with_what_is_free(required_gb: int, fit: Fit) -> None:
    estimate = MemoryEstimate(required_gb * GB - 2, 1, 1, available_bytes=8 * GB)
    assert fit_of(estimate) is fit


def test_the_starter_models_header_is_read_without_loading_it(
    starter_model: Path, templateless_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(templateless_model, folder / templateless_model.name)

    models, unusable = scan(folder, [starter_model], context=4096, available=16 * GB)

    assert unusable == []
    starter, base = models
    assert starter.name == "SmolLM2-135M-Instruct.Q4_1"
    assert (starter.architecture, starter.quantization) == ("llama", "Q4_1")
    assert 130e6 < starter.parameters < 140e6
    assert starter.has_chat_template and not starter.is_embedding_model
    assert starter.context_length == 8192 and starter.licence == "apache-2.0"
    assert starter.size_bytes == starter_model.stat().st_size
    assert starter.fit is Fit.FITS
    assert starter.estimate.kv_cache_bytes > 0 and starter.context_for_estimate == 4096
    assert base.architecture == "gemma3" and base.quantization == "Q4_K_M"
    assert not base.has_chat_template


def test_a_bigger_context_needs_more_memory_and_can_stop_fitting(starter_model: Path) -> None:
    (small,), _ = scan(Path("/nonexistent"), [starter_model], context=2048, available=16 * GB)
    (large,), _ = scan(Path("/nonexistent"), [starter_model], context=8192, available=16 * GB)
    (cramped,), _ = scan(Path("/nonexistent"), [starter_model], context=8192, available=GB // 2)

    assert large.estimate.kv_cache_bytes == 4 * small.estimate.kv_cache_bytes
    assert cramped.fit is Fit.WONT_FIT


def test_a_truncated_or_fake_model_is_set_aside_with_its_reason(
    starter_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "half.gguf").write_bytes(starter_model.read_bytes()[:5_000_000])
    (folder / "notes.gguf").write_text("not a model")

    models, unusable = scan(folder, [starter_model, folder / ".." / "models" / "half.gguf"])

    assert [model.name for model in models] == ["SmolLM2-135M-Instruct.Q4_1"]
    reasons = {problem.path.name: problem.reason for problem in unusable}
    assert set(reasons) == {"half.gguf", "notes.gguf"}
    assert "truncated" in reasons["half.gguf"]
    assert "not a GGUF" in reasons["notes.gguf"]


def test_importing_copies_checks_and_never_overwrites(starter_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "models"

    copied = import_model(starter_model, folder)

    assert copied == folder / starter_model.name
    assert copied.read_bytes() == starter_model.read_bytes()
    assert not list(folder.glob(".*part"))
    assert import_model(copied, folder) == copied  # already there
    other = tmp_path / "elsewhere" / starter_model.name
    other.parent.mkdir()
    other.write_bytes(starter_model.read_bytes())
    with pytest.raises(ModelImportError, match="already has a file named"):
        import_model(other, folder)
    fake = tmp_path / "fake.gguf"
    fake.write_text("hello")
    with pytest.raises(ModelImportError, match="not a GGUF"):
        import_model(fake, folder)
    assert not (folder / "fake.gguf").exists()


def test_importing_can_link_instead_of_copying(starter_model: Path, tmp_path: Path) -> None:
    linked = import_model(starter_model, tmp_path / "models", link=True)

    assert linked.is_symlink() and linked.resolve() == starter_model.resolve()


def test_deleting_removes_a_model_from_the_models_folder(
    starter_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    copied = import_model(starter_model, folder)
    nested = folder / "family" / "other.gguf"
    nested.parent.mkdir()
    nested.write_bytes(b"GGUF")

    delete_model(copied, folder)
    delete_model(folder / "family" / ".." / "family" / "other.gguf", folder)

    assert not copied.exists() and not nested.exists()
    assert starter_model.is_file()
    with pytest.raises(ModelDeleteError, match="not in the models folder any more"):
        delete_model(copied, folder)


def test_deleting_a_link_leaves_the_file_it_points_to(starter_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    original = tmp_path / "elsewhere" / "mine.gguf"
    original.parent.mkdir()
    shutil.copy(starter_model, original)
    linked = import_model(original, folder, link=True)
    dangling = folder / "gone.gguf"
    dangling.symlink_to(tmp_path / "never-there.gguf")

    delete_model(linked, folder)
    delete_model(dangling, folder)

    assert not linked.is_symlink() and not dangling.is_symlink()
    assert original.read_bytes() == starter_model.read_bytes()


def test_deleting_refuses_files_outside_the_models_folder(
    starter_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    outside = tmp_path / "outside.gguf"
    outside.write_bytes(b"GGUF")
    (folder / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    (folder / "sub").mkdir()
    (folder / "sub" / "model.gguf").mkdir()

    for path in (
        starter_model,
        outside,
        folder / ".." / "outside.gguf",
        folder / "linked-folder" / "outside.gguf",
        folder,
    ):
        with pytest.raises(ModelDeleteError, match="deletes only the models it keeps there"):
            delete_model(path, folder)
    with pytest.raises(ModelDeleteError, match="is a folder"):
        delete_model(folder / "sub" / "model.gguf", folder)

    assert outside.is_file() and starter_model.is_file()
    assert (folder / "sub" / "model.gguf").is_dir()


def test_models_list_json_and_import_from_the_command_line(
    starter_model: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("hello")
    assert_one_line_error(folio("models", "import", str(fake), home=tmp_path), "not a GGUF")

    imported = folio("models", "import", str(starter_model), home=tmp_path)
    assert imported.returncode == 0, imported.stderr
    listed = folio("models", "list", "--json", home=tmp_path)

    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    # The two starter models inside Folio (chat and embedding), and the imported copy in the
    # models folder.
    assert len(entries) == 3
    assert {
        Path(entry["path"]).name
        for entry in entries
        if Path(entry["path"]).parent.name == "starter"
    } == {"SmolLM2-135M-Instruct.Q4_1.gguf", "all-MiniLM-L6-v2.f16.gguf"}
    (entry,) = [entry for entry in entries if Path(entry["path"]).parent.name == "models"]
    expected_keys = {
        "name", "path", "architecture", "parameters", "quantization", "context_length",
        "has_chat_template", "size_bytes", "fit",
    }  # fmt: skip
    assert expected_keys <= set(entry)
    assert entry["fit"] in {"fits", "tight", "wont_fit"}
    assert entry["quantization"] == "Q4_1" and entry["has_chat_template"] is True
    text = folio("models", "list", home=tmp_path)
    assert "Fits" in text.stdout or "Tight" in text.stdout
