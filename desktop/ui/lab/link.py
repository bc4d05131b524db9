"""The main window's way to the prompt lab: the lab window is built when first opened, and
while it runs a batch the chat model stays as it is."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QWidget

from desktop.core.llm.engine import ChatEngine
from desktop.core.paths import AppPaths
from desktop.ui.lab.window import LabWindow


class LabLink(QObject):
    def __init__(self, window: QWidget, engine: ChatEngine, paths: AppPaths) -> None:
        super().__init__(window)
        self._window = window
        self._engine = engine
        self._paths = paths
        self.lab: LabWindow | None = None

    @Slot()
    def open(self) -> LabWindow:
        if self.lab is None:
            self.lab = LabWindow(self._window, self._engine, self._paths)
        self.lab.show()
        self.lab.raise_()
        self.lab.activateWindow()
        return self.lab

    def switch_refusal(self) -> str:
        return self.lab.switch_refusal() if self.lab is not None else ""

    def shutdown(self) -> None:
        if self.lab is not None:
            self.lab.shutdown()
