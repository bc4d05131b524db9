"""What happens when the user sends, stops, regenerates, continues or edits, or picks another
of an answer's alternatives: store, engine and view in step.

The controller lives in the GUI thread. It writes every question before generation starts and
opens the answer row as "streaming"; the ``AnswerWriter`` writes that answer and saves it however
it ends, and the controller shows the result.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.chat.messages import Message, Role, can_continue
from desktop.core.chat.scope import DOCUMENTS_KEY, DocumentScope, scope_of_chat
from desktop.core.chat.store import ConversationStore
from desktop.core.errors import NoModelError
from desktop.core.llm.engine import ChatEngine
from desktop.core.settings.presets import ChatTuning, PresetLibrary
from desktop.core.settings.schema import Settings
from desktop.ui.chat.answer_writer import (
    ANSWER_FROM_DOCUMENTS,
    ANSWER_FROM_MODEL,
    AnswerEnd,
    AnswerJob,
    AnswerWriter,
)
from desktop.ui.library.service import LibraryService

log = logging.getLogger(__name__)

# The chat setting with its preset and its own generation values (presets.ChatTuning).
TUNING_KEY = "tuning"


ALTERNATIVES_SHOWN = 5


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
    # A question that got no answer at all was taken back; its text goes back to the message box.
    question_returned = Signal(str)
    scope_changed = Signal(object)  # DocumentScope of the current chat
    tuning_changed = Signal(object)  # ChatTuning of the current chat
    notice = Signal(str)  # a passing status line
    # What the answer being written says before its first word ("" when it has started).
    stream_status = Signal(str)
    # Where the answer being written comes from, once known: its meta so far.
    stream_origin = Signal(object)
    # What an answer is asked with, as it is handed to the engine.
    request_sent = Signal(object)  # ChatRequest
    # A message shown changed in place: another of its alternatives was chosen.
    message_changed = Signal(object)  # Message

    def __init__(
        self,
        store: ConversationStore,
        engine: ChatEngine,
        settings: Callable[[], Settings],
        parent: QObject | None = None,
        library: LibraryService | None = None,
        presets: PresetLibrary | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._engine = engine
        self._settings = settings
        self._presets = presets if presets is not None else PresetLibrary()
        self._tuning = ChatTuning()
        # Every chat answers from the documents when they cover the question (scope.py); adding
        # documents changes no chat's scope.
        self._scope = DocumentScope.automatic()
        self._writer = AnswerWriter(store, engine, library, self)
        self._writer.text_received.connect(self._on_text_received)
        self._writer.ended.connect(self._on_answer_ended)
        self._writer.context_trimmed.connect(self.context_trimmed)
        self._writer.notice.connect(self.notice)
        self._writer.status_changed.connect(self._on_status_changed)
        self._writer.origin_known.connect(self._on_origin_known)
        self._writer.request_sent.connect(self.request_sent)
        self._current: int | None = None
        self._closed = False

    # -- state ----------------------------------------------------------------------------------

    @property
    def current_conversation(self) -> int | None:
        return self._current

    @property
    def busy(self) -> bool:
        return self._writer.answer is not None

    @property
    def document_scope(self) -> DocumentScope:
        return self._scope

    @property
    def tuning(self) -> ChatTuning:
        return self._tuning

    @property
    def presets(self) -> PresetLibrary:
        return self._presets

    def chat_settings(self) -> Settings:
        """The settings the current chat's next answer uses: global, preset, overrides."""
        return self._tuning.apply(self._settings(), self._presets)

    def set_tuning(self, tuning: ChatTuning) -> None:
        """The current chat's preset and overrides; they apply from the next answer on."""
        self._tuning = tuning
        if self._current is not None:
            self._save_chat_setting(self._current, TUNING_KEY, tuning.to_setting())
        self.tuning_changed.emit(tuning)

    def _save_chat_setting(self, conversation_id: int, key: str, value: Any) -> None:
        overrides = self._store.settings(conversation_id)
        if value is None:
            overrides.pop(key, None)
        else:
            overrides[key] = value
        self._store.set_settings(conversation_id, overrides)

    def set_document_scope(self, scope: DocumentScope) -> None:
        """Scope the current chat's next answers; saved with the chat once it exists."""
        self._scope = scope
        if self._current is not None:
            # Saved whatever it is: a chat with none saved is automatic, "off" included.
            self._save_chat_setting(self._current, DOCUMENTS_KEY, scope.to_setting())
        self.scope_changed.emit(scope)

    # -- conversations --------------------------------------------------------------------------

    def open_conversation(self, conversation_id: int | None) -> None:
        if conversation_id is not None and self._store.conversation(conversation_id) is None:
            conversation_id = None
        if conversation_id is not None:
            # A saved chat has its own scope; a new chat keeps the previous chat's (the next
            # question is often about the same documents).
            stored = self._store.settings(conversation_id)
            self._scope = scope_of_chat(stored)
        else:
            stored = {}
        # Each chat has its own tuning; a new chat starts from the global settings.
        self._tuning = ChatTuning.from_setting(stored.get(TUNING_KEY))
        self._current = conversation_id
        messages = self._store.messages(conversation_id) if conversation_id is not None else []
        self.conversation_opened.emit(-1 if conversation_id is None else conversation_id)
        self.scope_changed.emit(self._scope)
        self.tuning_changed.emit(self._tuning)
        answer = self._writer.answer
        if answer is not None and conversation_id == answer.conversation_id:
            # Coming back to a chat whose answer is still being written: keep it live.
            self.messages_reset.emit([m for m in messages if m.id != answer.id])
            self.stream_started.emit(answer)
            written = self._writer.new_text()
            if written:
                self.stream_text.emit(written)
            return
        self.messages_reset.emit(messages)

    def redraw(self) -> None:
        """Show the current chat's messages again (after a theme change), changing nothing."""
        if self.busy:
            return
        current = self._current
        self.messages_reset.emit(self._store.messages(current) if current is not None else [])

    def new_conversation(self) -> None:
        self.open_conversation(None)

    def delete_conversation(self, conversation_id: int) -> None:
        """Soft delete (the window offers Undo); an answer being written there is stopped."""
        answer = self._writer.answer
        if answer is not None and answer.conversation_id == conversation_id:
            self._writer.stop()
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
        if not text.strip() or not self._can_start():
            return False
        try:
            return self._save_and_start(text)
        except sqlite3.Error as error:
            log.exception("the question could not be saved")
            self.error_raised.emit(
                f"Your question could not be saved ({error}). If the disk is full, free some "
                "space and send it again; earlier chats are unharmed."
            )
            return False

    def _save_and_start(self, text: str) -> bool:
        if self._current is None:
            self._current = self._store.create_conversation()
            chosen: dict[str, Any] = {DOCUMENTS_KEY: self._scope.to_setting()}
            if not self._tuning.is_default:
                chosen[TUNING_KEY] = self._tuning.to_setting()
            self._store.set_settings(self._current, chosen)
            self.conversation_opened.emit(self._current)
        earlier = self._store.messages(self._current)
        question = self._store.add_message(self._current, Role.USER, text)
        self.message_added.emit(question)
        self.conversations_changed.emit()
        answer = self._store.begin_assistant_message(self._current, self._answer_meta())
        self._start(question, answer, earlier)
        return True

    def regenerate_last(self) -> bool:
        """Answer the last question again (or at all, if it never got an answer)."""
        if self._current is None:
            return False
        messages = self._store.messages(self._current)
        questions = [m for m in messages if m.role == Role.USER]
        if not questions or not self._can_start():
            return False
        return self._restart(questions[-1], None)

    def regenerate(self, message_id: int) -> bool:
        """Answer again in place of ``message_id``, which must be the chat's last message; the
        answer it replaces is kept as an alternative."""
        found = self._last_answer(message_id)
        if found is None or not self._can_start():
            return False
        return self._restart(found[0], None)

    def answer_again(self, message_id: int, source: str) -> bool:
        """Answer again in place of ``message_id`` from another source than the chat's scope
        chose: ``"documents"`` (search them anyway) or ``"model"`` (without documents). The
        chat's scope stays as it is; the earlier answer is kept as an alternative."""
        if source not in (ANSWER_FROM_DOCUMENTS, ANSWER_FROM_MODEL):
            return False
        found = self._last_answer(message_id)
        if found is None or not self._can_start():
            return False
        return self._restart(found[0], None, source_override=source)

    def continue_answer(self, message_id: int) -> bool:
        """Write more of the answer ``message_id`` (the chat's last message, cut off at the
        length limit or stopped), appended to it."""
        found = self._last_answer(message_id)
        if found is None or not can_continue(found[1]) or not self._can_start():
            return False
        question, answer = found
        conversation = answer.conversation_id
        shown = self._store.messages(conversation)
        resumed = self._store.resume_answer(answer.id)
        self._show_conversation(conversation)
        self.messages_reset.emit([m for m in shown if m.id != answer.id])
        self._start(question, resumed, self._before(question, shown), continued=answer)
        return True

    @property
    def engine(self) -> ChatEngine:
        return self._engine

    def show_probabilities(self, shown: bool) -> None:
        """Record each token's probability and five alternatives in the answers from now on."""
        self._writer.alternatives_per_token = ALTERNATIVES_SHOWN if shown else 0

    def branch(self, message_id: int, beginning: str) -> bool:
        """A new version of the answer ``message_id`` (the chat's last) that begins with
        ``beginning`` and goes on from there; the answer as it was stays one of its versions."""
        found = self._last_answer(message_id)
        if found is None or not beginning.strip() or not self._can_start():
            return False
        question, _answer = found
        conversation = question.conversation_id
        earlier = self._before(question, self._store.messages(conversation))
        answer = self._store.restart_answer(question.id, None, self._answer_meta())
        self._show_conversation(conversation)
        self.messages_reset.emit(
            [m for m in self._store.messages(conversation) if m.id != answer.id]
        )
        self._start(
            question, answer, earlier, continued=replace(answer, content=beginning, meta={})
        )
        return True

    def continue_last(self) -> bool:
        """Continue the chat's last answer, when it can be (Chat ▸ Continue last answer)."""
        last = self._last_message()
        return last is not None and can_continue(last) and self.continue_answer(last.id)

    def step_last_alternative(self, step: int) -> bool:
        """Show the previous (-1) or next (+1) of the last answer's versions."""
        last = self._last_message()
        if last is None or last.role != Role.ASSISTANT:
            return False
        return self.choose_alternative(last.id, last.alternative_index + step)

    def _last_message(self) -> Message | None:
        if self._current is None:
            return None
        messages = self._store.messages(self._current)
        return messages[-1] if messages else None

    def choose_alternative(self, message_id: int, index: int) -> bool:
        """Show answer number ``index`` (from 0) of those written for the same question; it is
        the one later prompts and exports use."""
        writing = self._writer.answer
        if writing is not None and writing.id == message_id:
            return False
        chosen = self._store.choose_alternative(message_id, index)
        if chosen is None:
            return False
        if chosen.conversation_id == self._current:
            self.message_changed.emit(chosen)
        return True

    def edit_and_resend(self, message_id: int, text: str) -> bool:
        """Change a question; everything after it is replaced by a new answer (the answers it
        had, alternatives too, answered the question as it was, so they go)."""
        message = self._store.message(message_id)
        if message is None or message.role != Role.USER or not text.strip():
            return False
        if not self._can_start():
            return False
        return self._restart(message, text)

    def stop(self) -> None:
        self._writer.stop()

    def shutdown(self) -> None:
        """Before the window closes: stop the answer and save what was written as interrupted."""
        self._writer.shutdown()
        self._closed = True

    # -- internals ------------------------------------------------------------------------------

    def _can_start(self) -> bool:
        if self._closed:
            return False
        if self.busy:
            self.error_raised.emit("Wait for the current answer to finish, or stop it first.")
            return False
        if self._engine.info is None:
            self.error_raised.emit(str(NoModelError()))
            return False
        return True

    def _answer_meta(self) -> dict[str, str]:
        info = self._engine.info
        return {"model": info.name} if info is not None else {}

    def _last_answer(self, message_id: int) -> tuple[Message, Message] | None:
        """The question and the answer ``message_id``, if that is the chat's last message: only
        the last answer can be answered again or continued, as later turns followed it."""
        message = self._store.message(message_id)
        if message is None or message.role != Role.ASSISTANT:
            return None
        messages = self._store.messages(message.conversation_id)
        if messages[-1].id != message_id:
            return None
        questions = [m for m in messages if m.role == Role.USER and m.position < message.position]
        return (questions[-1], message) if questions else None

    @staticmethod
    def _before(question: Message, messages: list[Message]) -> list[Message]:
        return [m for m in messages if m.position < question.position]

    def _show_conversation(self, conversation: int) -> None:
        if self._current != conversation:
            self._current = conversation
            self.conversation_opened.emit(conversation)

    def _restart(self, question: Message, new_text: str | None, source_override: str = "") -> bool:
        """Regenerate (``new_text`` None) or edit-and-resend from ``question`` on."""
        conversation = question.conversation_id
        earlier = self._before(question, self._store.messages(conversation))
        answer = self._store.restart_answer(question.id, new_text, self._answer_meta())
        question = self._store.message(question.id) or question
        self._show_conversation(conversation)
        shown = [m for m in self._store.messages(conversation) if m.id != answer.id]
        self.messages_reset.emit(shown)
        self.conversations_changed.emit()
        self._start(question, answer, earlier, source_override=source_override)
        return True

    def _start(
        self,
        question: Message,
        answer: Message,
        earlier: list[Message],
        continued: Message | None = None,
        source_override: str = "",
    ) -> None:
        conversation = answer.conversation_id
        job = AnswerJob(
            question=question,
            answer=answer,
            earlier=earlier,
            settings=self._settings_for(conversation),
            scope=scope_of_chat(self._store.settings(conversation)),
            continued=continued,
            source_override=source_override,
        )
        self.stream_started.emit(answer)
        self.busy_changed.emit(True)
        self._writer.start(job)

    def _settings_for(self, conversation_id: int) -> Settings:
        """Read when each answer starts, so a change made in Settings or in the chat's tuning
        applies to the very next answer, with no model reload."""
        stored = self._store.settings(conversation_id).get(TUNING_KEY)
        return ChatTuning.from_setting(stored).apply(self._settings(), self._presets)

    @Slot(str)
    def _on_status_changed(self, status: str) -> None:
        answer = self._writer.answer
        if answer is not None and answer.conversation_id == self._current:
            self.stream_status.emit(status)

    @Slot(object)
    def _on_origin_known(self, meta: dict[str, Any]) -> None:
        answer = self._writer.answer
        if answer is not None and answer.conversation_id == self._current:
            self.stream_origin.emit(meta)

    @Slot(str)
    def _on_text_received(self, text: str) -> None:
        answer = self._writer.answer
        if answer is not None and answer.conversation_id == self._current:
            self.stream_text.emit(text)

    @Slot(object)
    def _on_answer_ended(self, end: AnswerEnd) -> None:
        answer, question = end.job.answer, end.job.question
        conversation = answer.conversation_id
        if conversation == self._current:
            final = None if end.removed else self._store.message(answer.id)
            if final is None:
                self.messages_reset.emit(self._store.messages(conversation))
            else:
                self.stream_finished.emit(final)
        self.conversations_changed.emit()
        self.busy_changed.emit(False)
        if end.removed:
            if not self._store.messages(conversation):
                # A chat whose only question was taken back would be an empty, titled ghost.
                self._store.delete_conversation(conversation)
                if self._current == conversation:
                    self.open_conversation(None)
                self.conversations_changed.emit()
            self.question_returned.emit(question.content)
        if end.error:
            self.error_raised.emit(end.error)
