"""The Prompt lab window, driven as a person would, on the real engine and starter model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.core.lab.batch import Progress
from desktop.core.paths import app_paths
from desktop.ui.lab.window import LabWindow
from desktop.ui.main_window import MainWindow
from tests.ui.conftest import WindowFactory

ROWS = [
    ("The food was wonderful.", "positive"),
    ("Cold soup and rude staff.", "negative"),
    ("Best pizza in town!", "positive"),
    ("A dry, overpriced burger.", "negative"),
    ("Lovely place, we will be back.", "positive"),
    ("The fish smelled off.", "negative"),
]


def _reviews(folder: Path) -> Path:
    path = folder / "reviews.tsv"
    lines = ["text\tlabel", *(f"{text}\t{label}" for text, label in ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _open_lab(make_window: Callable[[], MainWindow], data: Path) -> LabWindow:
    window = make_window()
    lab = window.lab.open()
    lab.form.set_data(data)
    lab.form.examples.setPlainText("Delicious! => positive\nAwful. => negative")
    return lab


def _wait_until_idle(qtbot: QtBot, lab: LabWindow) -> None:
    qtbot.waitUntil(lambda: not lab.running, timeout=120_000)


def test_a_run_shows_counts_scores_and_the_confusion_matrix(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    lab = _open_lab(make_window, _reviews(tmp_path))
    assert lab.form.reference.currentText() == "label", "the label column is guessed"
    assert lab.run_button.isEnabled(), lab.form.problem.text()
    assert lab.status.text().startswith("Ready: press Run"), "the next step is said"
    qtbot.mouseClick(lab.run_button, Qt.MouseButton.LeftButton)
    assert lab.running and not lab.form.isEnabled()
    _wait_until_idle(qtbot, lab)
    assert lab.status.text().startswith("Done: 6 of 6 rows"), lab.status.text()
    assert lab.model.rowCount() == 6
    assert "seed 0" in lab.settings_line.text() and "likelihood" in lab.settings_line.text()
    tokens = lab.model.index(0, lab.model.columnCount() - 2).data()
    assert lab.model.headerData(lab.model.columnCount() - 2, Qt.Orientation.Horizontal) == "Tokens"
    assert tokens.endswith("→ 1"), "a scored label is one token written"
    assert "positive" in lab.sentence.text() and "negative" in lab.sentence.text()
    assert lab.scores.text().startswith("Accuracy")
    assert lab.confusion.isVisible()
    assert lab.export_button.isEnabled()


def test_a_paused_run_continues_where_it_stopped(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    lab = _open_lab(make_window, _reviews(tmp_path))
    seen: list[int] = []
    original = lab._on_progress

    def pause_at_two(update: object) -> None:
        original(update)
        if isinstance(update, Progress):
            seen.append(update.done)
            if update.done == 2:
                lab._on_pause()

    lab._on_progress = pause_at_two  # type: ignore[method-assign]
    lab._on_run()
    _wait_until_idle(qtbot, lab)
    assert "Paused at" in lab.status.text()
    done = seen[-1]
    assert 2 <= done < len(ROWS)
    lab._on_run()
    _wait_until_idle(qtbot, lab)
    assert lab.status.text().startswith(f"Done: {len(ROWS)} of {len(ROWS)} rows")
    assert lab.model.rowCount() == len(ROWS), "the rows done before are shown again"


def test_bad_form_input_is_said_and_run_is_refused(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    lab = _open_lab(make_window, _reviews(tmp_path))
    lab.form.template.setPlainText("Review: {txt}")
    assert "Did you mean {text}?" in lab.form.problem.text()
    assert not lab.run_button.isEnabled()
    lab.form.template.setPlainText("Review: {text}\nSentiment:")
    lab.form.labels.setText("positive")
    assert "at least two" in lab.form.problem.text()
    lab.form.labels.setText("positive, negative")
    lab.form.examples.setPlainText("no arrow on this line")
    assert "=>" in lab.form.problem.text()
    lab.form.examples.setPlainText("")
    assert lab.form.problem.text() == "" and lab.run_button.isEnabled()


def test_the_model_is_not_switched_under_a_running_batch(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    lab = window.lab.open()
    lab.form.set_data(_reviews(tmp_path))
    lab._on_run()
    assert lab.running
    assert "Prompt lab" in window.lab.switch_refusal()
    lab._on_pause()
    _wait_until_idle(qtbot, lab)
    assert window.lab.switch_refusal() == ""


def test_zero_shot_and_few_shot_side_by_side(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    lab = window.lab.open()
    lab.form.set_data(_reviews(tmp_path))
    lab.form.examples.setPlainText("")
    lab.variants.keep_button.click()
    lab.form.examples.setPlainText("Delicious! => positive\nAwful. => negative")
    lab.variants.keep_button.click()
    assert len(lab.variants.specs) == 2
    assert "A: likeliest label, no examples" in lab.variants.listing.text()
    assert "B: likeliest label, 2 examples" in lab.variants.listing.text()
    assert lab.variants.compare_button.isEnabled()
    lab.variants.compare_button.click()
    assert lab.running
    _wait_until_idle(qtbot, lab)
    compared = lab.variants.compare_window
    assert compared is not None and compared.isVisible()
    assert compared.variants.rowCount() == 2
    scores = [compared.variants.item(row, 2) for row in (0, 1)]
    assert scores[0] is not None and "accuracy" in scores[0].text()
    assert scores[1] is not None and "rows/s" in scores[1].text()
    assert compared.rows_model.rowCount() == len(ROWS)
    differing = int(compared.disagreements.text().split("disagree on ")[1].split(" of")[0])
    compared.only_disagreements.setChecked(True)
    assert compared.visible_rows() == differing
    compared.only_disagreements.setChecked(False)
    assert compared.visible_rows() == len(ROWS)


def test_a_hundred_thousand_results_are_counted_as_they_come(qtbot: QtBot) -> None:
    from desktop.ui.lab.results_table import ResultRow, ResultsTableModel

    model = ResultsTableModel()
    model.reset(["text", "label"])
    for start in range(0, 100_000, 5_000):
        model.add(
            [
                ResultRow(n, {"text": f"row {n}", "label": "positive"}, "", label, 0.9, None, 0.1,
                          label == "positive")
                for n in range(start, start + 5_000)
                for label in ("positive" if n % 3 else "negative",)
            ]
        )  # fmt: skip
    model.flush()
    assert model.rowCount() == 100_000
    assert model.label_counts == {"positive": 66_666, "negative": 33_334}
    assert model.mistakes == 33_334


def test_variants_on_two_models_and_a_run_that_leaves_the_chat_model_free(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, templateless_model: Path
) -> None:
    window = make_window()
    models = app_paths().models
    models.mkdir(parents=True, exist_ok=True)
    other = models / templateless_model.name
    other.symlink_to(templateless_model)
    lab = _open_lab(make_window=lambda: window, data=_reviews(tmp_path))
    picker = lab.form.model_picker
    qtbot.waitUntil(lambda: picker.model.findData(str(other)) >= 0, timeout=30_000)
    lab.variants.keep_button.click()
    picker.model.setCurrentIndex(picker.model.findData(str(other)))
    assert lab.form.model_choice() is not None
    lab.variants.keep_button.click()
    assert len(lab.variants.specs) == 2
    assert templateless_model.stem in lab.variants.listing.text()
    lab.variants.compare_button.click()
    _wait_until_idle(qtbot, lab)
    compared = lab.variants.compare_window
    assert compared is not None
    named = [compared.variants.item(row, 3) for row in (0, 1)]
    assert named[0] is not None and named[1] is not None
    assert templateless_model.stem not in named[0].text()
    assert templateless_model.stem in named[1].text()

    lab._on_run()
    assert lab.running
    assert window.lab.switch_refusal() == "", "the run holds a model of its own"
    _wait_until_idle(qtbot, lab)
    assert lab.status.text().startswith("Done"), lab.status.text()
    assert templateless_model.stem in lab.settings_line.text()
    info = window.engine.info
    assert info is not None and info.path != templateless_model, "the chat kept its model"


def test_a_hundred_thousand_compared_rows_filter_to_the_disagreements(qtbot: QtBot) -> None:
    from desktop.core.lab.compare import ComparedRow
    from desktop.ui.lab.compare_window import ComparedRowsModel

    rows = [
        ComparedRow(n, {"text": f"row {n}"}, "positive", ("positive", second))
        for n in range(1, 100_001)
        for second in ("negative" if n % 7 else "positive",)
    ]
    model = ComparedRowsModel()
    model.reset(rows, ["A", "B"], only_disagreements=False)
    assert model.rowCount() == 100_000
    assert model.headers() == ["#", "Input", "Reference", "A", "B"]
    model.show_only_disagreements(True)
    assert model.rowCount() == sum(1 for row in rows if not row.agree)
    first = model.index(0, 4)
    assert first.data() == "negative" and model.index(0, 0).data() == "1"
    assert first.data(Qt.ItemDataRole.ForegroundRole) is not None, "a wrong answer is marked"


def test_another_file_clears_the_table_and_shows_its_own_columns(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    from desktop.core.lab.pasted import save_pasted_lines

    lab = _open_lab(make_window, _reviews(tmp_path))
    lab._on_run()
    _wait_until_idle(qtbot, lab)
    assert lab.model.rowCount() == len(ROWS)
    pasted = save_pasted_lines("Tasty.\nCold and slow.\n", tmp_path / "pasted")
    lab.form.set_data(pasted)
    assert lab.model.rowCount() == 0 and lab.settings_line.text() == "", "not the last file's"
    lab._on_run()
    _wait_until_idle(qtbot, lab)
    assert lab.model.rowCount() == 2
    headers = [lab.model.headerData(n, Qt.Orientation.Horizontal) for n in range(5)]
    label_column = headers.index("Model's label")
    assert not lab.table.isColumnHidden(label_column), "an earlier run's hidden column is shown"
    assert lab.model.index(0, label_column).data() in ("positive", "negative")
