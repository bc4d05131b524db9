"""Folio's own document viewer: opens a source at its page with the passage highlighted.

PDFs are shown with QtPdf (pdfium); the passage is found again in pdfium's text of the page
(``locate_passage``) and handed to a ``QPdfSearchModel``, which the view highlights. Text and
Markdown files are shown as plain text with the passage marked.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import (
    QAction,
    QColor,
    QDesktopServices,
    QKeySequence,
    QPalette,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.documents.passage import locate_passage, search_phrase

ZOOM_STEP = 1.2
# Shorter phrases to try when the whole passage is not found as one string on the page.
FALLBACK_WORDS = (12, 6)


@dataclass(frozen=True)
class Passage:
    path: Path
    name: str
    page: int  # 1-based physical page
    text: str = ""
    caption: str = ""


class DocumentViewer(QMainWindow):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentViewer")
        self.setWindowFlag(Qt.WindowType.Window)
        screen = self.screen().availableGeometry()
        self.resize(min(900, screen.width() * 3 // 4), min(1000, screen.height() * 9 // 10))
        self._passage: Passage | None = None
        self._wanted_phrase = ""
        self._target_page = 0
        self._target_location = QPointF()

        self.document = QPdfDocument(self)
        self.search_model = QPdfSearchModel(self)
        self.search_model.setDocument(self.document)
        self.pdf_view = QPdfView()
        self.pdf_view.setObjectName("pdfView")
        self.pdf_view.setDocument(self.document)
        self.pdf_view.setSearchModel(self.search_model)
        self.pdf_view.setPageMode(QPdfView.PageMode.MultiPage)
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        # Search results are painted in the palette's highlight colour: a marker's amber.
        palette = self.pdf_view.palette()
        palette.setColor(QPalette.ColorRole.Highlight, QColor(250, 204, 21, 110))
        self.pdf_view.setPalette(palette)
        self.text_view = QPlainTextEdit()
        self.text_view.setReadOnly(True)
        self.text_view.setObjectName("textView")
        self.message_label = QLabel()
        self.message_label.setObjectName("viewerMessage")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self.stack = QStackedWidget()
        for widget in (self.pdf_view, self.text_view, self.message_label):
            self.stack.addWidget(widget)

        self.caption_label = QLabel()
        self.caption_label.setObjectName("viewerCaption")
        self.caption_label.setWordWrap(True)
        self.caption_label.setTextFormat(Qt.TextFormat.RichText)
        self.previous_button = self._tool_button("◀", "Previous page", QKeySequence("PgUp"))
        self.next_button = self._tool_button("▶", "Next page", QKeySequence("PgDown"))
        self.page_box = QSpinBox()
        self.page_box.setKeyboardTracking(False)
        self.page_count_label = QLabel()
        self.zoom_out_button = self._tool_button(
            "−", "Zoom out", QKeySequence(QKeySequence.StandardKey.ZoomOut)
        )
        self.zoom_in_button = self._tool_button(
            "+", "Zoom in", QKeySequence(QKeySequence.StandardKey.ZoomIn)
        )
        self.fit_button = QPushButton("Fit width")
        self.system_button = QPushButton("Open in system viewer")
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(10, 6, 10, 6)
        toolbar.addWidget(self.previous_button)
        toolbar.addWidget(self.next_button)
        toolbar.addWidget(QLabel("Page"))
        toolbar.addWidget(self.page_box)
        toolbar.addWidget(self.page_count_label)
        toolbar.addSpacing(16)
        toolbar.addWidget(self.zoom_out_button)
        toolbar.addWidget(self.zoom_in_button)
        toolbar.addWidget(self.fit_button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.system_button)

        caption_box = QWidget()
        caption_box.setObjectName("viewerCaptionBox")
        caption_layout = QVBoxLayout(caption_box)
        caption_layout.setContentsMargins(12, 8, 12, 8)
        caption_layout.addWidget(self.caption_label)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(toolbar)
        layout.addWidget(caption_box)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.previous_button.clicked.connect(self._on_previous)
        self.next_button.clicked.connect(self._on_next)
        self.page_box.valueChanged.connect(self._on_page_chosen)
        self.zoom_in_button.clicked.connect(self._on_zoom_in)
        self.zoom_out_button.clicked.connect(self._on_zoom_out)
        self.fit_button.clicked.connect(self._on_fit_width)
        self.system_button.clicked.connect(self._on_open_in_system_viewer)
        self.pdf_view.pageNavigator().currentPageChanged.connect(self._on_current_page_changed)

        # A viewer opened to check one source is closed as quickly: Esc, or the usual Ctrl+W.
        close_action = QAction("Close", self)
        close_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_Escape), QKeySequence(QKeySequence.StandardKey.Close)]
        )
        close_action.triggered.connect(self.close)
        self.addAction(close_action)

    def _tool_button(self, text: str, tip: str, shortcut: QKeySequence) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(f"{tip} ({shortcut.toString(QKeySequence.SequenceFormat.NativeText)})")
        button.setShortcut(shortcut)
        button.setAutoRaise(True)
        return button

    # -- showing --------------------------------------------------------------------------------

    @property
    def passage(self) -> Passage | None:
        return self._passage

    @property
    def highlighted_phrase(self) -> str:
        """What is highlighted on the page (empty when the passage could not be located)."""
        return self._wanted_phrase

    def show_passage(self, passage: Passage) -> None:
        self._passage = passage
        self._wanted_phrase = ""
        self.setWindowTitle(f"{passage.name} — Folio")
        self.system_button.setEnabled(passage.path.exists())
        if not passage.path.exists():
            self._show_message(
                f"<b>“{html.escape(passage.name)}” is no longer at</b><br>"
                f"{html.escape(str(passage.path))}<br><br>It was moved or deleted after it was "
                "indexed. Add it to the library again from its new place to open its pages."
                + self._quoted_passage(passage)
            )
            return
        if passage.path.suffix.lower() == ".pdf":
            self._show_pdf(passage)
        else:
            self._show_text(passage)

    def _show_pdf(self, passage: Passage) -> None:
        self.search_model.setSearchString("")
        self.document.close()
        error = self.document.load(str(passage.path))
        if error != QPdfDocument.Error.None_:
            reason = {
                QPdfDocument.Error.IncorrectPassword: "it is protected by a password",
                QPdfDocument.Error.UnsupportedSecurityScheme: "its encryption is not supported",
                QPdfDocument.Error.FileNotFound: "the file is not there any more",
                QPdfDocument.Error.InvalidFileFormat: "it is not a readable PDF any more",
            }.get(error, "it could not be read")
            self._show_message(
                f"<b>“{html.escape(passage.name)}” could not be opened:</b> {reason}."
                + self._quoted_passage(passage)
            )
            return
        self.stack.setCurrentWidget(self.pdf_view)
        pages = self.document.pageCount()
        page_index = min(max(passage.page, 1), pages) - 1
        self.page_box.blockSignals(True)
        self.page_box.setRange(1, max(pages, 1))
        self.page_box.setValue(page_index + 1)
        self.page_box.blockSignals(False)
        self.page_count_label.setText(f"of {pages:,}")
        self._set_navigation_enabled(True)
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self._target_page = page_index
        found, top = self._find_on_page(passage, page_index)
        # The passage's first line a little below the top of the view, or the page's top.
        self._target_location = QPointF(0, max(top - 72, 0))
        self._jump_to_target()
        # Fit-to-width zoom is computed once the view has its final size, which changes the
        # height of every page above the target: jump again when the layout has settled.
        QTimer.singleShot(0, self._jump_to_target)
        QTimer.singleShot(150, self._jump_to_target)
        self._set_caption(passage, located=bool(found))
        if found:
            self._wanted_phrase = found
            # The view highlights every match on the pages in view; the phrase is long enough
            # to match the passage alone. (Making it the "current" result would scroll the view
            # again, to wherever the model's still-growing result list puts that index.)
            self.search_model.setSearchString(found)

    def _find_on_page(self, passage: Passage, page_index: int) -> tuple[str, float]:
        """A phrase of the passage that the PDF's own search finds on the page (or ""), and
        how far down the page (in points) it starts."""
        if not passage.text.strip():
            return "", 0.0
        page_text = self.document.getAllText(page_index).text()
        span = locate_passage(passage.text, page_text)
        if span is None:
            return "", 0.0
        phrase = search_phrase(page_text, span)
        probe = QPdfSearchModel()
        probe.setDocument(self.document)
        words = phrase.split()
        for candidate in (phrase, *(" ".join(words[:n]) for n in FALLBACK_WORDS)):
            probe.setSearchString(candidate)
            results = probe.resultsOnPage(page_index)
            if results:
                rectangles = results[0].rectangles()
                return candidate, min((r.top() for r in rectangles), default=0.0)
        return "", 0.0

    @Slot()
    def _jump_to_target(self) -> None:
        """Scroll so that the passage (or the page's top) is just below the top of the view.

        Computed from the layout fit-to-width gives (every page as wide as the view, stacked
        with the view's spacing) rather than left to the page navigator, which ignores the
        location and does nothing when asked for the page it thinks it is on.
        """
        if self.stack.currentWidget() is not self.pdf_view:
            return
        margins = self.pdf_view.documentMargins()
        shown_width = self.pdf_view.viewport().width() - margins.left() - margins.right()
        spacing = self.pdf_view.pageSpacing()
        top = float(margins.top())
        for index in range(self._target_page):
            size = self.document.pagePointSize(index)
            if size.width() > 0:
                top += size.height() * shown_width / size.width() + spacing
        size = self.document.pagePointSize(self._target_page)
        if size.width() > 0:
            top += self._target_location.y() * shown_width / size.width()
        self.pdf_view.verticalScrollBar().setValue(round(top))

    def _show_text(self, passage: Passage) -> None:
        try:
            text = passage.path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            self._show_message(
                f"<b>“{html.escape(passage.name)}” could not be read:</b> "
                f"{html.escape(error.strerror or str(error))}." + self._quoted_passage(passage)
            )
            return
        self.stack.setCurrentWidget(self.text_view)
        self._set_navigation_enabled(False)
        self.page_count_label.setText("")
        self.text_view.setPlainText(text)
        span = locate_passage(passage.text, text) if passage.text.strip() else None
        self._set_caption(passage, located=span is not None)
        if span is None:
            self.text_view.setExtraSelections([])
            return
        self._wanted_phrase = text[span.start : span.end]
        cursor = QTextCursor(self.text_view.document())
        cursor.setPosition(span.start)
        cursor.setPosition(span.end, QTextCursor.MoveMode.KeepAnchor)
        marked = QTextEdit.ExtraSelection()
        marked.cursor = cursor
        highlight = QTextCharFormat()
        highlight.setBackground(QColor("#fde68a"))
        marked.format = highlight
        self.text_view.setExtraSelections([marked])
        self.text_view.setTextCursor(QTextCursor(cursor.block()))
        self.text_view.centerCursor()

    def _show_message(self, message: str) -> None:
        self.stack.setCurrentWidget(self.message_label)
        self.caption_label.setText("")
        self._set_navigation_enabled(False)
        self.page_count_label.setText("")
        self.message_label.setText(message)

    def _set_caption(self, passage: Passage, located: bool) -> None:
        caption = html.escape(passage.caption or f"{passage.name}, page {passage.page}")
        if not passage.text.strip():
            self.caption_label.setText(caption)
        elif located:
            self.caption_label.setText(f"{caption} · the passage is highlighted")
        else:
            self.caption_label.setText(
                f"{caption} · the passage could not be matched on the page exactly; it reads:"
                + self._quoted_passage(passage)
            )

    @staticmethod
    def _quoted_passage(passage: Passage) -> str:
        if not passage.text.strip():
            return ""
        excerpt = " ".join(passage.text.split())
        if len(excerpt) > 400:
            excerpt = excerpt[:400].rsplit(" ", 1)[0] + "…"
        return f"<p style='color: #4b5563;'><i>“{html.escape(excerpt)}”</i></p>"

    def _set_navigation_enabled(self, enabled: bool) -> None:
        for widget in (
            self.previous_button,
            self.next_button,
            self.page_box,
            self.zoom_in_button,
            self.zoom_out_button,
            self.fit_button,
        ):
            widget.setEnabled(enabled)

    # -- navigation -----------------------------------------------------------------------------

    @Slot()
    def _on_previous(self) -> None:
        self.page_box.setValue(self.page_box.value() - 1)

    @Slot()
    def _on_next(self) -> None:
        self.page_box.setValue(self.page_box.value() + 1)

    @Slot(int)
    def _on_page_chosen(self, page: int) -> None:
        navigator = self.pdf_view.pageNavigator()
        if navigator.currentPage() != page - 1:
            navigator.jump(page - 1, QPointF(), navigator.currentZoom())

    @Slot(int)
    def _on_current_page_changed(self, page_index: int) -> None:
        self.page_box.blockSignals(True)
        self.page_box.setValue(page_index + 1)
        self.page_box.blockSignals(False)

    @Slot()
    def _on_zoom_in(self) -> None:
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.pdf_view.setZoomFactor(min(self.pdf_view.zoomFactor() * ZOOM_STEP, 8.0))

    @Slot()
    def _on_zoom_out(self) -> None:
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.pdf_view.setZoomFactor(max(self.pdf_view.zoomFactor() / ZOOM_STEP, 0.2))

    @Slot()
    def _on_fit_width(self) -> None:
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)

    @Slot()
    def _on_open_in_system_viewer(self) -> None:
        if self._passage is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._passage.path)))
