"""The lab's two charts, painted directly: counts per label as bars, and the confusion matrix
as a grid whose cells darken with their count (right answers in the accent colour, mistakes in
the warning colour), each cell with its number."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.ui.appearance import colors


def _mix(colour: str, base: str, share: float) -> QColor:
    """``share`` of ``colour`` over ``base`` (0 gives the base)."""
    top, bottom = QColor(colour), QColor(base)
    share = max(0.0, min(1.0, share))
    return QColor(
        round(bottom.red() + (top.red() - bottom.red()) * share),
        round(bottom.green() + (top.green() - bottom.green()) * share),
        round(bottom.blue() + (top.blue() - bottom.blue()) * share),
    )


class LabelBars(QWidget):
    """One horizontal bar per label, its length its share of the answers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._counts: dict[str, int] = {}
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Answers per label")

    def set_counts(self, counts: Mapping[str, int]) -> None:
        self._counts = dict(counts)
        self.setToolTip("\n".join(f"{label}: {count:,}" for label, count in self._counts.items()))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        rows = max(1, len(self._counts))
        return QSize(320, rows * (self.fontMetrics().height() + 10) + 4)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        if not self._counts:
            return
        palette = colors()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        row_height = metrics.height() + 10
        name_width = max(metrics.horizontalAdvance(label) for label in self._counts) + 12
        number_width = metrics.horizontalAdvance("100,000 (100 %)") + 8
        total = sum(self._counts.values()) or 1
        biggest = max(self._counts.values()) or 1
        room = max(10, self.width() - name_width - number_width)
        for index, (label, count) in enumerate(self._counts.items()):
            top = index * row_height + 2
            painter.setPen(QColor(palette["text"]))
            painter.drawText(
                QRectF(0, top, name_width - 8, row_height),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                label,
            )
            length = room * count / biggest
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(palette["accent"]))
            painter.drawRoundedRect(
                QRectF(name_width, top + 4, max(length, 2), row_height - 8), 3, 3
            )
            painter.setPen(QColor(palette["secondary"]))
            painter.drawText(
                QRectF(name_width + length + 6, top, number_width, row_height),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                f"{count:,} ({count / total:.0%})",
            )
        painter.end()


class ConfusionGrid(QWidget):
    """Rows are the reference labels, columns the answers; the diagonal is right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[str, ...] = ()
        self._columns: tuple[str, ...] = ()
        self._counts: tuple[tuple[int, ...], ...] = ()
        self.setMinimumHeight(120)
        self.setAccessibleName("Confusion matrix")

    def set_matrix(
        self,
        rows: Sequence[str],
        columns: Sequence[str],
        counts: Sequence[Sequence[int]],
    ) -> None:
        self._rows, self._columns = tuple(rows), tuple(columns)
        self._counts = tuple(tuple(row) for row in counts)
        lines = [
            f"{reference} answered {answer}: {count:,}"
            for reference, row in zip(self._rows, self._counts, strict=True)
            for answer, count in zip(self._columns, row, strict=True)
        ]
        self.setToolTip("\n".join(lines))
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        height = self.fontMetrics().height()
        return QSize(360, (len(self._rows) + 2) * (height * 2 + 4))

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        if not self._counts:
            return
        palette = colors()
        painter = QPainter(self)
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        label_width = max(metrics.horizontalAdvance(name) for name in (*self._rows, "reference"))
        left = label_width + 16
        top = line * 2 + 8
        cell_width = max(40.0, (self.width() - left - 4) / max(1, len(self._columns)))
        cell_height = max(float(line * 2), (self.height() - top - 4) / max(1, len(self._rows)))
        biggest = max((max(row) for row in self._counts if row), default=1) or 1
        centre = int(Qt.AlignmentFlag.AlignCenter)
        painter.setPen(QColor(palette["secondary"]))
        painter.drawText(QRectF(left, 0, cell_width * len(self._columns), line), centre, "answer")
        for column, name in enumerate(self._columns):
            painter.drawText(
                QRectF(left + column * cell_width, line + 2, cell_width, line), centre, name
            )
        painter.drawText(
            QRectF(0, top - line - 2, label_width + 8, line),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            "reference",
        )
        for row, (name, counts) in enumerate(zip(self._rows, self._counts, strict=True)):
            y = top + row * cell_height
            painter.setPen(QColor(palette["text"]))
            painter.drawText(
                QRectF(0, y, label_width + 8, cell_height),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                name,
            )
            for column, count in enumerate(counts):
                right = column < len(self._rows) and self._columns[column] == name
                tone = palette["accent"] if right else palette["danger"]
                share = 0.12 + 0.88 * count / biggest if count else 0.0
                fill = _mix(tone, palette["base"], share)
                rect = QRectF(left + column * cell_width, y, cell_width - 3, cell_height - 3)
                painter.fillRect(rect, fill)
                painter.setPen(QColor("white") if share > 0.55 else QColor(palette["text"]))
                painter.drawText(rect, centre, f"{count:,}")
        painter.end()
