"""The library in numbers, in words, and the line under the documents: indexing as it goes,
paused, stopped, and done.

Both the summary under the pane's title and the line under the documents count pages the one
way ``LibraryCounts`` does: a page is searchable once all its passages are indexed, so the
two always give the same number. The end of a run stays told until the next thing happens to
the library (a run starts, documents are added, removed or change state): a line that went
away by itself would leave the user wondering whether indexing had finished or stopped.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop.core.documents.records import LibraryCounts
from desktop.core.formatting import count_text, time_left_text
from desktop.ui.appearance import colors

SHOW_PROBLEMS_LINK = "show-problems"


def pages_text(counts: LibraryCounts) -> str:
    """“120 of 1,318 pages searchable” while some wait, “1,318 pages searchable” after."""
    if counts.all_searchable:
        return f"{count_text(counts.searchable_pages, 'page')} searchable"
    return f"{counts.searchable_pages:,} of {count_text(counts.pages, 'page')} searchable"


def summary_text(counts: LibraryCounts) -> str:
    """The line under the pane's title: “3 documents · 120 of 1,318 pages searchable”."""
    parts = [count_text(counts.documents, "document"), pages_text(counts)]
    if counts.failed:
        parts.append(f"{counts.failed:,} failed")
    if counts.needs_attention:
        parts.append(f"{counts.needs_attention:,} {_need(counts.needs_attention)} attention")
    return " · ".join(parts)


def done_text(counts: LibraryCounts) -> str:
    """What the library holds once a run is over:
    “Indexing finished: 15 documents, 1,318 pages searchable”."""
    problems = counts.failed + counts.needs_attention
    indexed = counts.documents - problems - counts.waiting
    pages = pages_text(counts)
    if not problems:
        return f"Indexing finished: {count_text(counts.documents, 'document')}, {pages}"
    if indexed == 0:
        documents = count_text(counts.documents, "document")
        return f"Indexing finished, but no document could be indexed ({documents})"
    return (
        f"Indexing finished: {indexed:,} of {count_text(counts.documents, 'document')} "
        f"indexed, {pages}"
    )


def problems_text(counts: LibraryCounts) -> str:
    """“1 could not be read and 2 need attention”, or "" when none."""
    parts = []
    if counts.failed:
        parts.append(f"{counts.failed:,} could not be read")
    if counts.needs_attention:
        parts.append(f"{counts.needs_attention:,} {_need(counts.needs_attention)} attention")
    return " and ".join(parts)


def _need(count: int) -> str:
    return "needs" if count == 1 else "need"


class IndexingStatus(QWidget):
    """The progress bar, the line that says how indexing goes, and Pause and Stop."""

    # The user asked to see the documents that failed or need attention.
    problems_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressBox")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.label = QLabel()
        self.label.setObjectName("progressLabel")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.linkActivated.connect(self._on_link_activated)
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip(
            "Stop indexing; what is done is kept and the rest waits for Resume"
        )
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.bar)
        layout.addLayout(row)
        self._showing_done = False
        self._plain_text = ""

    def shown_text(self) -> str:
        """The line as the user reads it (without the markup of the end of a run)."""
        return self._plain_text

    @property
    def showing_done(self) -> bool:
        """The end of a run is being told (until the next thing happens to the library)."""
        return self._showing_done and not self.isHidden()

    def show_starting(self) -> None:
        self._show_running()
        self.bar.setRange(0, 0)
        self._set_plain("Starting…")

    def show_progress(
        self, counts: LibraryCounts, pages_per_second: float, seconds_left: float | None
    ) -> None:
        self._show_running()
        self._show_count(counts)
        self._set_plain(
            f"Indexing · {pages_text(counts)} · {pages_per_second:.1f} pages/s · "
            f"{time_left_text(seconds_left)}"
        )

    def show_paused(self, counts: LibraryCounts, held: bool) -> None:
        """Paused: ``held`` once the run has finished the page it was on."""
        self._show_running()
        self._show_count(counts)
        self._set_plain(
            f"Paused · {pages_text(counts)}"
            if held
            else f"Pausing after this page · {pages_text(counts)}…"
        )

    def show_stopped(self, waiting: int) -> None:
        """No run, and documents wait (Stop was pressed, or the app quit mid-way)."""
        self._showing_done = False
        self.show()
        self.bar.show()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self._set_plain(
            f"Indexing stopped: {waiting:,} document{'s wait' if waiting != 1 else ' waits'}."
        )
        self.pause_button.setText("Resume")
        self.pause_button.show()
        self.cancel_button.hide()

    def show_done(self, counts: LibraryCounts) -> None:
        """The run is over: what it achieved, and what needs the user, if anything."""
        self.show()
        self.bar.hide()
        self.pause_button.hide()
        self.cancel_button.hide()
        theme = colors()
        problems = problems_text(counts)
        # A warning only when nothing at all became searchable; else what did is the news.
        nothing = bool(problems) and not counts.searchable_pages
        mark, tone = ("⚠", "warning_text") if nothing else ("✓", "success")
        text = (
            f"<span style='color: {theme[tone]}; font-weight: 600;'>{mark}</span>&nbsp; "
            f"{html.escape(done_text(counts), quote=False)}"
        )
        plain = f"{mark}  {done_text(counts)}"
        if problems:
            one = counts.failed + counts.needs_attention == 1
            advice = f"Select {'it' if one else 'one'} to see why and what to do."
            show = f"Show {'it' if one else 'them'}"
            text += (
                f"<br><span style='color: {theme['warning_text']};'>"
                f"{html.escape(problems, quote=False)}.</span> {advice} "
                f"<a href='{SHOW_PROBLEMS_LINK}'>{show}</a>"
            )
            plain += f"\n{problems}. {advice} {show}"
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setText(text)
        self._plain_text = plain
        self._showing_done = True

    def hide_done(self) -> None:
        """The end of the last run is old news: something else happened to the library."""
        if self._showing_done:
            self._showing_done = False
            self.hide()

    def _show_running(self) -> None:
        self._showing_done = False
        self.show()
        self.bar.show()
        self.pause_button.show()
        self.cancel_button.show()

    def _show_count(self, counts: LibraryCounts) -> None:
        self.bar.setRange(0, max(counts.pages, 1))
        self.bar.setValue(min(counts.searchable_pages, counts.pages))

    def _set_plain(self, text: str) -> None:
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setText(text)
        self._plain_text = text

    @Slot(str)
    def _on_link_activated(self, link: str) -> None:
        if link == SHOW_PROBLEMS_LINK:
            self.problems_requested.emit()
