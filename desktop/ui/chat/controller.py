"""What happens when the user sends, stops, regenerates or edits: store, engine and view in step.

The controller lives in the GUI thread. It writes every question before generation starts, opens
the answer row as "streaming" and checkpoints its partial text about once a second, so a crash or
kill loses at most the last second of an answer, which the store then marks interrupted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from desktop.core.chat.messages import Message, MessageStatus, Role, prompt_history
from desktop.core.chat.rag import (
    NOT_IN_LIBRARY,
    GroundedQuestion,
    SourceRef,
    source_budget,
)
from desktop.core.chat.scope import DOCUMENTS_KEY, DocumentScope
from desktop.core.chat.store import ConversationStore
from desktop.core.documents.records import AddOutcome, AddResult
from desktop.core.errors import NoModelError
from desktop.core.llm.engine import (
    ChatEngine,
    ChatRequest,
    GenerationResult,
)
from desktop.core.settings.presets import ChatTuning, PresetLibrary, describe_sampling
from desktop.core.settings.schema import Settings
from desktop.ui.chat.generation import GenerationBridge
from desktop.ui.library.service import LibraryService

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_MS = 1000
# The chat setting with its preset and its own generation values (presets.ChatTuning).
TUNING_KEY = "tuning"


@dataclass
class _PendingRetrieval:
    request_id: int
    question: Message
    earlier: list[Message]


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
    # What an answer is asked with, as it is handed to the engine.
    request_sent = Signal(object)  # ChatRequest

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
        self._library = library
        self._presets = presets if presets is not None else PresetLibrary()
        self._tuning = ChatTuning()
        if library is not None:
            library.grounded.connect(self._on_grounded, Qt.ConnectionType.QueuedConnection)
            library.grounding_failed.connect(
                self._on_grounding_failed, Qt.ConnectionType.QueuedConnection
            )
            library.opened.connect(self._on_library_opened)
            library.files_added.connect(self._on_files_added)
        self._scope = DocumentScope()
        self._retrieval: _PendingRetrieval | None = None
        self._retrieval_counter = 0
        self._answer_meta_extra: dict[str, Any] = {}
        self._bridge = GenerationBridge(engine, self)
        # Queued even when a generation fails before start() returns, so the controller never
        # handles the end of an answer in the middle of starting it.
        queued = Qt.ConnectionType.QueuedConnection
        self._bridge.prompt_prepared.connect(self._on_prompt_prepared, queued)
        self._bridge.text_received.connect(self._on_text_received, queued)
        self._bridge.finished.connect(self._on_finished, queued)
        self._bridge.failed.connect(self._on_failed, queued)
        self._checkpoint_timer = QTimer(self)
        self._checkpoint_timer.setInterval(CHECKPOINT_INTERVAL_MS)
        self._checkpoint_timer.timeout.connect(self._on_checkpoint_timer)
        self._current: int | None = None
        self._answer: Message | None = None
        self._question: Message | None = None
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
            self._save_chat_setting(
                self._current, DOCUMENTS_KEY, scope.to_setting() if scope.enabled else None
            )
        self.scope_changed.emit(scope)

    @Slot()
    def _on_library_opened(self) -> None:
        # Someone with a library most likely wants a new chat to use it.
        library = self._library
        if (
            library is not None
            and library.documents()
            and self._current is None
            and not self._scope.enabled
        ):
            self.set_document_scope(DocumentScope(True, None))

    @Slot(object)
    def _on_files_added(self, results: list[AddResult]) -> None:
        kept = (AddOutcome.ADDED, AddOutcome.CHANGED, AddOutcome.UNCHANGED)
        if any(r.outcome in kept for r in results) and not self._scope.enabled:
            # Documents were just added: the obvious next step is to ask about them.
            self.set_document_scope(DocumentScope(True, None))

    # -- conversations --------------------------------------------------------------------------

    def open_conversation(self, conversation_id: int | None) -> None:
        if conversation_id is not None and self._store.conversation(conversation_id) is None:
            conversation_id = None
        if conversation_id is not None:
            # A saved chat has its own scope; a new chat keeps the previous chat's (the next
            # question is often about the same documents).
            stored = self._store.settings(conversation_id)
            self._scope = DocumentScope.from_setting(stored.get(DOCUMENTS_KEY))
        else:
            stored = {}
        # Each chat has its own tuning; a new chat starts from the global settings.
        self._tuning = ChatTuning.from_setting(stored.get(TUNING_KEY))
        self._current = conversation_id
        messages = self._store.messages(conversation_id) if conversation_id is not None else []
        self.conversation_opened.emit(-1 if conversation_id is None else conversation_id)
        self.scope_changed.emit(self._scope)
        self.tuning_changed.emit(self._tuning)
        answer = self._answer
        if answer is not None and conversation_id == answer.conversation_id:
            # Coming back to a chat whose answer is still being written: keep it live.
            self.messages_reset.emit([m for m in messages if m.id != answer.id])
            self.stream_started.emit(answer)
            if self._partial:
                self.stream_text.emit("".join(self._partial))
            return
        self.messages_reset.emit(messages)

    def redraw(self) -> None:
        """Show the current chat's messages again (after a theme change), changing nothing."""
        if self._answer is not None:
            return
        current = self._current
        self.messages_reset.emit(self._store.messages(current) if current is not None else [])

    def new_conversation(self) -> None:
        self.open_conversation(None)

    def delete_conversation(self, conversation_id: int) -> None:
        """Soft delete (the window offers Undo); an answer being written there is stopped."""
        if self._answer is not None and self._answer.conversation_id == conversation_id:
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
        if not text.strip() or not self._can_start():
            return False
        if self._current is None:
            self._current = self._store.create_conversation()
            chosen: dict[str, Any] = {}
            if self._scope.enabled:
                chosen[DOCUMENTS_KEY] = self._scope.to_setting()
            if not self._tuning.is_default:
                chosen[TUNING_KEY] = self._tuning.to_setting()
            if chosen:
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
        """Replace the answer ``message_id``, which must be the chat's last message."""
        message = self._store.message(message_id)
        if message is None or message.role != Role.ASSISTANT:
            return False
        messages = self._store.messages(message.conversation_id)
        if messages[-1].id != message_id:
            return False
        questions = [m for m in messages if m.role == Role.USER and m.position < message.position]
        if not questions or not self._can_start():
            return False
        return self._restart(questions[-1], None)

    def edit_and_resend(self, message_id: int, text: str) -> bool:
        """Change a question; everything after it is replaced by a new answer."""
        message = self._store.message(message_id)
        if message is None or message.role != Role.USER or not text.strip():
            return False
        if not self._can_start():
            return False
        return self._restart(message, text)

    def stop(self) -> None:
        if self._retrieval is not None and self._answer is not None:
            # Still searching the documents: nothing was generated, nothing to wait for.
            self._retrieval = None
            self._store.finish_message(self._answer.id, "", MessageStatus.INTERRUPTED, {})
            self._end_answer()
            return
        self._bridge.stop()

    def shutdown(self) -> None:
        """Before the window closes: stop the answer and save what was written as interrupted."""
        self._checkpoint_timer.stop()
        if self._answer is not None:
            if self._retrieval is not None:
                self._retrieval = None
                self._store.finish_message(self._answer.id, "", MessageStatus.INTERRUPTED, {})
                self._answer = None
                self._closed = True
                return
            self._bridge.stop()
            # Stop also interrupts a prompt being read, so this returns within about a token.
            result = self._bridge.wait()
            text = result.text if result is not None else "".join(self._partial)
            meta = result.stats() if result is not None else {}
            self._store.finish_message(
                self._answer.id,
                text,
                MessageStatus.INTERRUPTED,
                meta | self._answer_meta_extra,
            )
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
            self.error_raised.emit(str(NoModelError()))
            return False
        return True

    def _answer_meta(self) -> dict[str, str]:
        info = self._engine.info
        return {"model": info.name} if info is not None else {}

    def _restart(self, question: Message, new_text: str | None) -> bool:
        """Regenerate (``new_text`` None) or edit-and-resend from ``question`` on."""
        conversation = question.conversation_id
        earlier = [m for m in self._store.messages(conversation) if m.position < question.position]
        answer = self._store.restart_answer(question.id, new_text, self._answer_meta())
        question = self._store.message(question.id) or question
        if self._current != conversation:
            self._current = conversation
            self.conversation_opened.emit(conversation)
        shown = [m for m in self._store.messages(conversation) if m.id != answer.id]
        self.messages_reset.emit(shown)
        self.conversations_changed.emit()
        self._start(question, answer, earlier)
        return True

    def _start(self, question: Message, answer: Message, earlier: list[Message]) -> None:
        self._answer = answer
        self._question = question
        self._partial = []
        # The values the answer was written with go under it, so two answers can be compared.
        self._answer_meta_extra = {
            "sampling": describe_sampling(self._settings_for(answer.conversation_id).generation)
        }
        self.stream_started.emit(answer)
        self.busy_changed.emit(True)
        scope = DocumentScope.from_setting(
            self._store.settings(answer.conversation_id).get(DOCUMENTS_KEY)
        )
        if scope.enabled and self._library is not None and self._engine.info is not None:
            self._retrieve(question, earlier, scope)
            return
        settings = self._settings_for(question.conversation_id)
        self._generate(question, earlier, question.content, settings.generation.system_prompt)

    def _settings_for(self, conversation_id: int) -> Settings:
        """Read when each answer starts, so a change made in Settings or in the chat's tuning
        applies to the very next answer, with no model reload."""
        stored = self._store.settings(conversation_id).get(TUNING_KEY)
        return ChatTuning.from_setting(stored).apply(self._settings(), self._presets)

    def _generate(
        self, question: Message, earlier: list[Message], prompt: str, system_prompt: str
    ) -> None:
        settings = self._settings_for(question.conversation_id)
        self._checkpoint_timer.start()
        request = ChatRequest(
            question=prompt,
            history=tuple(prompt_history(earlier)),
            system_prompt=system_prompt,
            params=settings.generation,
        )
        self.request_sent.emit(request)
        self._bridge.start(request)

    def _retrieve(self, question: Message, earlier: list[Message], scope: DocumentScope) -> None:
        assert self._library is not None and self._engine.info is not None
        settings = self._settings_for(question.conversation_id)
        system_prompt = settings.generation.system_prompt
        budget = source_budget(
            self._engine.info.context_length,
            settings.generation.max_tokens,
            self._engine.count_tokens(system_prompt),
        )
        self._retrieval_counter += 1
        self._retrieval = _PendingRetrieval(self._retrieval_counter, question, earlier)
        self.notice.emit("Searching your documents…")
        self._library.ground(
            self._retrieval_counter,
            question.content,
            scope.document_ids,
            system_prompt,
            self._engine.count_tokens,
            budget,
            sources_wanted=settings.documents.results_per_question,
            threshold=settings.documents.relevance_threshold,
        )

    @Slot(int, object)
    def _on_grounded(self, request_id: int, grounded: GroundedQuestion) -> None:
        pending = self._retrieval
        if pending is None or pending.request_id != request_id or self._answer is None:
            return
        if self._closed:
            return
        self._retrieval = None
        self._answer_meta_extra = {
            "grounded": True,
            "sources": [SourceRef.from_source(source).to_meta() for source in grounded.sources],
        }
        if grounded.not_indexed:
            self._answer_meta_extra["not_indexed"] = list(grounded.not_indexed)
        if not grounded.relevant:
            # Nothing close enough: say so rather than let the model invent an answer.
            self._store.finish_message(
                self._answer.id,
                NOT_IN_LIBRARY,
                MessageStatus.COMPLETE,
                self._answer_meta_extra | {"finish_reason": "not_in_library"},
            )
            self._end_answer()
            return
        self._generate(pending.question, pending.earlier, grounded.prompt, grounded.system_prompt)

    @Slot(int, str)
    def _on_grounding_failed(self, request_id: int, reason: str) -> None:
        pending = self._retrieval
        if pending is None or pending.request_id != request_id or self._closed:
            return
        self._retrieval = None
        self._on_failed(reason)

    @Slot(int, int)
    def _on_prompt_prepared(self, dropped: int, _prompt_tokens: int) -> None:
        if dropped and not self._closed:
            self.context_trimmed.emit(dropped)

    @Slot(str)
    def _on_text_received(self, text: str) -> None:
        if self._answer is None or self._closed:
            return
        self._partial.append(text)
        if self._answer.conversation_id == self._current:
            self.stream_text.emit(text)

    @Slot()
    def _on_checkpoint_timer(self) -> None:
        if self._answer is not None:
            self._store.update_streaming(self._answer.id, "".join(self._partial))

    @Slot(object)
    def _on_finished(self, result: GenerationResult) -> None:
        if self._answer is None or self._closed:
            return
        cancelled = result.finish_reason == "cancelled"
        status = MessageStatus.INTERRUPTED if cancelled else MessageStatus.COMPLETE
        self._store.finish_message(
            self._answer.id, result.text, status, result.stats() | self._answer_meta_extra
        )
        self._end_answer()

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        if self._answer is None or self._closed:
            return
        answer, question = self._answer, self._question
        partial = "".join(self._partial)
        if partial.strip() or question is None:
            self._store.finish_message(
                answer.id,
                partial,
                MessageStatus.FAILED,
                {"error": reason} | self._answer_meta_extra,
            )
            self._end_answer()
        else:
            # Nothing was written (the question does not fit, the template refused it): take the
            # question back so the chat stays usable, and give its text back to the user.
            conversation = answer.conversation_id
            self._store.truncate_after(conversation, question.position - 1)
            self._end_answer(removed=True)
            if not self._store.messages(conversation):
                # A chat whose only question was taken back would be an empty, titled ghost.
                self._store.delete_conversation(conversation)
                if self._current == conversation:
                    self.open_conversation(None)
                self.conversations_changed.emit()
            self.question_returned.emit(question.content)
        self.error_raised.emit(reason)

    def _end_answer(self, removed: bool = False) -> None:
        assert self._answer is not None
        self._checkpoint_timer.stop()
        answer = self._answer
        self._answer = None
        self._question = None
        self._partial = []
        self._answer_meta_extra = {}
        if answer.conversation_id == self._current:
            final = None if removed else self._store.message(answer.id)
            if final is None:
                self.messages_reset.emit(self._store.messages(answer.conversation_id))
            else:
                self.stream_finished.emit(final)
        self.conversations_changed.emit()
        self.busy_changed.emit(False)
