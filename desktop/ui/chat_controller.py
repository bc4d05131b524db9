"""What happens when the user sends, stops, regenerates or edits: store, engine and view in step.

The controller lives in the GUI thread. It writes every user message before generation starts,
creates the answer row as "streaming" and checkpoints its partial text about once a second, so a
crash or kill loses at most the last second of an answer, which the store then marks interrupted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.config import Settings
from desktop.core.conversations import (
    ConversationStore,
    Message,
    MessageStatus,
    Role,
)
from desktop.core.engine import ChatEngine, ChatRequest, GenerationResult, SamplingParams
from desktop.core.prompting import ChatMessage
from desktop.ui.workers import GenerationBridge

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_MS = 1000


class ChatController(QObject):
    conversation_opened = Signal(int)  # -1 for a new, not yet saved chat
    conversations_changed = Signal()
    messages_reset = Signal(list)  # list[Message]
    message_added = Signal(object)  # Message
    stream_started = Signal(object)  # Message
    stream_text = Signal(str)
    stream_finished = Signal(object)  # Message
    busy_changed = Signal(bool)
    context_trimmed = Signal(int)  # earlier messages left out of the prompt
    error_raised = Signal(str)

    def __init__(
        self,
        store: ConversationStore,
        engine: ChatEngine,
        settings: Callable[[], Settings],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._engine = engine
        self._settings = settings
        self._bridge = GenerationBridge(engine, self)
        self._bridge.prompt_prepared.connect(self._on_prompt_prepared)
        self._bridge.text_received.connect(self._on_text_received)
        self._bridge.finished.connect(self._on_finished)
        self._bridge.failed.connect(self._on_failed)
        self._checkpoint_timer = QTimer(self)
        self._checkpoint_timer.setInterval(CHECKPOINT_INTERVAL_MS)
        self._checkpoint_timer.timeout.connect(self._on_checkpoint_timer)
        self._current: int | None = None
        self._answer: Message | None = None
        self._answer_conversation: int | None = None
        self._question_position: int | None = None
        self._partial: list[str] = []
        self._closed = False

    # -- state ----------------------------------------------------------------------------------

    @property
    def current_conversation(self) -> int | None:
        return self._current

    @property
    def busy(self) -> bool:
        return self._answer is not None

    @property
    def generating_conversation(self) -> int | None:
        return self._answer_conversation

    # -- conversations --------------------------------------------------------------------------

    def open_conversation(self, conversation_id: int | None) -> None:
        if conversation_id is not None and self._store.conversation(conversation_id) is None:
            conversation_id = None
        self._current = conversation_id
        messages = self._store.messages(conversation_id) if conversation_id is not None else []
        self.conversation_opened.emit(-1 if conversation_id is None else conversation_id)
        answer = self._answer
        if answer is not None and conversation_id == self._answer_conversation:
            # Coming back to a chat whose answer is still being written: keep it live.
            self.messages_reset.emit([m for m in messages if m.id != answer.id])
            self.stream_started.emit(answer)
            if self._partial:
                self.stream_text.emit("".join(self._partial))
            return
        self.messages_reset.emit(messages)

    def new_conversation(self) -> None:
        self.open_conversation(None)

    def delete_conversation(self, conversation_id: int) -> None:
        """Soft delete (the window offers Undo); an answer being written there is stopped."""
        if self._answer_conversation == conversation_id:
            self._bridge.stop()
        self._store.delete_conversation(conversation_id)
        if self._current == conversation_id:
            self.open_conversation(None)
        self.conversations_changed.emit()

    def restore_conversation(self, conversation_id: int) -> None:
        self._store.restore_conversation(conversation_id)
        self.conversations_changed.emit()

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        self._store.rename(conversation_id, title)
        self.conversations_changed.emit()

    # -- chatting -------------------------------------------------------------------------------

    def send(self, text: str) -> bool:
        """Save the question and start the answer; False (with a reason emitted) if not now."""
        if not text.strip():
            return False
        if not self._can_start():
            return False
        if self._current is None:
            self._current = self._store.create_conversation()
            self.conversation_opened.emit(self._current)
        history = self._history(self._store.messages(self._current))
        question = self._store.add_message(self._current, Role.USER, text)
        self.message_added.emit(question)
        self.conversations_changed.emit()
        self._start(self._current, question, history)
        return True

    def regenerate(self, message_id: int) -> bool:
        """Replace the answer ``message_id`` (the last one) with a new one."""
        message = self._store.message(message_id)
        if message is None or message.role != Role.ASSISTANT or not self._can_start():
            return False
        messages = self._store.messages(message.conversation_id)
        questions = [m for m in messages if m.role == Role.USER and m.position < message.position]
        if not questions:
            return False
        return self._resend(questions[-1], questions[-1].content, messages)

    def edit_and_resend(self, message_id: int, text: str) -> bool:
        """Change a question; everything after it is replaced by a new answer."""
        message = self._store.message(message_id)
        if message is None or message.role != Role.USER or not text.strip():
            return False
        if not self._can_start():
            return False
        self._store.edit_message(message_id, text)
        messages = self._store.messages(message.conversation_id)
        return self._resend(message, text, messages)

    def stop(self) -> None:
        self._bridge.stop()

    def shutdown(self) -> None:
        """Before the window closes: stop the answer and save what was written as interrupted."""
        self._checkpoint_timer.stop()
        if self._answer is not None:
            self._bridge.stop()
            result = self._bridge.wait()
            text = result.text if result is not None else "".join(self._partial)
            meta = result.stats() if result is not None else {}
            self._store.finish_message(self._answer.id, text, MessageStatus.INTERRUPTED, meta)
            self._answer = None
        self._closed = True

    # -- internals ------------------------------------------------------------------------------

    def _can_start(self) -> bool:
        if self._closed:
            return False
        if self._answer is not None:
            self.error_raised.emit("Wait for the current answer to finish, or stop it first.")
            return False
        if self._engine.info is None:
            self.error_raised.emit("No model is loaded yet. Open a GGUF model file first.")
            return False
        return True

    def _resend(self, question: Message, text: str, messages: list[Message]) -> bool:
        conversation = question.conversation_id
        self._store.truncate_after(conversation, question.position)
        history = self._history([m for m in messages if m.position < question.position])
        if self._current != conversation:
            self._current = conversation
            self.conversation_opened.emit(conversation)
        self.messages_reset.emit(self._store.messages(conversation))
        self.conversations_changed.emit()
        updated = self._store.message(question.id) or question
        self._start(conversation, updated, history, question_text=text)
        return True

    @staticmethod
    def _history(messages: list[Message]) -> list[ChatMessage]:
        history: list[ChatMessage] = []
        for message in messages:
            if message.role == Role.SYSTEM or not message.content.strip():
                continue
            if message.status == MessageStatus.FAILED:
                continue
            role: ChatMessage = {
                "role": "user" if message.role == Role.USER else "assistant",
                "content": message.content,
            }
            history.append(role)
        return history

    def _start(
        self,
        conversation: int,
        question: Message,
        history: list[ChatMessage],
        question_text: str | None = None,
    ) -> None:
        settings = self._settings()
        info = self._engine.info
        model_name = info.name if info is not None else ""
        answer = self._store.begin_assistant_message(conversation, {"model": model_name})
        self._answer = answer
        self._answer_conversation = conversation
        self._question_position = question.position
        self._partial = []
        self.stream_started.emit(answer)
        self.busy_changed.emit(True)
        request = ChatRequest(
            question=question_text if question_text is not None else question.content,
            history=tuple(history),
            system_prompt=settings.generation.system_prompt,
            params=SamplingParams.from_settings(settings.generation),
        )
        self._bridge.start(request)
        self._checkpoint_timer.start()

    @Slot(int, int)
    def _on_prompt_prepared(self, dropped: int, _prompt_tokens: int) -> None:
        if dropped and not self._closed:
            self.context_trimmed.emit(dropped)

    @Slot(str)
    def _on_text_received(self, text: str) -> None:
        if self._answer is None or self._closed:
            return
        self._partial.append(text)
        if self._answer_conversation == self._current:
            self.stream_text.emit(text)

    @Slot()
    def _on_checkpoint_timer(self) -> None:
        if self._answer is not None:
            self._store.update_streaming(self._answer.id, "".join(self._partial))

    @Slot(object)
    def _on_finished(self, result: GenerationResult) -> None:
        if self._answer is None or self._closed:
            return
        status = (
            MessageStatus.INTERRUPTED
            if result.finish_reason == "cancelled"
            else MessageStatus.COMPLETE
        )
        self._store.finish_message(self._answer.id, result.text, status, result.stats())
        self._end_answer()

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        if self._answer is None or self._closed:
            return
        answer = self._answer
        partial = "".join(self._partial)
        if partial.strip():
            self._store.finish_message(answer.id, partial, MessageStatus.FAILED, {"error": reason})
            self._end_answer()
        else:
            # Nothing was written: drop the empty answer so the question can simply be resent.
            if self._question_position is not None:
                self._store.truncate_after(answer.conversation_id, self._question_position)
            self._end_answer(removed=True)
        self.error_raised.emit(reason)

    def _end_answer(self, removed: bool = False) -> None:
        assert self._answer is not None
        self._checkpoint_timer.stop()
        answer_id = self._answer.id
        conversation = self._answer_conversation
        self._answer = None
        self._answer_conversation = None
        self._partial = []
        if conversation == self._current and conversation is not None:
            final = None if removed else self._store.message(answer_id)
            if final is None:
                self.messages_reset.emit(self._store.messages(conversation))
            else:
                self.stream_finished.emit(final)
        self.conversations_changed.emit()
        self.busy_changed.emit(False)
