"""A document's Name cell: its title, and under it, smaller and muted, its file name."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop.core.documents.records import DocumentRecord
from desktop.ui.appearance import colors
from desktop.ui.widgets.record_table import RECORD_ROLE, ModelIndex

_PADDING_X = 6
_PADDING_Y = 3
_LINE_GAP = 1


def name_row_height(font: QFont) -> int:
    """Two lines, the title's and the smaller file name's, with the cell's padding."""
    return (
        QFontMetrics(font).height()
        + QFontMetrics(file_name_font(font)).height()
        + _LINE_GAP
        + 2 * _PADDING_Y
    )


def file_name_font(base: QFont) -> QFont:
    font = QFont(base)
    if font.pointSizeF() > 0:
        font.setPointSizeF(max(font.pointSizeF() * 0.86, 7.0))
    return font


class DocumentNameDelegate(QStyledItemDelegate):
    """The title elides at its end; the file name in the middle, where hashes and dated names
    differ least (“a4f3ced06…f28c4.pdf”). A document without a title of its own is called by
    its file name alone, on one line: the same name twice would only be noise."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        record = index.data(RECORD_ROLE)
        if not isinstance(record, DocumentRecord):
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        # The row's background: alternating, hovered, selected.
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        selected = bool(item.state & QStyle.StateFlag.State_Selected)
        area = item.rect.adjusted(_PADDING_X, _PADDING_Y, -_PADDING_X, -_PADDING_Y)
        title_font = QFont(item.font)
        small_font = file_name_font(item.font)
        title_metrics, small_metrics = QFontMetrics(title_font), QFontMetrics(small_font)
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        title_colour = item.palette.color(text_role)
        file_colour = QColor(title_colour) if selected else QColor(colors()["muted"])
        if selected:
            file_colour.setAlpha(200)
        title = title_metrics.elidedText(
            record.display_title, Qt.TextElideMode.ElideRight, area.width()
        )
        file_name = small_metrics.elidedText(
            record.name, Qt.TextElideMode.ElideMiddle, area.width()
        )
        # Not clipped to the line's box: an underscore sits below the font's descent.
        align = int(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextDontClip
        )
        painter.save()
        painter.setFont(title_font)
        painter.setPen(title_colour)
        if not record.has_title:
            painter.drawText(
                area,
                align,
                title_metrics.elidedText(record.name, Qt.TextElideMode.ElideMiddle, area.width()),
            )
            painter.restore()
            return
        title_rect = QRect(area.left(), area.top(), area.width(), title_metrics.height())
        file_rect = QRect(
            area.left(), title_rect.bottom() + 1 + _LINE_GAP, area.width(), small_metrics.height()
        )
        painter.drawText(title_rect, align, title)
        painter.setFont(small_font)
        painter.setPen(file_colour)
        painter.drawText(file_rect, align, file_name)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        size.setHeight(max(size.height(), name_row_height(option.font)))
        return size
