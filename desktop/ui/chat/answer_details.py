"""What an answer can show of how it was written, from its footer: the prompt the model read
and, when probabilities were on, its tokens' probabilities."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop.core.chat.messages import Message
from desktop.ui.chat.probabilities import PROBABILITIES_KEY, ProbabilityWindow
from desktop.ui.chat.prompt_inspector import PROMPT_KEY, PromptInspector


class AnswerDetails(QObject):
    """The footer links and the windows they open (built when first opened)."""

    # Continue an answer from a token's alternative: the message, the answer's new beginning.
    branch_requested = Signal(int, str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self._probabilities: ProbabilityWindow | None = None
        self._prompt: PromptInspector | None = None

    @staticmethod
    def links(message: Message) -> list[str]:
        links = []
        if message.meta.get(PROMPT_KEY):
            links.append(f'<a href="folio:prompt/{message.id}">Prompt</a>')
        if message.meta.get(PROBABILITIES_KEY):
            links.append(f'<a href="folio:probabilities/{message.id}">Probabilities</a>')
        return links

    def open(self, action: str, message: Message) -> bool:
        """Opens what ``action`` (a footer link's) names; False when it names neither."""
        if action == "probabilities":
            if self._probabilities is None:
                self._probabilities = ProbabilityWindow(self._parent)
                self._probabilities.branch_requested.connect(self.branch_requested)
            self._probabilities.show_message(message)
            return True
        if action == "prompt":
            if self._prompt is None:
                self._prompt = PromptInspector(self._parent)
            self._prompt.show_message(message)
            return True
        return False
