"""Presets and per-chat tuning: global settings, then a chat's preset, then its own values."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.settings.presets import (
    BUILTIN_PRESETS,
    GENERATION_KEYS,
    ChatTuning,
    PresetError,
    PresetLibrary,
    load_user_presets,
    matching_preset,
)
from desktop.core.settings.schema import Settings


@pytest.fixture
def presets_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "presets.toml"


@pytest.fixture
def presets(presets_file: Path) -> PresetLibrary:
    return PresetLibrary(presets_file)


def test_the_three_built_in_presets_go_from_precise_to_creative() -> None:
    names = [preset.name for preset in BUILTIN_PRESETS]
    assert names == ["Precise", "Balanced", "Creative"]
    precise, balanced, creative = BUILTIN_PRESETS
    temperatures = [preset.values["temperature"] for preset in BUILTIN_PRESETS]
    assert temperatures == sorted(temperatures)
    assert precise.values["top_p"] < balanced.values["top_p"] < creative.values["top_p"]
    # Balanced is Folio's defaults, so a fresh install shows it as the chosen preset.
    assert matching_preset(Settings(), BUILTIN_PRESETS) is balanced
    for preset in BUILTIN_PRESETS:
        Settings().with_values(preset.values)  # every value within the schema's bounds


def test_a_saved_preset_survives_a_restart(presets: PresetLibrary, presets_file: Path) -> None:
    presets.save("  Translator  ", {"temperature": 0.1, "stop": ["###"]})
    again = PresetLibrary(presets_file)
    saved = again.get("Translator")
    assert saved is not None and not saved.builtin
    assert saved.values == {"temperature": 0.1, "stop": ("###",)}
    assert [p.name for p in again.all()][-1] == "Translator"
    again.delete("Translator")
    assert PresetLibrary(presets_file).get("Translator") is None


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("", {"temperature": 0.5}, "needs a name"),
        ("creative", {"temperature": 0.5}, "built-in preset"),
        ("Hot", {"temperature": 7}, "at most 2"),
        ("Long context", {"context_length": 8192}, "not a generation setting"),
    ],
)
def test_a_preset_that_cannot_be_saved_says_why(
    presets: PresetLibrary, presets_file: Path, name: str, values: dict[str, object], message: str
) -> None:
    with pytest.raises(PresetError, match=message):
        presets.save(name, values)
    assert not presets_file.exists()


def test_a_damaged_presets_file_keeps_the_good_presets(tmp_path: Path) -> None:
    path = tmp_path / "presets.toml"
    path.write_text(
        '[presets."Good"]\ntemperature = 0.3\n'
        '[presets."Bad"]\ntemperature = "hot"\n'
        '[presets."Precise"]\ntemperature = 1.9\n'
    )
    loaded = load_user_presets(path)
    assert [preset.name for preset in loaded.presets] == ["Good"]
    assert len(loaded.problems) == 2
    path.write_text("this is not [ toml")
    assert load_user_presets(path).presets == ()
    assert load_user_presets(path).problems


def test_a_chat_layers_its_preset_and_its_own_values_over_the_global_settings(
    presets: PresetLibrary,
) -> None:
    defaults = Settings().with_values({"max_tokens": 300, "system_prompt": "Be brief."})
    creative = ChatTuning("Creative")
    used = creative.apply(defaults, presets)
    assert used.generation.temperature == 1.1
    # What the preset does not name still follows the global settings.
    assert used.generation.max_tokens == 300
    assert used.generation.system_prompt == "Be brief."

    chosen = used.with_values({"temperature": 1.4})
    tuned = creative.with_changes("Creative", chosen, ["temperature"], defaults, presets)
    assert tuned.overrides == {"temperature": 1.4}
    assert tuned.apply(defaults, presets).generation.temperature == 1.4
    assert tuned.describe(presets) == "Creative · temperature 1.4"
    assert ChatTuning().describe(presets) == "Global settings"


def test_a_chats_tuning_survives_the_store_and_ignores_junk() -> None:
    tuning = ChatTuning("Precise", {"top_p": 0.5, "stop": ("END",)})
    stored = tuning.to_setting()
    assert stored == {"preset": "Precise", "overrides": {"top_p": 0.5, "stop": ["END"]}}
    assert ChatTuning.from_setting(stored) == tuning
    assert ChatTuning().to_setting() is None
    junk = ChatTuning.from_setting({"preset": 3, "overrides": {"top_p": "x", "seed": 7}})
    assert junk == ChatTuning("", {"seed": 7})
    assert ChatTuning.from_setting("nonsense") == ChatTuning()


def test_a_deleted_preset_falls_back_to_the_global_settings(presets: PresetLibrary) -> None:
    presets.save("Mine", {"temperature": 0.33})
    tuning = ChatTuning("Mine")
    assert tuning.apply(Settings(), presets).generation.temperature == 0.33
    presets.delete("Mine")
    assert tuning.apply(Settings(), presets) == Settings()


def test_presets_cover_only_generation_settings() -> None:
    for preset in BUILTIN_PRESETS:
        assert set(preset.values) <= set(GENERATION_KEYS)
