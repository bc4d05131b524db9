"""The window's three panes side by side (the chats, the conversation, the documents) and how
they share its width.

The conversation keeps room to be read, and its header room for the chat's title: opening the
documents pane narrows the chats list first and never takes the conversation below its
minimum (a window too narrow for all three grows instead). The widths the user drags the panes
to are kept, and the next session opens them as they were left, the documents pane shown or
not. QSettings holds them, beside the window's geometry.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer, Slot
from PySide6.QtWidgets import QSplitter, QWidget

SIDEBAR_MIN_WIDTH = 200
SIDEBAR_DEFAULT_WIDTH = 260
# Room for a readable line of the answer, and for the header's title beside its buttons.
CHAT_MIN_WIDTH = 480
LIBRARY_MIN_WIDTH = 360
# The documents pane's width until the user drags it to another.
LIBRARY_DEFAULT_WIDTH = 420

LIBRARY_SHOWN = "window/library_shown"
SIDEBAR_WIDTH = "window/sidebar_width"
LIBRARY_WIDTH = "window/library_width"


class Panes(QObject):
    """Lays the panes out in ``splitter`` and keeps their widths from one session to the next."""

    def __init__(
        self,
        splitter: QSplitter,
        sidebar: QWidget,
        chat: QWidget,
        library: QWidget | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._splitter = splitter
        self._library = library
        splitter.setChildrenCollapsible(False)
        sidebar.setMinimumWidth(SIDEBAR_MIN_WIDTH)
        chat.setMinimumWidth(CHAT_MIN_WIDTH)
        splitter.addWidget(sidebar)
        splitter.addWidget(chat)
        if library is not None:
            library.setMinimumWidth(LIBRARY_MIN_WIDTH)
            splitter.addWidget(library)
            library.hide()
        # A wider or narrower window widens or narrows the conversation; the side panes keep
        # the widths they were given.
        for index, stretch in enumerate((0, 1, 0)):
            splitter.setStretchFactor(index, stretch)
        splitter.setSizes([SIDEBAR_DEFAULT_WIDTH, 920, 0])
        self._library_width = LIBRARY_DEFAULT_WIDTH
        # The side panes' widths (chats, documents) while the window is too narrow to give
        # them: a window manager can size the window after it is shown, or the window is
        # still growing to make room for the documents pane.
        self._wanted: tuple[int, int] | None = None
        splitter.splitterMoved.connect(self._on_splitter_moved)
        splitter.installEventFilter(self)

    @property
    def library_shown(self) -> bool:
        return self._library is not None and self._library.isVisible()

    @property
    def library_width(self) -> int:
        """The documents pane's width: as it is, or as it will open."""
        if self._wanted is not None:
            return self._wanted[1]
        return self._splitter.sizes()[2] if self.library_shown else self._library_width

    @property
    def sidebar_width(self) -> int:
        return self._wanted[0] if self._wanted is not None else self._splitter.sizes()[0]

    def show_library(self, shown: bool) -> None:
        library = self._library
        if library is None or shown == library.isVisible():
            return
        sidebar = self.sidebar_width
        if not shown:
            self._library_width = self.library_width
            self._wanted = None
            library.hide()
            return
        library.show()
        self._lay_out(sidebar, self._library_width)

    def save(self) -> None:
        settings = QSettings()
        settings.setValue(LIBRARY_SHOWN, self.library_shown)
        settings.setValue(SIDEBAR_WIDTH, self.sidebar_width)
        settings.setValue(LIBRARY_WIDTH, self.library_width)

    def restore(self) -> bool:
        """The widths of the last session; whether the documents pane was shown then, to be
        shown again."""
        settings = QSettings()
        library = settings.value(LIBRARY_WIDTH, 0, type=int)
        if isinstance(library, int) and library >= LIBRARY_MIN_WIDTH:
            self._library_width = library
        sidebar = settings.value(SIDEBAR_WIDTH, 0, type=int)
        if isinstance(sidebar, int) and sidebar >= SIDEBAR_MIN_WIDTH:
            self._lay_out(sidebar, self._library_width)
        shown = settings.value(LIBRARY_SHOWN, False, type=bool)
        return self._library is not None and bool(shown)

    def _lay_out(self, sidebar: int, library: int) -> None:
        """The side panes at these widths, or as near as the window allows: the chats list
        narrows first, then the documents pane, and the conversation keeps its minimum (the
        window grows if it must)."""
        shown = self.library_shown
        library = max(LIBRARY_MIN_WIDTH, library)
        total = sum(self._splitter.sizes())
        given_library = library if shown else 0
        given_sidebar = max(SIDEBAR_MIN_WIDTH, min(sidebar, total - given_library - CHAT_MIN_WIDTH))
        if shown:
            room = total - given_sidebar - CHAT_MIN_WIDTH
            given_library = max(LIBRARY_MIN_WIDTH, min(library, room))
        chat = max(CHAT_MIN_WIDTH, total - given_sidebar - given_library)
        self._splitter.setSizes([given_sidebar, chat, given_library])
        short = given_sidebar != sidebar or (shown and given_library != library)
        self._wanted = (sidebar, library) if short else None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._splitter and event.type() == QEvent.Type.Resize and self._wanted:
            # After the splitter has shared out its new width.
            QTimer.singleShot(0, self, self._on_widened)
        return False

    @Slot()
    def _on_widened(self) -> None:
        if self._wanted is not None:
            self._lay_out(*self._wanted)

    @Slot(int, int)
    def _on_splitter_moved(self, _position: int, _index: int) -> None:
        # The user's choice, kept for when the pane is hidden and opened again.
        self._wanted = None
        if self.library_shown:
            self._library_width = self._splitter.sizes()[2]
