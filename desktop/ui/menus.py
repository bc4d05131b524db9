"""The main window's menu bar: every command it offers, with its shortcut.

Help ▸ Keyboard shortcuts is wired here, not in the window: the list it opens is read from
these menus (``desktop.ui.shortcuts``) and needs nothing else of the window.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox

from desktop import __version__
from desktop.core.paths import AppPaths
from desktop.ui.shortcuts import ShortcutsHelp

PROBABILITIES = "chat/show_probabilities"


class MainMenus:
    def __init__(
        self, window: QMainWindow, with_library: bool, paths: AppPaths | None = None
    ) -> None:
        self._window = window
        self._paths = paths
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(file_menu, "&New chat", QKeySequence.StandardKey.New)
        self.open_model_action = self._action(
            file_menu, "&Open model file…", QKeySequence.StandardKey.Open
        )
        file_menu.addSeparator()
        self.add_documents_action = self._action(file_menu, "&Add documents…")
        self.add_folder_action = self._action(file_menu, "Add a &folder of documents…")
        self.add_documents_action.setEnabled(with_library)
        self.add_folder_action.setEnabled(with_library)
        file_menu.addSeparator()
        self.export_md_action = self._action(file_menu, "Export chat as &Markdown…")
        self.export_json_action = self._action(file_menu, "Export chat as &JSON…")
        file_menu.addSeparator()
        self.settings_action = self._action(file_menu, "&Settings…", QKeySequence("Ctrl+,"))
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.models_action = self._action(file_menu, "&Models…", QKeySequence("Ctrl+Shift+M"))
        file_menu.addSeparator()
        self.quit_action = self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit)

        chat_menu = bar.addMenu("&Chat")
        self.stop_action = self._action(chat_menu, "&Stop answer", QKeySequence("Ctrl+."))
        self.regenerate_action = self._action(
            chat_menu, "&Regenerate last answer", QKeySequence("Ctrl+R")
        )
        self.continue_action = self._action(
            chat_menu, "&Continue last answer", QKeySequence("Ctrl+Shift+Return")
        )
        self.previous_answer_action = self._action(
            chat_menu, "&Previous version of the last answer", QKeySequence("Alt+Left")
        )
        self.next_answer_action = self._action(
            chat_menu, "Ne&xt version of the last answer", QKeySequence("Alt+Right")
        )
        self.rename_action = self._action(chat_menu, "Re&name chat", QKeySequence("F2"))
        self.delete_action = self._action(chat_menu, "&Delete chat")
        chat_menu.addSeparator()
        self.probabilities_action = self._action(
            chat_menu, "Show token &probabilities", QKeySequence("Ctrl+Shift+P")
        )
        self.probabilities_action.setCheckable(True)
        self.probabilities_action.setChecked(bool(QSettings().value(PROBABILITIES, False, bool)))
        self.probabilities_action.toggled.connect(self._on_probabilities_toggled)
        self.probabilities_action.setToolTip(
            "Keep each token's probability and the alternatives the model weighed; open them "
            "from an answer's Probabilities link."
        )
        self.compare_answers_action = self._action(
            chat_menu, "Compare &answers side by side…", QKeySequence("Ctrl+Shift+K")
        )
        self.compare_answers_action.setToolTip(
            "Answer one question from two to four models or settings, side by side."
        )
        self.chat_settings_action = self._action(
            chat_menu, "Settings for &this chat…", QKeySequence("Ctrl+Shift+,")
        )

        view_menu = bar.addMenu("&View")
        self.show_library_action = self._action(
            view_menu, "&Document library", QKeySequence("Ctrl+L")
        )
        self.show_library_action.setCheckable(True)
        self.show_library_action.setEnabled(with_library)

        tools_menu = bar.addMenu("&Tools")
        self.lab_action = self._action(tools_menu, "Prompt &lab…", QKeySequence("Ctrl+Shift+L"))

        help_menu = bar.addMenu("&Help")
        # Ctrl+/ as in many chat and office apps; F1 stays free for a manual.
        self.shortcuts_action = self._action(
            help_menu, "&Keyboard shortcuts", QKeySequence("Ctrl+/")
        )
        self.shortcuts_help = ShortcutsHelp(window)
        self.shortcuts_action.triggered.connect(self.shortcuts_help.open)
        help_menu.addSeparator()
        self.log_action = self._action(help_menu, "Open &log folder")
        self.about_action = self._action(help_menu, "&About Folio")
        self.log_action.triggered.connect(self._on_open_log_folder)
        self.about_action.triggered.connect(self._on_about)

    @Slot(bool)
    def _on_probabilities_toggled(self, shown: bool) -> None:
        QSettings().setValue(PROBABILITIES, shown)

    @Slot()
    def _on_open_log_folder(self) -> None:
        if self._paths is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._paths.logs)))

    @Slot()
    def _on_about(self) -> None:
        paths = self._paths
        where = (
            f"<br><br>Data: {paths.data}<br>Settings: {paths.settings_file}<br>"
            f"Log: {paths.log_file}"
            if paths is not None
            else ""
        )
        QMessageBox.about(
            self._window,
            "About Folio",
            f"<b>Folio {__version__}</b><br>Chat with local language models, entirely offline. "
            "Nothing you type leaves this computer." + where,
        )

    def _action(
        self,
        menu: QMenu,
        text: str,
        shortcut: QKeySequence | QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(shortcut)
        menu.addAction(action)
        return action
