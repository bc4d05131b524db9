"""Settings: one schema, validated values, and a settings file that never stops the app."""

from __future__ import annotations

import math
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from desktop.core.settings.schema import (
    GROUPS,
    SCHEMA,
    SPECS,
    FieldSpec,
    SettingError,
    Settings,
)
from desktop.core.settings.store import load_settings, save_settings
from desktop.core.settings.table import (
    README_TABLE_END,
    README_TABLE_START,
    settings_table_markdown,
)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.toml"


def _backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".bad-*"))


@pytest.mark.parametrize("spec", SCHEMA, ids=[spec.key for spec in SCHEMA])
def test_schema_default_matches_the_settings_default(spec: FieldSpec) -> None:
    value = Settings().value(spec.key)
    assert value == spec.default
    assert type(value) is type(spec.default)
    if spec.minimum is not None and spec.maximum is not None:
        assert isinstance(value, int | float)
        assert spec.minimum <= value <= spec.maximum
    assert spec.title and spec.help


def test_schema_covers_every_setting_exactly_once() -> None:
    declared = {
        (group.name, setting.name)
        for group in fields(Settings)
        for setting in fields(getattr(Settings(), group.name))
    }
    assert {(spec.group, spec.key) for spec in SCHEMA} == declared
    assert len(SPECS) == len(SCHEMA)
    assert {spec.group for spec in SCHEMA} == set(GROUPS)


def test_every_group_the_issue_names_is_there() -> None:
    keys = {spec.key for spec in SCHEMA}
    assert {"gpu_layers", "context_length", "threads", "batch_size"} <= keys
    assert {
        "chunk_size",
        "chunk_overlap",
        "results_per_question",
        "keyword_share",
        "relevance_threshold",
        "embedding_model",
    } <= keys
    assert {"theme", "font_size"} <= keys


def test_a_choice_outside_its_list_is_refused() -> None:
    with pytest.raises(SettingError, match="one of system, light, dark"):
        Settings().with_values({"theme": "purple"})
    assert Settings().with_values({"theme": "dark"}).appearance.theme == "dark"


def test_overlap_must_stay_below_the_passage_size() -> None:
    with pytest.raises(SettingError, match="smaller than the passage size") as caught:
        Settings().with_values({"chunk_overlap": 700})
    assert caught.value.key == "chunk_overlap"
    # Both at once are checked together, whatever the order.
    both = Settings().with_values({"chunk_overlap": 700, "chunk_size": 900})
    assert (both.documents.chunk_size, both.documents.chunk_overlap) == (900, 700)


def test_a_file_breaking_the_overlap_rule_resets_the_overlap(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text("[documents]\nchunk_overlap = 500\nchunk_size = 400\n")
    report = load_settings(settings_file)
    assert report.settings.documents.chunk_size == 400
    assert report.settings.documents.chunk_overlap == 100
    assert any("overlap" in problem for problem in report.problems)


def test_every_group_round_trips_through_the_file(settings_file: Path) -> None:
    changed = Settings().with_values(
        {
            "gpu_layers": -1,
            "chunk_size": 900,
            "keyword_share": 0.25,
            "embedding_model": "/models/bge small.gguf",
            "theme": "dark",
            "font_size": 13,
        }
    )
    save_settings(changed, settings_file)
    report = load_settings(settings_file)
    assert report.problems == ()
    assert report.settings == changed


def test_missing_file_gives_defaults_without_complaint(settings_file: Path) -> None:
    report = load_settings(settings_file)
    assert report.settings == Settings()
    assert report.problems == ()
    assert report.backup is None
    assert not settings_file.exists()


def test_saved_settings_load_back_unchanged(settings_file: Path) -> None:
    changed = Settings().with_values(
        {
            "temperature": 0.2,
            "top_k": 12,
            "min_p": 1e-05,
            "max_tokens": 64,
            "seed": 42,
            "stop": ("###", "\n\nUser:"),
            "system_prompt": 'Say "hi" \\ then stop.\nSecond line: ünïcödé ✓',
            "model_path": "/home/me/models/My Model.gguf",
            "context_length": 8192,
        }
    )
    save_settings(changed, settings_file)

    report = load_settings(settings_file)
    assert report.problems == ()
    assert report.backup is None
    assert report.settings == changed
    assert list(settings_file.parent.iterdir()) == [settings_file]  # no temp file left behind
    assert tomllib.loads(settings_file.read_text(encoding="utf-8"))["generation"]["seed"] == 42


def test_saving_again_replaces_the_file(settings_file: Path) -> None:
    save_settings(Settings().with_values({"temperature": 0.1}), settings_file)
    save_settings(Settings().with_values({"temperature": 1.5}), settings_file)
    assert load_settings(settings_file).settings.generation.temperature == 1.5
    assert [path.name for path in settings_file.parent.iterdir()] == ["settings.toml"]


def test_text_with_a_control_character_survives_saving(settings_file: Path) -> None:
    changed = Settings().with_values({"system_prompt": "Pasted text\x7f with a DEL in it."})
    save_settings(changed, settings_file)
    report = load_settings(settings_file)
    assert report.problems == ()
    assert report.settings == changed


def test_with_values_converts_text_from_the_command_line() -> None:
    settings = Settings().with_values(
        {"temperature": "0.25", "top_k": "7", "max_tokens": 100.0, "stop": "END"}
    )
    assert settings.generation.temperature == 0.25
    assert settings.generation.top_k == 7
    assert isinstance(settings.generation.top_k, int)
    assert settings.generation.max_tokens == 100
    assert isinstance(settings.generation.max_tokens, int)
    assert settings.generation.stop == ("END",)
    assert Settings().with_values({"temperature": 1}).generation.temperature == 1.0
    # The original is untouched: settings are values.
    assert Settings().generation.temperature == 0.7


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("temperature", 2.5, "Temperature must be at most 2."),
        ("temperature", -0.1, "Temperature must be at least 0."),
        ("max_tokens", 3, "Maximum answer length must be at least 16."),
        ("context_length", 10_000_000, "Context length must be at most 131072."),
        ("top_p", "lots", "Top-p (nucleus) must be a number, not “lots”."),
        ("top_p", [0.5], "Top-p (nucleus) must be a number."),
        ("seed", True, "Seed must be a number."),
        ("temperature", math.nan, "Temperature must be a finite number."),
        ("temperature", "inf", "Temperature must be a finite number."),
        ("top_k", 2.5, "Top-k must be a whole number."),
        ("max_tokens", "100.5", "Maximum answer length must be a whole number."),
        ("system_prompt", 42, "System prompt must be text."),
        ("stop", ["ok", 3], "Stop sequences must be a list of texts."),
    ],
)
def test_with_values_refuses_bad_values_naming_the_setting(
    key: str, raw: object, expected: str
) -> None:
    with pytest.raises(SettingError) as raised:
        Settings().with_values({key: raw})
    assert str(raised.value) == expected
    assert raised.value.key == key


def test_with_values_refuses_unknown_settings() -> None:
    with pytest.raises(SettingError, match="“colour” is not a Folio setting"):
        Settings().with_values({"colour": "blue"})


def test_corrupt_file_gives_defaults_a_problem_and_a_backup(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    original = b"[generation]\ntemperature = 0.3\nthis is not toml = = =\n\xff\xfe"
    settings_file.write_bytes(original)

    report = load_settings(settings_file)

    assert report.settings == Settings()
    assert len(report.problems) == 1
    assert "could not be read" in report.problems[0]
    assert "reset" in report.problems[0]
    assert report.backup is not None
    assert report.backup.read_bytes() == original
    assert report.backup in _backups(settings_file)
    assert settings_file.read_bytes() == original  # the user's file itself is left alone


def test_one_bad_value_and_one_unknown_key_spare_the_rest(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    text = (
        "[generation]\n"
        "temperature = 0.3\n"
        "max_tokens = 5\n"
        'favourite_colour = "blue"\n'
        "\n"
        "[model]\n"
        "context_length = 2048\n"
    )
    settings_file.write_text(text, encoding="utf-8")

    report = load_settings(settings_file)

    assert report.settings.generation.temperature == 0.3
    assert report.settings.model.context_length == 2048
    assert report.settings.generation.max_tokens == 512  # reset to the default
    assert len(report.problems) == 2
    bad_value = next(p for p in report.problems if "Maximum answer length" in p)
    assert "at least 16" in bad_value and "reset to 512" in bad_value
    unknown = next(p for p in report.problems if "favourite_colour" in p)
    assert "not a Folio setting" in unknown
    assert report.backup is not None
    assert report.backup.read_text(encoding="utf-8") == text


def test_setting_in_the_wrong_section_is_reported(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text("temperature = 0.3\n[generation]\ncontext_length = 2048\n")
    report = load_settings(settings_file)
    assert report.settings == Settings()
    assert len(report.problems) == 2
    assert any("“temperature” is not a settings section" in p for p in report.problems)
    assert any("generation.context_length" in p for p in report.problems)


def test_the_readme_settings_table_is_the_schema() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    start = readme.index(README_TABLE_START) + len(README_TABLE_START)
    end = readme.index(README_TABLE_END)
    assert readme[start:end].strip() == settings_table_markdown(), (
        "README.md's settings table is out of date; write it again with "
        "“python -m desktop.core.settings.table README.md”"
    )
