"""The settings' preview of the sampler: the loaded model's real next words, and the set the
dialog's temperature, top-k, top-p and min-p keep, redrawn as they change."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from desktop.ui.settings.sampling_preview import SamplingPreview
from tests.ui.conftest import WindowFactory


def _kept(preview: SamplingPreview) -> int:
    return sum(1 for _word, _model_p, drawn in preview.bars.rows if drawn)


def test_the_preview_shows_which_words_the_settings_keep(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window(temperature=0.7)
    dialog = window.open_settings()
    preview = dialog.findChild(SamplingPreview)
    assert preview is not None
    qtbot.waitUntil(lambda: bool(preview.bars.rows), timeout=30_000)
    model_probabilities = [p for _word, p, _drawn in preview.bars.rows]
    assert model_probabilities == sorted(model_probabilities, reverse=True)
    assert sum(model_probabilities) <= 1.0 + 1e-6

    dialog.editor("top_k").set_value(0)
    dialog.editor("top_p").set_value(1.0)
    dialog.editor("min_p").set_value(0.0)
    assert _kept(preview) == len(preview.bars.rows), "nothing cut: every word shown is kept"
    dialog.editor("top_k").set_value(3)
    assert _kept(preview) == 3
    assert "keep 3 words" in preview.summary.text()
    dialog.editor("temperature").set_value(0.0)
    assert _kept(preview) == 1 and "keep 1 word" in preview.summary.text()
    # Greedy: the word kept is the model's favourite, drawn every time.
    assert preview.bars.rows[0][2] == 1.0
    dialog.reject()
