"""The settings dialog and per-chat tuning, driven as a person would, on the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QDoubleSpinBox,
    QInputDialog,
    QLineEdit,
    QSlider,
    QSpinBox,
)
from pytestqt.qtbot import QtBot

from desktop.core.llm.engine import ChatRequest
from desktop.core.paths import app_paths
from desktop.core.settings.presets import PresetLibrary
from desktop.core.settings.schema import SCHEMA, SPECS
from desktop.core.settings.store import load_settings
from desktop.ui.main_window import MainWindow
from desktop.ui.settings.dialog import SettingsDialog
from tests.ui.conftest import WindowFactory


def _spin(dialog: SettingsDialog, key: str) -> QSpinBox | QDoubleSpinBox:
    for widget in dialog.editor(key).editor_widgets():
        if isinstance(widget, QSpinBox | QDoubleSpinBox):
            return widget
    raise AssertionError(f"{key} has no spin box")


def _type_into(qtbot: QtBot, spin: QSpinBox | QDoubleSpinBox, text: str) -> None:
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Tab)


def _click(qtbot: QtBot, dialog: SettingsDialog, which: QDialogButtonBox.StandardButton) -> None:
    qtbot.mouseClick(dialog.buttons.button(which), Qt.MouseButton.LeftButton)


def _record_requests(window: MainWindow) -> list[ChatRequest]:
    """Every request the chat hands to the engine (still passed on, so answers are real)."""
    seen: list[ChatRequest] = []
    window.controller.request_sent.connect(seen.append)
    return seen


def _ask(qtbot: QtBot, window: MainWindow, text: str) -> None:
    with qtbot.waitSignal(
        window.controller.busy_changed, timeout=60_000, check_params_cb=lambda busy: not busy
    ):
        assert window.controller.send(text)


def test_every_schema_field_has_an_editor_with_its_help_beside_it(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    dialog = window.open_settings()
    assert dialog.keys() == [spec.key for spec in SCHEMA]
    texts = {label.text() for label in dialog.findChildren(type(dialog.reload_notice))}
    for spec in SCHEMA:
        assert spec.help in texts
        assert spec.title in texts
    # Numbers in a range have a slider and a spin box that move together.
    temperature = dialog.editor("temperature").editor_widgets()
    slider = next(w for w in temperature if isinstance(w, QSlider))
    slider.setValue(slider.maximum())
    assert _spin(dialog, "temperature").value() == 2.0
    dialog.reject()


def test_ok_saves_the_temperature_and_the_next_answer_uses_it(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    requests = _record_requests(window)
    dialog = window.open_settings()
    _type_into(qtbot, _spin(dialog, "temperature"), "0.35")
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert not dialog.isVisible()
    assert window.settings.generation.temperature == 0.35
    saved = load_settings(app_paths().settings_file).settings
    assert saved.generation.temperature == 0.35
    loaded_before = window.engine.info
    _ask(qtbot, window, "Say hello.")
    assert requests[-1].params.temperature == 0.35
    # A sampling change never reloads the model.
    assert window.engine.info is loaded_before


def test_cancel_changes_nothing(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    before = window.settings
    dialog = window.open_settings()
    _type_into(qtbot, _spin(dialog, "top_p"), "0.5")
    _type_into(qtbot, _spin(dialog, "max_tokens"), "999")
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)
    assert window.settings == before
    assert load_settings(app_paths().settings_file).settings.generation.top_p != 0.5


def test_an_invalid_value_is_refused_in_place_with_its_message(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    before = window.settings
    dialog = window.open_settings()
    _type_into(qtbot, _spin(dialog, "chunk_overlap"), "700")
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert dialog.isVisible()
    assert "smaller than the passage size" in dialog.error_text("chunk_overlap")
    # The page with the problem is the one shown.
    assert dialog.group_list.currentItem().text() == "Documents"
    assert window.settings == before

    not_a_model = tmp_path / "notes.gguf"
    not_a_model.write_text("just text")
    _type_into(qtbot, _spin(dialog, "chunk_overlap"), "100")
    line = next(w for w in dialog.editor("model_path").editor_widgets() if isinstance(w, QLineEdit))
    line.setText(str(not_a_model))
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Apply)
    assert dialog.error_text("chunk_overlap") == ""
    # The file is read off the GUI thread; what is wrong with it then shows in place.
    qtbot.waitUntil(lambda: "GGUF" in dialog.error_text("model_path"), timeout=10_000)
    assert window.settings == before
    dialog.reject()


def test_restore_defaults_puts_every_field_back(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    dialog = window.open_settings()
    _type_into(qtbot, _spin(dialog, "temperature"), "1.5")
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.RestoreDefaults)
    assert _spin(dialog, "temperature").value() == SPECS["temperature"].default
    assert _spin(dialog, "max_tokens").value() == SPECS["max_tokens"].default
    assert dialog.preset_combo.currentText() == "Balanced"
    dialog.reject()


def test_a_preset_fills_the_fields_and_a_saved_one_comes_back(
    qtbot: QtBot, make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    dialog = window.open_settings()
    combo = dialog.preset_combo
    combo.setCurrentIndex(combo.findText("Precise"))
    combo.activated.emit(combo.currentIndex())
    assert _spin(dialog, "temperature").value() == 0.2
    _type_into(qtbot, _spin(dialog, "temperature"), "0.45")
    assert combo.currentText() == "Custom"
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("Careful", True))
    qtbot.mouseClick(dialog.save_preset_button, Qt.MouseButton.LeftButton)
    assert combo.currentText() == "Careful"
    dialog.reject()
    saved = PresetLibrary(app_paths().presets_file).get("Careful")
    assert saved is not None and saved.values["temperature"] == 0.45


def test_each_chat_answers_with_its_own_preset(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    requests = _record_requests(window)
    presets = window.presets

    creative = presets.get("Creative")
    precise = presets.get("Precise")
    assert creative is not None and precise is not None
    from desktop.core.settings.presets import ChatTuning

    window.controller.set_tuning(ChatTuning("Creative"))
    assert window.header.tuning_button.text().startswith("Creative")
    _ask(qtbot, window, "Write one word.")
    first_chat = window.controller.current_conversation
    assert requests[-1].params.temperature == creative.values["temperature"]

    window.controller.new_conversation()
    assert window.header.tuning_button.text().startswith("Global settings")
    window.controller.set_tuning(ChatTuning("Precise"))
    _ask(qtbot, window, "Write one word.")
    assert requests[-1].params.temperature == precise.values["temperature"]

    window.controller.open_conversation(first_chat)
    assert window.header.tuning_button.text().startswith("Creative")
    _ask(qtbot, window, "Another word.")
    assert requests[-1].params.temperature == creative.values["temperature"]
    # Each answer says what it was written with, so two chats' answers can be compared.
    assert first_chat is not None
    answers = [m for m in window.store.messages(first_chat) if m.role == "assistant"]
    assert answers[-1].meta["sampling"].startswith("temperature 1.1, top-p 0.98, top-k 100")
    assert "temperature 1.1" in window.chat_view.toPlainText()


def test_a_chat_can_change_one_value_on_top_of_its_preset(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    requests = _record_requests(window)
    from desktop.core.settings.presets import ChatTuning

    window.controller.set_tuning(ChatTuning("Creative"))
    dialog = window.open_chat_settings()
    assert dialog.keys() == [spec.key for spec in SCHEMA if spec.group == "generation"]
    assert dialog.preset_combo.currentText() == "Creative"
    _type_into(qtbot, _spin(dialog, "temperature"), "1.4")
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert window.header.tuning_button.text().startswith("Creative · temperature 1.4")
    _ask(qtbot, window, "One word.")
    assert requests[-1].params.temperature == 1.4
    assert requests[-1].params.top_k == 100  # the rest of Creative still applies
    # The global settings did not move.
    assert window.settings.generation.temperature == 0.0


def test_a_dark_theme_applies_at_once(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    dialog = window.open_settings()
    theme = dialog.editor("theme").editor_widgets()[0]
    theme.setCurrentIndex(theme.findData("dark"))  # type: ignore[attr-defined]
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    palette = QApplication.palette()
    assert palette.color(QPalette.ColorRole.Base).lightness() < 80
    assert palette.color(QPalette.ColorRole.Text).lightness() > 180
    assert load_settings(app_paths().settings_file).settings.appearance.theme == "dark"


def test_models_window_chooses_the_chat_model_for_the_main_window(
    qtbot: QtBot, make_window: WindowFactory, templateless_model: Path
) -> None:
    window = make_window()
    manager = window.open_models()
    base_model = templateless_model
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        manager.chat_model_chosen.emit(base_model)
    assert window.engine.info is not None and window.engine.info.path == base_model
    assert window.settings.model.model_path == str(base_model)
    assert window.open_models() is manager  # one Models window, brought forward


def test_the_chat_dialog_belongs_to_its_chat(qtbot: QtBot, make_window: WindowFactory) -> None:
    from desktop.core.settings.presets import ChatTuning

    window = make_window()
    _ask(qtbot, window, "One word.")
    first = window.controller.current_conversation
    dialog = window.open_chat_settings()
    _type_into(qtbot, _spin(dialog, "temperature"), "1.5")
    # Opening another chat closes the dialog: its values were for the first chat.
    window.controller.new_conversation()
    assert not dialog.isVisible()
    assert window.controller.tuning == ChatTuning()
    window.controller.open_conversation(first)
    assert window.controller.tuning == ChatTuning()


def test_a_chat_change_moves_only_what_was_changed(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    dialog = window.open_chat_settings()
    # The global settings change while the chat's dialog is open …
    global_dialog = window.open_settings()
    _type_into(qtbot, _spin(global_dialog, "temperature"), "0.3")
    _click(qtbot, global_dialog, QDialogButtonBox.StandardButton.Ok)
    # … and the chat changes top-k only: its temperature keeps following the global one.
    _type_into(qtbot, _spin(dialog, "top_k"), "50")
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert dict(window.controller.tuning.overrides) == {"top_k": 50}
    assert window.controller.chat_settings().generation.temperature == 0.3


def test_a_theme_change_keeps_what_the_chat_chose(qtbot: QtBot, make_window: WindowFactory) -> None:
    from desktop.core.settings.presets import ChatTuning

    window = make_window()
    window.controller.set_tuning(ChatTuning("Creative"))
    dialog = window.open_settings()
    theme = dialog.editor("theme").editor_widgets()[0]
    theme.setCurrentIndex(theme.findData("dark"))  # type: ignore[attr-defined]
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert window.controller.tuning == ChatTuning("Creative")
    assert window.header.tuning_button.text().startswith("Creative")


def test_values_set_finer_than_shown_survive_an_apply(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(min_p=0.025, top_p=0.333)
    dialog = window.open_settings()
    _type_into(qtbot, _spin(dialog, "max_tokens"), "64")
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert window.settings.generation.min_p == 0.025
    assert window.settings.generation.top_p == 0.333
    assert window.settings.generation.max_tokens == 64


def test_restore_defaults_leaves_the_model_files_alone(
    qtbot: QtBot, make_window: WindowFactory, templateless_model: Path
) -> None:
    window = make_window()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        window.load_model(templateless_model)
    dialog = window.open_settings()
    _click(qtbot, dialog, QDialogButtonBox.StandardButton.RestoreDefaults)
    assert dialog.editor("model_path").value() == str(templateless_model)
    dialog.reject()


def test_clearing_the_chat_model_goes_back_to_the_starter_model(
    qtbot: QtBot, make_window: WindowFactory, templateless_model: Path, starter_model: Path
) -> None:
    window = make_window()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        window.load_model(templateless_model)
    dialog = window.open_settings()
    line = next(w for w in dialog.editor("model_path").editor_widgets() if isinstance(w, QLineEdit))
    line.clear()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert window.engine.info is not None and window.engine.info.path == starter_model
    assert window.settings.model.model_path == ""


def test_model_settings_that_fail_to_load_are_put_back(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    from tests.support.models import write_gguf

    window = make_window()
    before = window.settings.model
    # A header llama.cpp reads, of an architecture it cannot run: the load fails.
    unknown = write_gguf(tmp_path / "future-model.gguf", "futurearch")
    dialog = window.open_settings()
    line = next(w for w in dialog.editor("model_path").editor_widgets() if isinstance(w, QLineEdit))
    line.setText(str(unknown))
    _type_into(qtbot, _spin(dialog, "batch_size"), "256")
    with qtbot.waitSignal(window.loader.failed, timeout=60_000):
        _click(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert window.settings.model == before
    assert load_settings(app_paths().settings_file).settings.model == before
    assert "previous model settings were put back" in window.error_banner.label.text()
