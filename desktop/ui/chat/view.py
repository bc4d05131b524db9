"""The conversation transcript: one QTextDocument, one frame per message.

A single rich-text document (as in qtconsole) stays smooth with hundreds of messages, keeps text
selectable across messages, and lets a streaming answer grow through one persistent QTextCursor.
Incoming text is buffered and flushed on a timer, so a fast model costs one layout every ~40 ms
rather than one per token; Markdown is rendered once, when the answer is complete. Per-message
actions are links in the message footer (``folio:`` URLs handled here, never opened).

The view follows the newest message while the reader is at the bottom (as an answer grows, and
when the view is resized: the library pane opening, a banner, the window); a reader who scrolled
up keeps the text they were reading at the top of the view.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from string import Template
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QPoint, QSizeF, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QGuiApplication,
    QHelpEvent,
    QResizeEvent,
    QShowEvent,
    QTextCharFormat,
    QTextCursor,
    QTextFrame,
    QTextFrameFormat,
    QTextLength,
)
from PySide6.QtWidgets import QTextBrowser, QToolTip, QWidget

from desktop.core.chat.markdown import plain_to_html, render_markdown
from desktop.core.chat.messages import (
    Message,
    MessageStatus,
    Role,
    can_continue,
    describe_stats,
)
from desktop.core.chat.rag import (
    SourceRef,
    quotes_from_meta,
    sources_from_meta,
)
from desktop.core.documents.records import DocumentRecord, DocumentStatus
from desktop.ui.appearance import colors
from desktop.ui.chat.answer_details import AnswerDetails
from desktop.ui.chat.answer_html import STYLE as ANSWER_STYLE
from desktop.ui.chat.answer_html import answer_html, preface_html
from desktop.ui.chat.welcome import ADD_DOCUMENTS_URL, welcome_html

if TYPE_CHECKING:
    from desktop.ui.library.service import LibraryService

FLUSH_INTERVAL_MS = 40
# How close to the end counts as reading the newest message (pixels).
BOTTOM_SLACK = 40

_STYLE = Template(
    """
p { margin-top: 0px; margin-bottom: 6px; }
pre { background-color: $code; font-family: monospace; padding: 8px; margin-top: 0px; }
code { background-color: $code; font-family: monospace; }
table { border-collapse: collapse; margin-bottom: 6px; }
th, td { border: 1px solid $border_strong; padding: 3px 8px; }
th { background-color: $code; }
.codebar { color: $muted; font-size: small; margin-bottom: 0px; }
.who { color: $secondary; font-weight: 600; }
.footer { color: $muted; font-size: small; }
.notice { color: $warning_text; font-size: small; }
a { color: $link; text-decoration: none; }
.sources { color: $secondary; font-size: small; font-weight: 600; margin-top: 8px;
           margin-bottom: 2px; }
.source { font-size: small; margin-bottom: 3px; }
.snippet { color: $muted; }
.uncited { color: $faint; }
.unavailable { color: $faint; }
"""
)


def _document_style() -> str:
    return Template(_STYLE.template + ANSWER_STYLE).substitute(colors())


@dataclass
class _Entry:
    message: Message
    frame: QTextFrame
    code_blocks: tuple[str, ...] = ()


@dataclass
class _Stream:
    message: Message
    frame: QTextFrame
    cursor: QTextCursor
    pending: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    # The status line shown until the first word ("Searching your documents…"): where it starts
    # in the document and how long it is, so it can be replaced and then removed.
    status_at: int = -1
    status_length: int = 0


class ChatView(QTextBrowser):
    """Shows one conversation; emits what the user asked for through its footer links."""

    edit_requested = Signal(int)
    regenerate_requested = Signal(int)
    # Answer again from another source: the message, "documents" or "model".
    answer_again_requested = Signal(int, str)
    continue_requested = Signal(int)
    # Another of an answer's alternatives: the message, the alternative's index (from 0).
    alternative_requested = Signal(int, int)
    copied = Signal(str)
    source_requested = Signal(object)  # SourceRef
    # The welcome's Add documents… link was clicked.
    add_documents_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        offer_documents: bool = False,
        library: LibraryService | None = None,
    ) -> None:
        """``library``: the welcome of an empty chat then says how many documents are ready
        to be asked about."""
        super().__init__(parent)
        self._offer_documents = offer_documents
        self._documents_ready = 0
        if library is not None:
            library.documents_changed.connect(self._on_documents_changed)
        self.setObjectName("chatView")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self.document().setDefaultStyleSheet(_document_style())
        self.document().setDocumentMargin(16)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self._entries: dict[int, _Entry] = {}
        self._order: list[int] = []
        self._stream: _Stream | None = None
        # The last answer is the only one offering Regenerate; tracked rather than searched for
        # so that rendering a long chat does not re-render footers.
        self._last_answer_id: int | None = None
        self._offering_regenerate: int | None = None
        self._showing_welcome = False
        self.details = AnswerDetails(self)
        self._model_name = "Assistant"
        self._body_format = QTextCharFormat()
        self._body_format.setFontWeight(400)
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._on_flush_timer)
        # Whether the reader is at the newest message, kept as they scroll: when the text or
        # the view's size changes, the view stays at the bottom only if the reader was there.
        self._following = True
        self._bottom_when_shown = False
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_scroll_range_changed)
        # Qt lays a long document out in steps, after it is shown: each step that makes it
        # taller keeps a reader who is following at the newest message.
        layout = self.document().documentLayout()
        layout.documentSizeChanged.connect(self._on_document_size_changed)

    # -- whole conversation ---------------------------------------------------------------------

    def set_model_name(self, name: str) -> None:
        self._model_name = name

    def show_messages(self, messages: list[Message]) -> None:
        self._stop_stream_timer()
        self._stream = None
        self._entries.clear()
        self._order.clear()
        self.document().clear()
        # Read again each time, so a theme change shows when the chat is drawn again.
        self.document().setDefaultStyleSheet(_document_style())
        self._last_answer_id = _last_answer_id(messages)
        self._offering_regenerate = None
        for message in messages:
            self._append(message)
        if not messages:
            self._show_welcome()
        self._refresh_footers()
        self.scroll_to_bottom()
        if not self.isVisible():
            # Showing the window lays the text out at its real width and moves the scroll
            # position on the way; a chat opened before that still opens at its newest message.
            self._bottom_when_shown = True

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._bottom_when_shown:
            self._bottom_when_shown = False
            QTimer.singleShot(0, self.scroll_to_bottom)

    def _show_welcome(self) -> None:
        cursor = QTextCursor(self.document())
        cursor.insertHtml(welcome_html(colors(), self._offer_documents, self._documents_ready))
        self._showing_welcome = True

    @Slot(object)
    def _on_documents_changed(self, records: list[DocumentRecord]) -> None:
        ready = sum(record.status == DocumentStatus.READY for record in records)
        if ready == self._documents_ready:
            return
        self._documents_ready = ready
        if self._showing_welcome:
            self.document().clear()
            self._show_welcome()

    def add_message(self, message: Message) -> None:
        at_bottom = self._is_at_bottom()
        if message.role == Role.ASSISTANT:
            self._last_answer_id = message.id
        self._append(message)
        self._refresh_footers()
        if at_bottom or message.role == Role.USER:
            self.scroll_to_bottom()

    def replace_message(self, message: Message) -> None:
        """Show ``message`` in place of the one with its id (another of its alternatives)."""
        entry = self._entries.get(message.id)
        if entry is None or (self._stream is not None and self._stream.message.id == message.id):
            return
        bar = self.verticalScrollBar()
        position = bar.value()
        entry.message = message
        self._render_into(entry)
        if not self._following:
            # The text above the message stays where it was, and so does the message's top.
            bar.setValue(position)

    def message_ids(self) -> list[int]:
        return list(self._order)

    def code_blocks(self, message_id: int) -> tuple[str, ...]:
        entry = self._entries.get(message_id)
        return entry.code_blocks if entry else ()

    # -- streaming ------------------------------------------------------------------------------

    def begin_stream(self, message: Message) -> None:
        """Show ``message`` being written; one being continued shows its text so far, and the
        new text is written on at its end."""
        self._last_answer_id = message.id
        self._append(message, streaming=True)
        entry = self._entries[message.id]
        cursor = QTextCursor(entry.frame.lastCursorPosition())
        # The body must not inherit the bold header's format.
        cursor.setCharFormat(self._body_format)
        self._stream = _Stream(message=message, frame=entry.frame, cursor=cursor)
        self._refresh_footers()
        self.scroll_to_bottom()
        self._flush_timer.start()

    @Slot(str)
    def show_stream_status(self, status: str) -> None:
        """Until the answer's first word, say what is happening; "" removes the line."""
        stream = self._stream
        if stream is None:
            return
        self._clear_stream_status(stream)
        if not status or stream.text or stream.pending:
            return
        stream.status_at = stream.cursor.position()
        status_format = QTextCharFormat(self._body_format)
        status_format.setForeground(QColor(colors()["muted"]))
        status_format.setFontItalic(True)
        stream.cursor.insertText(status, status_format)
        stream.status_length = stream.cursor.position() - stream.status_at
        stream.cursor.setPosition(stream.status_at)
        if self._following:
            self.scroll_to_bottom()

    def _clear_stream_status(self, stream: _Stream) -> None:
        if stream.status_at < 0:
            return
        eraser = QTextCursor(self.document())
        eraser.setPosition(stream.status_at)
        eraser.setPosition(stream.status_at + stream.status_length, QTextCursor.MoveMode.KeepAnchor)
        eraser.removeSelectedText()
        stream.cursor.setPosition(stream.status_at)
        stream.status_at, stream.status_length = -1, 0

    @Slot(object)
    def show_stream_origin(self, meta: dict[str, Any]) -> None:
        """Where the answer being written comes from, and its quoted evidence, above it."""
        stream = self._stream
        if stream is None or stream.text or stream.pending:
            return
        preface = preface_html(stream.message.id, meta, offer_links=False)
        if not preface:
            return
        self._clear_stream_status(stream)
        stream.cursor.insertHtml(preface)
        stream.cursor.insertBlock()
        stream.cursor.setCharFormat(self._body_format)

    def append_stream_text(self, text: str) -> None:
        if self._stream is not None:
            self._stream.pending.append(text)

    def finish_stream(self, message: Message) -> None:
        """Replace the streamed plain text by the rendered, final message."""
        self._stop_stream_timer()
        stream = self._stream
        self._stream = None
        entry = self._entries.get(message.id)
        if entry is None or stream is None:
            return
        # Rendering replaces the frame's text; keep the reader where they were.
        bar = self.verticalScrollBar()
        at_bottom, position = self._is_at_bottom(), bar.value()
        entry.message = message
        self._render_into(entry)
        self._refresh_footers()
        if at_bottom:
            self.scroll_to_bottom()
        else:
            bar.setValue(position)

    @Slot()
    def _on_flush_timer(self) -> None:
        stream = self._stream
        if stream is None or not stream.pending:
            return
        text = "".join(stream.pending)
        stream.pending.clear()
        self._clear_stream_status(stream)
        stream.text.append(text)
        at_bottom = self._is_at_bottom()
        stream.cursor.insertText(text, self._body_format)
        if at_bottom:
            self.scroll_to_bottom()

    def _stop_stream_timer(self) -> None:
        self._flush_timer.stop()
        if self._stream is not None:
            self._on_flush_timer()

    # -- building the document ------------------------------------------------------------------

    def _append(self, message: Message, streaming: bool = False) -> None:
        if self._showing_welcome:
            self.document().clear()
            self._showing_welcome = False
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        frame_format = QTextFrameFormat()
        frame_format.setPadding(10)
        frame_format.setBottomMargin(8)
        frame_format.setWidth(QTextLength(QTextLength.Type.PercentageLength, 100))
        frame_format.setBackground(
            QColor(colors()["user_bubble" if message.role == Role.USER else "base"])
        )
        frame = cursor.insertFrame(frame_format)
        entry = _Entry(message=message, frame=frame)
        self._entries[message.id] = entry
        self._order.append(message.id)
        if streaming:
            header = QTextCursor(frame.firstCursorPosition())
            header.insertHtml(self._header_html(message))
            header.insertBlock()
            if message.content:
                # Only the text, rendered: the sources and the footer come when it is complete.
                header.insertHtml(render_markdown(message.content, "").html)
        else:
            self._render_into(entry)

    def _render_into(self, entry: _Entry) -> None:
        message = entry.message
        cursor = QTextCursor(entry.frame.firstCursorPosition())
        cursor.setPosition(entry.frame.lastPosition(), QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        if message.role == Role.ASSISTANT:
            body, entry.code_blocks = answer_html(message)
        else:
            body = f"<p>{plain_to_html(message.content)}</p>"
        cursor.insertHtml(self._header_html(message) + body + self._footer_html(message))
        if self._offers_regenerate(message):
            self._offering_regenerate = message.id

    def quoted_source(self, message_id: int, index: int) -> SourceRef | None:
        """The source of the answer's quote number ``index``, narrowed to the quoted words (so
        the viewer highlights the sentence, not the whole passage)."""
        entry = self._entries.get(message_id)
        quotes = quotes_from_meta(entry.message.meta) if entry is not None else []
        if not 0 <= index < len(quotes):
            return None
        source = self.source_of(message_id, quotes[index].source)
        return replace(source, text=quotes[index].text) if source is not None else None

    def source_of(self, message_id: int, number: int) -> SourceRef | None:
        entry = self._entries.get(message_id)
        if entry is None:
            return None
        for source in sources_from_meta(entry.message.meta):
            if source.number == number:
                return source
        return None

    def _header_html(self, message: Message) -> str:
        if message.role == Role.USER:
            who = "You"
        else:
            who = html.escape(str(message.meta.get("model") or self._model_name))
        return f'<p class="who">{who}</p>'

    def _footer_html(self, message: Message) -> str:
        links = [f'<a href="folio:copy/{message.id}">Copy</a>']
        links += AnswerDetails.links(message)
        if message.role == Role.USER:
            links.append(f'<a href="folio:edit/{message.id}">Edit</a>')
        elif self._offers_regenerate(message):
            links.append(f'<a href="folio:regenerate/{message.id}">Regenerate</a>')
            if can_continue(message):
                links.append(f'<a href="folio:continue/{message.id}">Continue</a>')
        parts: list[str] = []
        if message.alternative_count > 1:
            parts.append(_alternatives_html(message))
        if message.role == Role.ASSISTANT:
            if message.status == MessageStatus.INTERRUPTED:
                parts.append('<span class="notice">Stopped before the end</span>')
            elif message.status == MessageStatus.FAILED:
                parts.append('<span class="notice">Failed</span>')
            elif message.meta.get("finish_reason") == "length":
                parts.append('<span class="notice">Cut off at the answer length limit</span>')
            stats = describe_stats(message.meta)
            if stats:
                parts.append(html.escape(stats))
        parts.append(" &nbsp; ".join(links))
        return f'<p class="footer">{" · ".join(parts)}</p>'

    def _offers_regenerate(self, message: Message) -> bool:
        return self._stream is None and message.id == self._last_answer_id

    def _refresh_footers(self) -> None:
        """Move the Regenerate and Continue links to the last answer (none while an answer
        streams)."""
        wanted = self._last_answer_id if self._stream is None else None
        if wanted == self._offering_regenerate:
            return
        for message_id in (self._offering_regenerate, wanted):
            entry = self._entries.get(message_id) if message_id is not None else None
            if entry is not None and entry.message.status != MessageStatus.STREAMING:
                self._render_into(entry)
        self._offering_regenerate = wanted

    # -- scrolling ------------------------------------------------------------------------------

    def _is_at_bottom(self, slack: int = BOTTOM_SLACK) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - slack

    def scroll_to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        self._following = True

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        """Hovering text with a tooltip (a source's relevance score) shows it."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            tip = self.cursorForPosition(event.pos()).charFormat().toolTip()
            if tip:
                QToolTip.showText(event.globalPos(), tip, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        # A new width lays the text out again: lines wrap elsewhere and the document changes
        # height, so the same scroll value would show other text.
        anchor = None if self._following else self._reading_anchor()
        super().resizeEvent(event)
        if self._following:
            self.scroll_to_bottom()
        elif anchor is not None:
            self._return_to(anchor)

    def _reading_anchor(self) -> tuple[int, int]:
        """Where the reader is: the text position at the top of the view, and how far below
        the top that position's line begins."""
        cursor = self.cursorForPosition(QPoint(0, 0))
        return cursor.position(), self.cursorRect(cursor).top()

    def _return_to(self, anchor: tuple[int, int]) -> None:
        position, offset = anchor
        cursor = QTextCursor(self.document())
        cursor.setPosition(min(position, self.document().characterCount() - 1))
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + self.cursorRect(cursor).top() - offset)

    @Slot(int)
    def _on_scrolled(self, value: int) -> None:
        self._following = value >= self.verticalScrollBar().maximum() - BOTTOM_SLACK

    @Slot(QSizeF)
    def _on_document_size_changed(self, _size: QSizeF) -> None:
        if self._following:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())

    @Slot(int, int)
    def _on_scroll_range_changed(self, _minimum: int, maximum: int) -> None:
        # Called before the value is clamped to the new range: "following" is still what the
        # reader chose, not a consequence of the change.
        if self._following:
            self.verticalScrollBar().setValue(maximum)

    # -- links ----------------------------------------------------------------------------------

    @Slot(QUrl)
    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() != "folio":
            if url.scheme() in ("http", "https", "mailto"):
                QDesktopServices.openUrl(url)
            return
        if url == QUrl(ADD_DOCUMENTS_URL):
            self.add_documents_requested.emit()
            return
        action, _, rest = url.path().partition("/")
        parts = rest.split("/")
        try:
            message_id = int(parts[0])
        except (ValueError, IndexError):
            return
        entry = self._entries.get(message_id)
        if entry is None:
            return
        if action == "copy":
            self._copy(entry.message.content, "Message copied")
        elif action == "code" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            if index < len(entry.code_blocks):
                self._copy(entry.code_blocks[index], "Code copied")
        elif action == "edit":
            self.edit_requested.emit(message_id)
        elif self.details.open(action, entry.message):
            pass
        elif action == "regenerate":
            self.regenerate_requested.emit(message_id)
        elif action == "continue":
            self.continue_requested.emit(message_id)
        elif action == "search-anyway":
            self.answer_again_requested.emit(message_id, "documents")
        elif action == "answer-plain":
            self.answer_again_requested.emit(message_id, "model")
        elif action == "alternative" and len(parts) > 1 and parts[1].isdigit():
            self.alternative_requested.emit(message_id, int(parts[1]))
        elif action == "quote" and len(parts) > 1 and parts[1].isdigit():
            quoted = self.quoted_source(message_id, int(parts[1]))
            if quoted is not None:
                self.source_requested.emit(quoted)
        elif action == "source" and len(parts) > 1 and parts[1].isdigit():
            source = self.source_of(message_id, int(parts[1]))
            if source is not None:
                self.source_requested.emit(source)

    def _copy(self, text: str, confirmation: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(confirmation)


def _alternatives_html(message: Message) -> str:
    """“‹ 2/3 ›”: which of the answers to its question this is, with a way to each neighbour."""
    index, count = message.alternative_index, message.alternative_count

    def arrow(symbol: str, target: int, tip: str) -> str:
        if not 0 <= target < count:
            return f'<span class="unavailable">{symbol}</span>'
        return f'<a href="folio:alternative/{message.id}/{target}" title="{tip}">{symbol}</a>'

    previous = arrow("‹", index - 1, "Previous answer")
    following = arrow("›", index + 1, "Next answer")
    return f"{previous}&nbsp;{index + 1}/{count}&nbsp;{following}"


def _last_answer_id(messages: list[Message]) -> int | None:
    answers = [m.id for m in messages if m.role == Role.ASSISTANT]
    return answers[-1] if answers else None
