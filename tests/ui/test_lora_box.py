"""The Models window's LoRA adapter row, on the real engine and starter model: an adapter applied
at a scale shows in the header, a wrong one is refused with why while the model goes on, and a
file that is no adapter is turned down before anything reloads."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop.ui.main_window import MainWindow
from desktop.ui.models.lora_box import LoraBox
from tests.support.lora import write_lora
from tests.ui.conftest import WindowFactory


def _apply(qtbot: QtBot, window: MainWindow, box: LoraBox) -> None:
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        box.apply_button.click()


def test_an_adapter_is_applied_changed_and_removed_from_the_models_window(
    qtbot: QtBot, make_window: WindowFactory, starter_model: Path, tmp_path: Path
) -> None:
    window = make_window()
    window.open_models()
    box = window.models_window.lora_box
    assert box is not None and box.isVisible()
    assert "runs without an adapter" in box.status.text()
    assert not box.apply_button.isEnabled() and not box.remove_button.isEnabled()

    box.choose(write_lora(tmp_path / "style.gguf", starter_model))
    box.scale.setValue(0.5)
    assert box.apply_button.isEnabled()
    _apply(qtbot, window, box)
    assert "LoRA style ×0.5" in window.header.model_label.full_text()
    assert window.settings.model.lora_scale == 0.5
    assert box.status.text().startswith("Applied to"), box.status.text()

    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        box.remove_button.click()
    assert "LoRA" not in window.header.model_label.full_text()
    assert window.settings.model.lora_path == ""


def test_a_wrong_adapter_is_refused_with_why_and_the_model_goes_on(
    qtbot: QtBot, make_window: WindowFactory, starter_model: Path, tmp_path: Path
) -> None:
    window = make_window()
    window.open_models()
    box = window.models_window.lora_box
    assert box is not None
    box.choose(starter_model)
    assert "not a LoRA adapter" in box.status.text()
    assert box.adapter.text() == "none", "the file was turned down before anything changed"
    assert window.settings.model.lora_path == ""

    box.choose(write_lora(tmp_path / "narrow.gguf", starter_model, shrink=8))
    _apply(qtbot, window, box)
    assert box.status.text().startswith("Refused:"), box.status.text()
    info = window.engine.info
    assert info is not None and info.path == starter_model and not info.lora
