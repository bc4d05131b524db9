"""``folio config show`` and ``folio config set``: the schema on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.core.settings.schema import SCHEMA
from desktop.core.settings.store import load_settings
from tests.support.cli import assert_one_line_error, folio, write_settings


def settings_of(home: Path) -> dict[str, object]:
    report = load_settings(home / "config" / "settings.toml")
    assert report.problems == ()
    return {spec.key: report.settings.value(spec.key) for spec in SCHEMA}


def test_show_json_lists_every_schema_field_with_its_value(tmp_path: Path) -> None:
    write_settings(tmp_path, "[generation]\ntop_p = 0.5\n")

    run = folio("config", "show", "--json", home=tmp_path)

    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert [field["key"] for field in shown] == [spec.key for spec in SCHEMA]
    top_p = next(field for field in shown if field["key"] == "top_p")
    assert top_p["value"] == 0.5 and top_p["default"] == 0.95
    assert (top_p["minimum"], top_p["maximum"]) == (0.0, 1.0)
    assert top_p["title"] and top_p["help"]
    assert next(field for field in shown if field["key"] == "stop")["value"] == []


def test_show_marks_what_differs_from_the_default(tmp_path: Path) -> None:
    write_settings(tmp_path, "[generation]\ntemperature = 0.2\n")

    run = folio("config", "show", home=tmp_path)

    assert run.returncode == 0, run.stderr
    assert "temperature = 0.2   (default 0.7)" in run.stdout
    assert "  top_p = 0.95\n" in run.stdout
    assert "[generation]" in run.stdout and "[model]" in run.stdout


def test_set_validates_saves_and_the_next_ask_reads_it(tmp_path: Path) -> None:
    run = folio(
        "config", "set", "temperature=0.2", "top-k=5", "stop=###", "stop=END", home=tmp_path
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["temperature = 0.2", "top_k = 5", 'stop = "###", "END"']
    values = settings_of(tmp_path)
    assert values["temperature"] == 0.2 and values["top_k"] == 5
    assert values["stop"] == ("###", "END")
    assert values["top_p"] == 0.95  # untouched

    cleared = folio("config", "set", "stop=", home=tmp_path)
    assert cleared.returncode == 0 and settings_of(tmp_path)["stop"] == ()


@pytest.mark.parametrize(
    ("assignment", "fragment"),
    [
        ("temperature=5", "at most 2"),
        ("top_k=many", "must be a number"),
        ("nope=1", "not a Folio setting"),
        ("temperature", "not KEY=VALUE"),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_written(
    tmp_path: Path, assignment: str, fragment: str
) -> None:
    write_settings(tmp_path, "[generation]\ntemperature = 0.3\n")

    run = folio("config", "set", "top_p=0.5", assignment, home=tmp_path)

    assert_one_line_error(run, fragment)
    values = settings_of(tmp_path)
    assert values["temperature"] == 0.3 and values["top_p"] == 0.95


def test_a_model_file_is_checked_before_it_is_saved(
    starter_model: Path, starter_embedder_file: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")

    assert_one_line_error(folio("config", "set", f"model_path={fake}", home=tmp_path), "not a GGUF")
    assert settings_of(tmp_path)["model_path"] == ""
    embedder = folio("config", "set", f"model_path={starter_embedder_file}", home=tmp_path)
    assert_one_line_error(embedder, "embedding model")

    chosen = folio("config", "set", f"model_path={starter_model}", home=tmp_path)
    assert chosen.returncode == 0, chosen.stderr
    assert settings_of(tmp_path)["model_path"] == str(starter_model)
