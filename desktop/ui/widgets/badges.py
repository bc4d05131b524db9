"""A name with a small rounded label at the end of its cell (“In use for chat”, “Installed”)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop.ui.appearance import colors
from desktop.ui.widgets.record_table import BADGE_ROLE, ModelIndex

# The theme colour (desktop.ui.appearance) of each tone.
_BADGE_TONES = {"accent": "accent", "good": "success", "warn": "warning_text"}
_BADGE_PADDING = 7


class BadgeDelegate(QStyledItemDelegate):
    """A name with a small rounded label at the end of its cell (“In use for chat”)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        badge = index.data(BADGE_ROLE)
        if not badge:
            super().paint(painter, option, index)
            return
        text, tone = badge
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        font = self._badge_font(item.font)
        metrics = QFontMetrics(font)
        width = metrics.horizontalAdvance(text) + 2 * _BADGE_PADDING
        height = metrics.height() + 4
        rect = item.rect
        room = max(rect.width() - width - 3 * _BADGE_PADDING, 0)
        item.text = item.fontMetrics.elidedText(item.text, Qt.TextElideMode.ElideMiddle, room)
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        foreground = QColor(colors()[_BADGE_TONES.get(tone, "accent")])
        # The tone's own colour, faintly, behind it: legible in light and dark themes alike.
        background = QColor(foreground)
        background.setAlpha(38)
        shape = QRectF(
            rect.right() - _BADGE_PADDING - width,
            rect.top() + (rect.height() - height) / 2,
            width,
            height,
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(shape, height / 2, height / 2)
        painter.setPen(foreground)
        painter.setFont(font)
        painter.drawText(shape, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        badge = index.data(BADGE_ROLE)
        if badge:
            metrics = QFontMetrics(self._badge_font(option.font))
            size.setWidth(size.width() + metrics.horizontalAdvance(badge[0]) + 4 * _BADGE_PADDING)
        return size

    @staticmethod
    def _badge_font(base: QFont) -> QFont:
        font = QFont(base)
        if font.pointSizeF() > 0:
            font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
        font.setWeight(QFont.Weight.DemiBold)
        return font
