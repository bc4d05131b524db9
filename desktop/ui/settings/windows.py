"""The window's two kinds of settings dialog: the global settings (one, raised when asked for
again) and one chat's own settings (closed when another chat is opened)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from desktop.core.settings.presets import PresetLibrary
from desktop.core.settings.schema import Settings
from desktop.ui.chat.controller import ChatController

if TYPE_CHECKING:
    from desktop.ui.settings.dialog import SettingsDialog


class SettingsDialogs(QObject):
    # The global settings dialog applied: the settings in it, and the keys changed there.
    applied = Signal(object, object)  # Settings, list[str]
    # A chat's own settings were applied; they are the chat's from its next answer.
    chat_applied = Signal()

    def __init__(
        self,
        parent: QWidget,
        settings: Callable[[], Settings],
        presets: PresetLibrary,
        controller: ChatController,
    ) -> None:
        """``settings``: the global settings as they are now."""
        super().__init__(parent)
        self._parent = parent
        self._settings = settings
        self._presets = presets
        self._controller = controller
        self._global: SettingsDialog | None = None
        self._chat: SettingsDialog | None = None
        self._chat_for = -1

    @property
    def global_dialog(self) -> SettingsDialog | None:
        return self._global

    def open_global(self) -> SettingsDialog:
        # Imported when first opened, not with the window: its first appearance would wait.
        from desktop.ui.settings.dialog import SettingsDialog
        from desktop.ui.settings.sampling_preview import SamplingPreview

        if self._global is not None:
            self._global.raise_()
            self._global.activateWindow()
            return self._global
        dialog = SettingsDialog(self._settings(), self._presets, self._parent)
        SamplingPreview.attach(self._controller.engine, dialog)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.applied.connect(self.applied)
        dialog.finished.connect(self._on_global_finished)
        self._global = dialog
        dialog.show()
        return dialog

    def open_chat(self, chat_title: str) -> SettingsDialog:
        """This chat's own generation settings, on top of the global ones."""
        from desktop.ui.settings.dialog import SettingsDialog
        from desktop.ui.settings.sampling_preview import SamplingPreview

        if self._chat is not None:
            self._chat.close()
        dialog = SettingsDialog(
            self._controller.chat_settings(),
            self._presets,
            self._parent,
            defaults=self._settings(),
            chat_title=chat_title,
            chat_preset=self._controller.tuning.preset,
        )
        SamplingPreview.attach(self._controller.engine, dialog)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.applied.connect(self._on_chat_applied)
        dialog.finished.connect(self._on_chat_finished)
        dialog.show()
        self._chat = dialog
        current = self._controller.current_conversation
        self._chat_for = -1 if current is None else current
        return dialog

    def chat_shown(self, conversation_id: int) -> None:
        """The dialog edits the chat it was opened for; another chat shown closes it."""
        if self._chat is not None and self._chat_for != conversation_id:
            self._chat.close()

    def show_value(self, key: str, value: object) -> None:
        """A value turned down or put back, shown again in the global dialog if open."""
        if self._global is not None:
            self._global.set_value(key, value)

    @Slot()
    def _on_global_finished(self) -> None:
        self._global = None

    @Slot()
    def _on_chat_finished(self) -> None:
        self._chat = None

    @Slot(object, object)
    def _on_chat_applied(self, chosen: Settings, changed: list[str]) -> None:
        dialog = self._chat
        if dialog is None:
            return
        # The global settings as they are now: a value the chat never changed keeps following
        # them, even if they changed while the dialog was open.
        tuning = self._controller.tuning.with_changes(
            dialog.chosen_preset(), chosen, changed, self._settings(), self._presets
        )
        self._controller.set_tuning(tuning)
        self.chat_applied.emit()
