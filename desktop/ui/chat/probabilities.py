"""An answer's token probabilities: every token tinted by how likely the model found it, and for
the token picked, the words it ranked highest there, as the model saw them and after the
sampler's cut, with a way to continue the answer from any of them (a new version of the answer;
the original stays)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.core.chat.messages import Message
from desktop.core.llm.probabilities import Alternative, TokenProbabilities, score_sequence
from desktop.ui.appearance import colors

PROBABILITIES_KEY = "probabilities"


def steps_of(message: Message) -> list[TokenProbabilities]:
    stored = message.meta.get(PROBABILITIES_KEY)
    if not isinstance(stored, list):
        return []
    steps: list[TokenProbabilities] = []
    for item in stored:
        try:
            steps.append(TokenProbabilities.from_json(item))
        except (KeyError, TypeError, ValueError):
            return []
    return steps


def tint(probability: float) -> str:
    """A token's background: none when the model was sure, warmer the less likely it was."""
    if probability >= 0.9:
        return "transparent"
    # From a pale yellow (likely) to a clear red (unlikely), on a log scale.
    share = min(1.0, -math.log10(max(probability, 1e-6)) / 3)
    hue = round(50 - 50 * share)
    return f"hsl({hue}, 90%, {round(88 - 18 * share)}%)"


def _shown(text: str) -> str:
    """A token's text made visible: its spaces and line breaks as marks."""
    return text.replace(" ", "␣").replace("\n", "⏎") or "∅"


class AlternativesChart(QWidget):
    """One row per alternative: its probability as the model saw it (the grey bar), what the
    sampler made of it (the coloured bar) and a line where the sampler cut."""

    chosen = Signal(int)  # the index of the alternative clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._top: tuple[Alternative, ...] = ()
        self._picked = ""
        self._selected = -1
        self.setMouseTracking(True)

    def show_step(self, step: TokenProbabilities | None) -> None:
        self._top = step.top if step is not None else ()
        self._picked = step.text if step is not None else ""
        self._selected = -1
        self.updateGeometry()
        self.update()

    def _row_height(self) -> int:
        return self.fontMetrics().height() + 10

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(520, max(1, len(self._top)) * self._row_height() + 28)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        index = int(event.position().y() // self._row_height())
        if 0 <= index < len(self._top):
            self._selected = index
            self.update()
            self.chosen.emit(index)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        if not self._top:
            return
        palette = colors()
        painter = QPainter(self)
        metrics = QFontMetrics(self.font())
        row = self._row_height()
        name_width = max(metrics.horizontalAdvance(_shown(a.text)) for a in self._top) + 16
        figures = metrics.horizontalAdvance("100.0 %  ·  log −10.00  ·  kept 100 %") + 12
        bar_room = max(40, self.width() - name_width - figures)
        cut_drawn = False
        for index, alternative in enumerate(self._top):
            top = index * row
            if index == self._selected:
                painter.fillRect(QRectF(0, top, self.width(), row), QColor(palette["accent_soft"]))
            if (
                not cut_drawn
                and alternative.sampled is not None
                and not alternative.kept
                and index > 0
            ):
                # Everything below this line was cut by top-k, top-p or min-p.
                painter.setPen(QColor(palette["danger"]))
                painter.drawLine(0, top, self.width(), top)
                cut_drawn = True
            mine = alternative.text == self._picked
            painter.setPen(QColor(palette["text"] if alternative.kept else palette["muted"]))
            font = painter.font()
            font.setBold(mine)
            painter.setFont(font)
            painter.drawText(
                QRectF(4, top, name_width - 8, row),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                _shown(alternative.text),
            )
            font.setBold(False)
            painter.setFont(font)
            raw = QRectF(name_width, top + 4, bar_room * alternative.probability, row / 2 - 4)
            painter.fillRect(raw, QColor(palette["muted"]))
            if alternative.sampled:
                drawn = QRectF(
                    name_width, top + row / 2, bar_room * alternative.sampled, row / 2 - 4
                )
                painter.fillRect(drawn, QColor(palette["accent"]))
            kept = (
                ""
                if alternative.sampled is None
                else f"  ·  kept {alternative.sampled:.0%}"
                if alternative.kept
                else "  ·  cut"
            )
            painter.setPen(QColor(palette["secondary"]))
            painter.drawText(
                QRectF(name_width + bar_room + 8, top, figures, row),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                f"{alternative.probability:.1%}  ·  log {alternative.logprob:.2f}{kept}",
            )
        painter.end()


class ProbabilityWindow(QDialog):
    """Emits ``branch_requested`` with the answer and the text to continue it from."""

    branch_requested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Token probabilities — Folio")
        self.resize(760, 620)
        self._message: Message | None = None
        self._steps: list[TokenProbabilities] = []
        self._index = -1
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.tokens = QTextBrowser()
        self.tokens.setOpenLinks(False)
        self.tokens.anchorClicked.connect(self._on_token_clicked)
        self.detail = QLabel("Click a token to see the words the model weighed there.")
        self.detail.setWordWrap(True)
        self.chart = AlternativesChart()
        self.chart.chosen.connect(self._on_alternative_chosen)
        self.branch_button = QPushButton("Continue from here")
        self.branch_button.setEnabled(False)
        self.branch_button.clicked.connect(self._on_branch)
        legend = QLabel(
            "Grey: the model's probability · blue: after the repetition penalties, temperature, "
            "top-k, top-p and min-p (a word said recently loses some) · red line: the sampler's "
            "cut, where it falls among the words drawn. Tokens are tinted the less likely they "
            "were."
        )
        legend.setObjectName("progressLabel")
        legend.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.branch_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tokens, 2)
        layout.addWidget(self.detail)
        layout.addWidget(self.chart, 1)
        layout.addWidget(legend)
        layout.addLayout(buttons)

    def show_message(self, message: Message) -> None:
        self._message = message
        self._steps = steps_of(message)
        score = score_sequence(self._steps)
        self.summary.setText(
            f"{score.tokens:,} tokens · total log-probability {score.total_logprob:.2f} · "
            f"perplexity {score.perplexity:.2f} (1 would be certain of every token)"
        )
        self.tokens.setHtml(self._tokens_html(self._steps))
        self._select(0 if self._steps else -1)
        self.show()
        self.raise_()

    @staticmethod
    def _tokens_html(steps: Sequence[TokenProbabilities]) -> str:
        spans = []
        for index, step in enumerate(steps):
            title = html.escape(
                f"{step.probability:.1%} · rank {step.rank} · "
                + ", ".join(f"{_shown(a.text)} {a.probability:.0%}" for a in step.top[:5]),
                quote=True,
            )
            text = html.escape(step.text).replace("\n", "<br>")
            spans.append(
                f'<a href="token:{index}" title="{title}" style="color: inherit; '
                f'text-decoration: none; background-color: {tint(step.probability)};">'
                f"{text}</a>"
            )
        return f'<div style="font-size: 13pt; line-height: 150%;">{"".join(spans)}</div>'

    @Slot(QUrl)
    def _on_token_clicked(self, url: QUrl) -> None:
        if url.scheme() == "token" and url.path().isdigit():
            self._select(int(url.path()))

    def _select(self, index: int) -> None:
        self._index = index
        self._alternative = -1
        self.branch_button.setEnabled(False)
        self.branch_button.setText("Continue from here")
        if not 0 <= index < len(self._steps):
            self.chart.show_step(None)
            return
        step = self._steps[index]
        self.chart.show_step(step)
        shown = len(step.top)
        kept = f"the sampler kept {step.kept_count:,} words" + (
            f" (the {shown} likeliest are drawn)" if step.kept_count > shown else ""
        )
        self.detail.setText(
            f"Token {index + 1}: “{_shown(step.text)}”, probability {step.probability:.1%} "
            f"(log {step.logprob:.2f}), rank {step.rank} · {kept}, "
            f"{step.kept_mass:.0%} of the model's probability. Click a word below to continue "
            "the answer with it instead."
        )

    @Slot(int)
    def _on_alternative_chosen(self, index: int) -> None:
        if not 0 <= self._index < len(self._steps):
            return
        self._alternative = index
        alternative = self._steps[self._index].top[index]
        self.branch_button.setText(f"Continue with “{_shown(alternative.text)}”")
        self.branch_button.setEnabled(self._message is not None)

    @Slot()
    def _on_branch(self) -> None:
        if self._message is None or not 0 <= self._index < len(self._steps):
            return
        before = "".join(step.text for step in self._steps[: self._index]).lstrip()
        chosen = self._steps[self._index].top[self._alternative].text
        prefix = before + chosen
        if not before:
            prefix = prefix.lstrip()
        self.branch_requested.emit(self._message.id, prefix)
        # The new version is another answer with probabilities of its own: open it from its
        # link once written, rather than reading this one's as if they were its.
        self.hide()
