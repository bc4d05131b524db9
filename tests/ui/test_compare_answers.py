"""Compare answers, in the chat's window: one question from two sides, side by side, on the real
engine; a side on another model runs on an engine of its own and the chat keeps its model."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop.core.paths import app_paths
from desktop.ui.lab.answer_compare_window import CompareAnswersWindow
from tests.ui.conftest import WindowFactory

QUESTION = "The sky is"


def _wait(qtbot: QtBot, answers: CompareAnswersWindow) -> None:
    qtbot.waitUntil(lambda: not answers.running, timeout=180_000)


def _pick(answers: CompareAnswersWindow, side: int, model: Path) -> None:
    picker = answers.sides[side].picker
    index = picker.model.findData(str(model))
    assert index >= 0, [picker.model.itemText(n) for n in range(picker.model.count())]
    picker.model.setCurrentIndex(index)


def test_two_sides_answer_one_question_with_their_figures(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    window.composer.setPlainText(QUESTION)
    answers = window.lab.open_answers()
    assert answers.question.toPlainText() == QUESTION, "the composer's text is the question"
    for panel in answers.sides:
        panel.temperature.setValue(0.0)
        panel.seed.setValue(7)
    answers.compare_button.click()
    assert answers.running and not answers.compare_button.isEnabled()
    _wait(qtbot, answers)
    first, second = (panel.answer.toPlainText() for panel in answers.sides)
    assert first.strip(), "side A wrote an answer"
    assert first == second, "the same model and settings write the same answer"
    for panel in answers.sides:
        assert "tokens/s" in panel.facts.text() and "perplexity" in panel.facts.text()
        assert "temperature 0" in panel.facts.text()
    assert answers.status.text().startswith("Compared")


def test_a_side_on_another_model_leaves_the_chat_model_loaded(
    qtbot: QtBot, make_window: WindowFactory, templateless_model: Path
) -> None:
    window = make_window()
    models = app_paths().models
    models.mkdir(parents=True, exist_ok=True)
    (models / templateless_model.name).symlink_to(templateless_model)
    chat_model = window.engine.info
    assert chat_model is not None
    answers = window.lab.open_answers()
    qtbot.waitUntil(lambda: answers.sides[1].picker.model.count() > 1, timeout=30_000)
    _pick(answers, 1, models / templateless_model.name)
    for panel in answers.sides:
        panel.temperature.setValue(0.0)
    answers.question.setPlainText(QUESTION)
    answers.compare_button.click()
    _wait(qtbot, answers)
    assert chat_model.name in answers.sides[0].facts.text()
    assert templateless_model.stem in answers.sides[1].facts.text()
    assert answers.sides[1].answer.toPlainText().strip()
    info = window.engine.info
    assert info is not None and info.path == chat_model.path, "the chat keeps its model"


def test_a_side_that_cannot_run_says_why_and_the_others_answer(
    qtbot: QtBot, make_window: WindowFactory, templateless_model: Path, tmp_path: Path
) -> None:
    window = make_window()
    models = app_paths().models
    models.mkdir(parents=True, exist_ok=True)
    copy = models / "soon-gone.gguf"
    copy.symlink_to(templateless_model)
    answers = window.lab.open_answers()
    qtbot.waitUntil(lambda: answers.sides[0].picker.model.count() > 1, timeout=30_000)
    _pick(answers, 0, copy)
    answers.sides[1].temperature.setValue(0.0)
    copy.unlink()
    answers.question.setPlainText(QUESTION)
    answers.compare_button.click()
    _wait(qtbot, answers)
    assert "could not answer" in answers.sides[0].facts.text()
    assert "soon-gone" in answers.sides[0].facts.text()
    assert answers.sides[1].answer.toPlainText().strip()
    answers.question.setPlainText("")
    answers.compare_button.click()
    assert "Write the question" in answers.status.text()


def test_without_a_chat_model_another_opens_with_the_users_loading_settings(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from desktop.core.settings.schema import ModelSettings
    from desktop.ui.widgets.model_picker import ModelPicker

    picker = ModelPicker()
    qtbot.addWidget(picker)
    other = tmp_path / "other.gguf"
    options = ModelSettings(context_length=1024, lora_path=str(tmp_path / "a.gguf"))
    picker.set_models(None, [other], options)
    assert picker.choice() is None, "the chat's model, of which there is none yet"
    picker.model.setCurrentIndex(picker.model.findData(str(other)))
    choice = picker.choice()
    assert choice is not None and choice.path == other
    assert choice.options.context_length == 1024, "the user's settings, not the defaults"
    assert choice.options.lora_path == "", "an adapter belongs to the model it was made for"
    assert not picker.lora_scale.isEnabled()


def test_a_stopped_comparison_says_which_sides_did_not_answer(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    answers = window.lab.open_answers()
    answers.question.setPlainText("Write a long story about a lighthouse.")
    answers._on_add_side()
    answers.compare_button.click()
    answers.stop_button.click()
    _wait(qtbot, answers)
    assert answers.status.text().startswith("Stopped")
    for panel in answers.sides:
        text = panel.facts.text()
        assert "ended: cancelled" in text or "tokens/s" in text or "Not answered" in text, text
    assert "Not answered" in answers.sides[-1].facts.text(), "the last side never had its turn"
