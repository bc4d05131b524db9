"""Help ▸ Keyboard shortcuts: the list is the window's real shortcuts, read from the window."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu
from pytestqt.qtbot import QtBot

from desktop.ui.menus import MainMenus
from desktop.ui.shortcuts import (
    ANYWHERE,
    IN_A_LIST,
    WRITING,
    Shortcut,
    key_text,
    menu_shortcuts,
    plain_text,
    window_shortcuts,
)
from tests.ui.conftest import WindowFactory

NATIVE = QKeySequence.SequenceFormat.NativeText


def native(keys: str) -> str:
    return QKeySequence(keys).toString(NATIVE)


def bare_window(qtbot: QtBot) -> tuple[QMainWindow, MainMenus]:
    window = QMainWindow()
    qtbot.addWidget(window)
    return window, MainMenus(window, with_library=True)


def test_every_menu_command_with_a_key_is_listed_with_that_key(qtbot: QtBot) -> None:
    window, _menus = bare_window(qtbot)

    listed = {
        (shortcut.section, shortcut.what): shortcut.keys for shortcut in window_shortcuts(window)
    }

    menus_shown = [entry.menu() for entry in window.menuBar().actions()]
    with_keys = [
        (menu, action)
        for menu in menus_shown
        if isinstance(menu, QMenu)
        for action in menu.actions()
        if not action.shortcut().isEmpty()
    ]
    assert len(with_keys) >= 10
    for menu, action in with_keys:
        key = (plain_text(menu.title()), plain_text(action.text()))
        assert listed[key] == action.shortcut().toString(NATIVE), key
    assert listed[("Help", "Keyboard shortcuts")] == native("Ctrl+/")
    assert listed[("File", "Settings")] == native("Ctrl+,")
    assert listed[("Chat", "Stop answer")] == native("Ctrl+.")


def test_the_keys_without_a_menu_command_come_first(qtbot: QtBot) -> None:
    window, _menus = bare_window(qtbot)
    shortcuts = window_shortcuts(window)

    assert shortcuts[:4] == [
        Shortcut(WRITING, "Send the message", QKeySequence(Qt.Key.Key_Enter).toString(NATIVE)),
        Shortcut(
            WRITING,
            "Start a new line",
            QKeySequence(Qt.KeyboardModifier.ShiftModifier | Qt.Key.Key_Enter).toString(NATIVE),
        ),
        Shortcut(WRITING, "Cancel editing a message", native("Esc")),
        Shortcut(ANYWHERE, "Stop the answer being written", native("Esc")),
    ]


def test_the_list_follows_a_changed_shortcut_and_no_two_commands_share_a_key(
    qtbot: QtBot,
) -> None:
    window, menus = bare_window(qtbot)
    menus.rename_action.setShortcut(QKeySequence("Ctrl+Shift+R"))

    shortcuts = menu_shortcuts(window.menuBar())

    assert Shortcut("Chat", "Rename chat", native("Ctrl+Shift+R")) in shortcuts
    clashes = [keys for keys, count in Counter(s.keys for s in shortcuts).items() if count > 1]
    assert clashes == []


def test_ctrl_slash_opens_the_list_from_the_message_box_and_it_includes_the_lists_keys(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.composer.setFocus()

    qtbot.keyClick(window.composer, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)

    dialog = window.menus.shortcuts_help.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.windowTitle() == "Keyboard shortcuts"
    assert window.composer.toPlainText() == "", "the key went to the menu, not into the text"
    assert (
        Shortcut(IN_A_LIST, "Delete chat", key_text(QKeySequence(QKeySequence.StandardKey.Delete)))
        in dialog.shortcuts
    )
    assert Shortcut("Chat", "Rename chat", native("F2")) in dialog.shortcuts
    caps = [label.text() for label in dialog.findChildren(QLabel, "keyCap")]
    assert caps == [shortcut.keys for shortcut in dialog.shortcuts]
    sections = [label.text() for label in dialog.findChildren(QLabel, "shortcutsSection")]
    assert sections[:3] == [WRITING, ANYWHERE, "File"] and sections[-1] == IN_A_LIST

    # Opened again, it is the same window, read afresh.
    dialog.close()
    window.menus.shortcuts_action.trigger()
    assert window.menus.shortcuts_help.dialog is dialog and dialog.isVisible()
    dialog.close()
