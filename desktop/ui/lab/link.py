"""The main window's way to the prompt lab and to compared answers: each window is built when
first opened, and while the lab runs a batch on the chat's model that model stays as it is."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QWidget

from desktop.core.llm.engine import ChatEngine
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import GenerationSettings, ModelSettings, Settings
from desktop.ui.lab.answer_compare_window import CompareAnswersWindow
from desktop.ui.lab.window import LabWindow


class LabLink(QObject):
    def __init__(
        self,
        window: QWidget,
        engine: ChatEngine,
        paths: AppPaths,
        settings: Callable[[], Settings],
        draft: Callable[[], str],
    ) -> None:
        """``settings``: the current chat's settings; ``draft``: the composer's text."""
        super().__init__(window)
        self._window = window
        self._engine = engine
        self._paths = paths
        self._settings = settings
        self._draft = draft
        self.lab: LabWindow | None = None
        self.answers: CompareAnswersWindow | None = None

    @Slot()
    def open(self) -> LabWindow:
        if self.lab is None:
            self.lab = LabWindow(self._window, self._engine, self._paths, self._loading)
        self.lab.show()
        self.lab.raise_()
        self.lab.activateWindow()
        return self.lab

    @Slot()
    def open_answers(self) -> CompareAnswersWindow:
        if self.answers is None:
            self.answers = CompareAnswersWindow(
                self._window, self._engine, self._paths, self._generation, self._loading
            )
        self.answers.ask(self._draft())
        self.answers.show()
        self.answers.raise_()
        self.answers.activateWindow()
        return self.answers

    def _generation(self) -> GenerationSettings:
        return self._settings().generation

    def _loading(self) -> ModelSettings:
        return self._settings().model

    def switch_refusal(self) -> str:
        return self.lab.switch_refusal() if self.lab is not None else ""

    def shutdown(self) -> None:
        if self.lab is not None:
            self.lab.shutdown()
        if self.answers is not None:
            self.answers.shutdown()
