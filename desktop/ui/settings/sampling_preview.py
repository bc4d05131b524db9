"""The settings' live preview of the sampler: the loaded model's real next-word distribution
after a short sample text, and which of those words the temperature, top-k, top-p and min-p in
the dialog keep (with the chance each then has) and which they drop, redrawn as they change."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Slot
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.core.llm.engine import ChatEngine
from desktop.core.llm.probabilities import ChainSettings, apply_chain
from desktop.core.llm.scoring import NextWords
from desktop.ui.appearance import colors
from desktop.ui.tasks import Tasks

if TYPE_CHECKING:
    from desktop.ui.settings.dialog import SettingsDialog

SAMPLE_TEXT = "The sky is"
CHAIN_KEYS = ("temperature", "top_k", "top_p", "min_p")
SHOWN = 10


class _Bars(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float, float | None]] = []  # word, model's p, drawn p

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(480, SHOWN * (self.fontMetrics().height() + 6) + 4)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        if not self.rows:
            return
        palette = colors()
        painter = QPainter(self)
        metrics = QFontMetrics(self.font())
        row = metrics.height() + 6
        name_width = max(metrics.horizontalAdvance(word) for word, _, _ in self.rows) + 12
        figures = metrics.horizontalAdvance("100 % → 100 %") + 10
        room = max(40, self.width() - name_width - figures)
        left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for index, (word, model_p, drawn_p) in enumerate(self.rows):
            top = index * row
            kept = bool(drawn_p)
            painter.setPen(QColor(palette["text"] if kept else palette["muted"]))
            painter.drawText(QRectF(0, top, name_width - 6, row), left, word)
            painter.fillRect(
                QRectF(name_width, top + 3, room * model_p, row / 2 - 3), QColor(palette["muted"])
            )
            if drawn_p:
                painter.fillRect(
                    QRectF(name_width, top + row / 2, room * drawn_p, row / 2 - 3),
                    QColor(palette["accent"]),
                )
            after = f"{drawn_p:.0%}" if kept and drawn_p is not None else "dropped"
            painter.setPen(QColor(palette["secondary"]))
            painter.drawText(
                QRectF(name_width + room + 6, top, figures, row), left, f"{model_p:.0%} → {after}"
            )
        painter.end()


class SamplingPreview(QWidget):
    """Shows nothing until the engine has answered; a model that is not loaded says so."""

    def __init__(self, engine: ChatEngine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._words: NextWords | None = None
        self._chain: ChainSettings | None = None
        self._follow: Callable[[], None] | None = None
        self.title = QLabel(f"Preview: the model's next word after “{SAMPLE_TEXT}”")
        self.title.setStyleSheet("font-weight: 600;")
        self.summary = QLabel("Reading the model's next-word probabilities…")
        self.summary.setObjectName("fieldHelp")
        self.summary.setWordWrap(True)
        self.bars = _Bars()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.bars)
        layout.addWidget(self.summary)
        self._tasks = Tasks(self)
        if engine.info is None:
            self.summary.setText("Load a chat model to see how these settings reshape its choice.")
            return
        self._tasks.follow(
            engine.run_on_model(lambda scorer: scorer.next_words(SAMPLE_TEXT)),
            done=self._on_words,
            failed=self._on_failed,
        )

    @classmethod
    def attach(cls, engine: ChatEngine, dialog: SettingsDialog) -> SamplingPreview:
        """A preview on the dialog's Generation page, following its four sampler fields."""
        preview = cls(engine, dialog)
        editors = [dialog.editor(key) for key in CHAIN_KEYS]

        def follow() -> None:
            try:
                values = [float(editor.value()) for editor in editors]
            except (TypeError, ValueError):
                return
            temperature, top_k, top_p, min_p = values
            preview.set_chain(ChainSettings(temperature, int(top_k), top_p, min_p))

        preview._follow = follow
        for editor in editors:
            editor.changed.connect(preview._on_field_changed)
        dialog.add_preview(preview)
        follow()
        return preview

    @Slot()
    def _on_field_changed(self) -> None:
        if self._follow is not None:
            self._follow()

    def _on_words(self, words: Any) -> None:
        self._words = words
        self._redraw()

    def _on_failed(self, _error: BaseException) -> None:
        self.summary.setText("The preview could not be computed; the settings work as usual.")

    def set_chain(self, chain: ChainSettings) -> None:
        self._chain = chain
        self._redraw()

    def _redraw(self) -> None:
        words, chain = self._words, self._chain
        if words is None or chain is None:
            return
        logits = np.array(words.logits, dtype=np.float32)
        kept = apply_chain(logits, chain).as_dict()
        probabilities = np.exp(logits.astype(np.float64) - words.normaliser)
        self.bars.rows = [
            (_visible(words.texts[index]), float(probabilities[index]), kept.get(index, 0.0))
            for index in range(min(SHOWN, len(words.texts)))
        ]
        self.bars.update()
        names = ", ".join(_visible(words.texts[index]).strip() for index in list(kept)[:6])
        more = f" and {len(kept) - 6} more" if len(kept) > 6 else ""
        noun = "word" if len(kept) == 1 else "words"
        self.summary.setText(
            f"These values keep {len(kept)} {noun} ({names}{more}); grey is the model's "
            "probability, blue the chance each kept word is drawn."
        )


def _visible(text: str) -> str:
    return text.replace("\n", "⏎") if text.strip() else repr(text)
