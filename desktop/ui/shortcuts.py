"""Help ▸ Keyboard shortcuts: every key the main window answers to, in one small window.

The list is read from the window itself each time it opens — the menu bar's actions, and the
actions its lists carry for the focused list (Delete in the chat list) — so it cannot drift
from the real shortcuts. Only the keys no action stands for (Enter in the message box, Esc
while an answer is written: ``chat/composer.py``, ``MainWindow.keyPressEvent``) are declared
here. Keys are shown as the platform writes them (``NativeText``: “Ctrl+N”, “⌘N”).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from string import Template

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMenuBar,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.appearance import colors

# Return and the keypad's Enter both send; each platform calls the key by its own name.
_ENTER = Qt.Key.Key_Return if sys.platform == "darwin" else Qt.Key.Key_Enter
_SHIFT = Qt.KeyboardModifier.ShiftModifier
WRITING = "Writing a message"
ANYWHERE = "Anywhere in the window"
IN_A_LIST = "When a list has the focus"
# The keys the window handles without an action, with where they apply.
KEYS_WITHOUT_ACTIONS: tuple[tuple[str, str, QKeySequence], ...] = (
    (WRITING, "Send the message", QKeySequence(_ENTER)),
    (WRITING, "Start a new line", QKeySequence(_SHIFT | _ENTER)),
    (WRITING, "Cancel editing a message", QKeySequence(Qt.Key.Key_Escape)),
    (ANYWHERE, "Stop the answer being written", QKeySequence(Qt.Key.Key_Escape)),
)
_LIST_CONTEXTS = (
    Qt.ShortcutContext.WidgetShortcut,
    Qt.ShortcutContext.WidgetWithChildrenShortcut,
)

_STYLE = Template(
    """
#shortcutsDialog, #shortcutsList { background: $base; }
#shortcutsSection { font-weight: 600; color: $text; }
#shortcutsWhat { color: $secondary; }
#keyCap { color: $text; background: $header; border: 1px solid $border_strong;
    border-bottom-width: 2px; border-radius: 4px; padding: 1px 7px; }
"""
)


@dataclass(frozen=True)
class Shortcut:
    section: str
    what: str
    # As the platform writes the keys; several ways to the same command are joined with “or”.
    keys: str


def key_text(*sequences: QKeySequence) -> str:
    return " or ".join(
        sequence.toString(QKeySequence.SequenceFormat.NativeText)
        for sequence in sequences
        if not sequence.isEmpty()
    )


def window_shortcuts(window: QMainWindow) -> list[Shortcut]:
    """Every shortcut ``window`` has: writing and stopping first (the keys most often wanted),
    then the menus in their order, then the keys of its lists."""
    return [
        *(Shortcut(section, what, key_text(keys)) for section, what, keys in KEYS_WITHOUT_ACTIONS),
        *menu_shortcuts(window.menuBar()),
        *list_shortcuts(window),
    ]


def menu_shortcuts(bar: QMenuBar) -> list[Shortcut]:
    """The menu bar's commands that have a key, under their menu's title (a submenu's under
    its own)."""
    found: list[Shortcut] = []

    def read(menu: QMenu) -> None:
        for action in menu.actions():
            submenu = action.menu()
            if isinstance(submenu, QMenu):
                read(submenu)
            elif keys := key_text(*action.shortcuts()):
                found.append(Shortcut(plain_text(menu.title()), plain_text(action.text()), keys))

    for action in bar.actions():
        menu = action.menu()
        if isinstance(menu, QMenu):
            read(menu)
    return found


def list_shortcuts(window: QMainWindow) -> list[Shortcut]:
    """The keys of the window's own lists and panes: actions that act on the focused widget
    (deleting the selected chat), not those of the separate windows it opens."""
    found: list[Shortcut] = []
    for action in window.findChildren(QAction):
        if action.shortcutContext() not in _LIST_CONTEXTS:
            continue
        keys = key_text(*action.shortcuts())
        owners = [owner for owner in action.associatedObjects() if isinstance(owner, QWidget)]
        if keys and any(owner.window() is window for owner in owners):
            shortcut = Shortcut(IN_A_LIST, plain_text(action.text()), keys)
            if shortcut not in found:
                found.append(shortcut)
    # In the order of their names: the order Qt finds children in says nothing to the user.
    return sorted(found, key=lambda shortcut: shortcut.what.casefold())


def plain_text(label: str) -> str:
    """A menu label as a sentence: no mnemonic ampersand, and no “…” (in a menu it promises a
    dialog; in a list of keys it only reads as cut off)."""
    return label.replace("&&", "\0").replace("&", "").replace("\0", "&").removesuffix("…")


class ShortcutsDialog(QDialog):
    """The shortcuts in two columns of sections, each command with its keys as key caps."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.setModal(False)
        self.shortcuts: list[Shortcut] = []
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.setContentsMargins(12, 0, 12, 0)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 10)
        layout.addWidget(self._scroll, 1)
        layout.addWidget(buttons)

    def show_shortcuts(self) -> None:
        """Read the window's shortcuts again and lay them out."""
        self.setStyleSheet(_STYLE.substitute(colors()))
        self.shortcuts = window_shortcuts(self._window)
        sections: dict[str, list[Shortcut]] = {}
        for shortcut in self.shortcuts:
            sections.setdefault(shortcut.section, []).append(shortcut)
        left, right = _balanced_columns(list(sections.items()))
        contents = QWidget()
        contents.setObjectName("shortcutsList")
        columns = QHBoxLayout(contents)
        columns.setContentsMargins(20, 10, 20, 12)
        columns.setSpacing(36)
        for column in (left, right):
            columns.addLayout(_column(column), 1)
        # The widget before is deleted by the scroll area.
        self._scroll.setWidget(contents)
        self._fit_to_screen(contents)

    def _fit_to_screen(self, contents: QWidget) -> None:
        # As tall as the list, up to most of the screen; beyond that it scrolls.
        wanted = contents.sizeHint()
        screen = self._window.screen()
        most = int(screen.availableGeometry().height() * 0.85) if screen is not None else 700
        self.resize(max(480, wanted.width()), min(most, wanted.height() + 56))


Section = tuple[str, list[Shortcut]]


def _balanced_columns(sections: list[Section]) -> tuple[list[Section], list[Section]]:
    """The sections in reading order, split where the two columns come out nearest in rows."""

    def rows(part: list[Section]) -> int:
        return sum(1 + len(shortcuts) for _, shortcuts in part)

    split = min(
        range(len(sections) + 1),
        key=lambda at: max(rows(sections[:at]), rows(sections[at:])),
    )
    return sections[:split], sections[split:]


def _column(sections: list[Section]) -> QGridLayout:
    grid = QGridLayout()
    grid.setHorizontalSpacing(20)
    grid.setVerticalSpacing(5)
    row = 0
    for title, shortcuts in sections:
        heading = QLabel(title)
        heading.setObjectName("shortcutsSection")
        # Space above each section, as a margin: padding in a style sheet would indent it too.
        heading.setContentsMargins(0, 0 if row == 0 else 10, 0, 2)
        grid.addWidget(heading, row, 0, 1, 2)
        row += 1
        for shortcut in shortcuts:
            what = QLabel(shortcut.what)
            what.setObjectName("shortcutsWhat")
            keys = QLabel(shortcut.keys)
            keys.setObjectName("keyCap")
            keys.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(what, row, 0)
            grid.addWidget(keys, row, 1, Qt.AlignmentFlag.AlignRight)
            row += 1
    grid.setRowStretch(row, 1)
    grid.setColumnStretch(0, 1)
    return grid


class ShortcutsHelp(QObject):
    """Help ▸ Keyboard shortcuts: the dialog opened once, read afresh and brought forward."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._dialog: ShortcutsDialog | None = None

    @property
    def dialog(self) -> ShortcutsDialog | None:
        return self._dialog

    @Slot()
    def open(self) -> ShortcutsDialog:
        if self._dialog is None:
            self._dialog = ShortcutsDialog(self._window)
        self._dialog.show_shortcuts()
        self._dialog.show()
        self._dialog.raise_()
        self._dialog.activateWindow()
        return self._dialog
