"""The conversation transcript: one QTextDocument, one frame per message.

A single rich-text document (as in qtconsole) stays smooth with hundreds of messages, keeps text
selectable across messages, and lets a streaming answer grow through one persistent QTextCursor.
Incoming text is buffered and flushed on a timer, so a fast model costs one layout every ~40 ms
rather than one per token; Markdown is rendered once, when the answer is complete. Per-message
actions are links in the message footer (``folio:`` URLs handled here, never opened).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from string import Template

from PySide6.QtCore import QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QGuiApplication,
    QTextCharFormat,
    QTextCursor,
    QTextFrame,
    QTextFrameFormat,
    QTextLength,
)
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.core.chat.markdown import plain_to_html, render_markdown
from desktop.core.chat.messages import Message, MessageStatus, Role, describe_stats
from desktop.core.chat.rag import (
    SourceRef,
    cited_numbers,
    linkify_citations,
    not_indexed_notice,
    sources_from_meta,
)
from desktop.ui.appearance import colors

SNIPPET_CHARS = 160

FLUSH_INTERVAL_MS = 40

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
"""
)


def _document_style() -> str:
    return _STYLE.substitute(colors())


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


class ChatView(QTextBrowser):
    """Shows one conversation; emits what the user asked for through its footer links."""

    edit_requested = Signal(int)
    regenerate_requested = Signal(int)
    copied = Signal(str)
    source_requested = Signal(object)  # SourceRef

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self._model_name = "Assistant"
        self._body_format = QTextCharFormat()
        self._body_format.setFontWeight(400)
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._on_flush_timer)

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

    def _show_welcome(self) -> None:
        cursor = QTextCursor(self.document())
        colours = colors()
        cursor.insertHtml(
            '<div align="center"><br><br><br>'
            f'<p style="font-size: x-large; color: {colours["secondary"]};">Ask anything.</p>'
            f'<p style="color: {colours["muted"]};">Everything you type is answered by a model '
            "running on this computer and stays here.</p>"
            f'<p style="color: {colours["faint"]}; font-size: small;">Enter sends · '
            "Shift+Enter adds a line · Esc stops an answer</p></div>"
        )
        self._showing_welcome = True

    def add_message(self, message: Message) -> None:
        at_bottom = self._is_at_bottom()
        if message.role == Role.ASSISTANT:
            self._last_answer_id = message.id
        self._append(message)
        self._refresh_footers()
        if at_bottom or message.role == Role.USER:
            self.scroll_to_bottom()

    def message_ids(self) -> list[int]:
        return list(self._order)

    def code_blocks(self, message_id: int) -> tuple[str, ...]:
        entry = self._entries.get(message_id)
        return entry.code_blocks if entry else ()

    # -- streaming ------------------------------------------------------------------------------

    def begin_stream(self, message: Message) -> None:
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
        else:
            self._render_into(entry)

    def _render_into(self, entry: _Entry) -> None:
        message = entry.message
        cursor = QTextCursor(entry.frame.firstCursorPosition())
        cursor.setPosition(entry.frame.lastPosition(), QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        if message.role == Role.ASSISTANT:
            rendered = render_markdown(message.content, f"folio:code/{message.id}/")
            body = rendered.html or "<p><i>(no answer)</i></p>"
            entry.code_blocks = rendered.code_blocks
            sources = sources_from_meta(message.meta)
            if sources:
                numbers = [source.number for source in sources]
                body = linkify_citations(body, numbers, lambda n: f"folio:source/{message.id}/{n}")
                body += self._sources_html(message, sources)
            pending = message.meta.get("not_indexed")
            if isinstance(pending, list) and pending:
                notice = not_indexed_notice([str(name) for name in pending])
                body += f'<p class="notice">{html.escape(notice)}</p>'
        else:
            body = f"<p>{plain_to_html(message.content)}</p>"
        cursor.insertHtml(self._header_html(message) + body + self._footer_html(message))
        if self._offers_regenerate(message):
            self._offering_regenerate = message.id

    def _sources_html(self, message: Message, sources: list[SourceRef]) -> str:
        """Cited sources first, in order of first citation, then those retrieved but unused."""
        cited = cited_numbers(message.content, (source.number for source in sources))
        by_number = {source.number: source for source in sources}
        ordered = [by_number[n] for n in cited] + [s for s in sources if s.number not in cited]
        lines = ['<p class="sources">Sources</p>']
        for source in ordered:
            snippet = " ".join(source.text.split())
            if len(snippet) > SNIPPET_CHARS:
                snippet = snippet[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
            score = f" · {source.similarity:.2f}" if source.similarity is not None else ""
            link = (
                f'<a href="folio:source/{message.id}/{source.number}">[{source.number}] '
                f"{html.escape(source.file)}, {html.escape(source.page_text)}</a>"
            )
            css = "source" if source.number in cited else "source uncited"
            unused = "" if source.number in cited or not cited else " (not cited)"
            lines.append(
                f'<p class="{css}">{link}{html.escape(unused)}'
                f'<span class="snippet"> — “{html.escape(snippet)}”{score}</span></p>'
            )
        return "".join(lines)

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
        if message.role == Role.USER:
            links.append(f'<a href="folio:edit/{message.id}">Edit</a>')
        elif self._offers_regenerate(message):
            links.append(f'<a href="folio:regenerate/{message.id}">Regenerate</a>')
        parts: list[str] = []
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
        """Move the Regenerate link to the last answer (none while an answer streams)."""
        wanted = self._last_answer_id if self._stream is None else None
        if wanted == self._offering_regenerate:
            return
        for message_id in (self._offering_regenerate, wanted):
            entry = self._entries.get(message_id) if message_id is not None else None
            if entry is not None and entry.message.status != MessageStatus.STREAMING:
                self._render_into(entry)
        self._offering_regenerate = wanted

    # -- scrolling ------------------------------------------------------------------------------

    def _is_at_bottom(self, slack: int = 40) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - slack

    def scroll_to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # -- links ----------------------------------------------------------------------------------

    @Slot(QUrl)
    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() != "folio":
            if url.scheme() in ("http", "https", "mailto"):
                QDesktopServices.openUrl(url)
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
        elif action == "regenerate":
            self.regenerate_requested.emit(message_id)
        elif action == "source" and len(parts) > 1 and parts[1].isdigit():
            source = self.source_of(message_id, int(parts[1]))
            if source is not None:
                self.source_requested.emit(source)

    def _copy(self, text: str, confirmation: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(confirmation)


def _last_answer_id(messages: list[Message]) -> int | None:
    answers = [m.id for m in messages if m.role == Role.ASSISTANT]
    return answers[-1] if answers else None
