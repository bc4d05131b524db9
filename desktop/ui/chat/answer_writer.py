"""Writing one answer, from the request to the saved message, whichever way it ends.

A documents answer first has its question grounded in the library (lane ``retrieval``); then
the engine writes, its text coming back through the ``GenerationBridge``. The partial answer is
checkpointed about once a second, so a crash or kill loses at most the last second of it, which
the store then marks interrupted. When it ends (complete, stopped, failed, or with nothing
written) the message is saved as it should stay, and ``ended`` says how.

It lives in the GUI thread and touches no widget; the controller decides what the chat shows.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from desktop.core.chat.continuation import (
    continuation_prefix,
    grounded_question,
    grounded_system_prompt,
    merged_stats,
)
from desktop.core.chat.messages import Message, MessageStatus, prompt_history
from desktop.core.chat.rag import (
    NOT_IN_LIBRARY,
    GroundedQuestion,
    SourceRef,
    quote_to_meta,
    source_budget,
    sources_from_meta,
)
from desktop.core.chat.scope import DocumentScope
from desktop.core.chat.store import ConversationStore
from desktop.core.llm.engine import ChatEngine, ChatRequest, GenerationResult
from desktop.core.settings.presets import describe_sampling
from desktop.core.settings.schema import Settings
from desktop.ui.chat.answer_html import FROM_DOCUMENTS, FROM_MODEL_NOT_COVERED, NOT_COVERED
from desktop.ui.chat.generation import GenerationBridge
from desktop.ui.chat.probabilities import PROBABILITIES_KEY
from desktop.ui.chat.prompt_inspector import PROMPT_KEY
from desktop.ui.library.service import LibraryService

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_MS = 1000
# A plain chat prompt longer than this takes long enough to read to be worth a status line.
LONG_PROMPT_TOKENS = 256


@dataclass(frozen=True)
class AnswerJob:
    """An answer to write: the row opened for it, and what it answers."""

    question: Message
    answer: Message  # the row being written, streaming
    earlier: list[Message]  # the chat before the question
    settings: Settings  # the chat's settings when the answer began
    scope: DocumentScope  # where the answer comes from
    # Continue: the answer as it was before more of it was asked for. Its text stays the
    # beginning of the answer; a documents answer keeps its sources.
    continued: Message | None = None
    # One answer's exception to the chat's scope: "documents" (search anyway, whatever the
    # relevance), "model" (answer without documents), "" (as the chat's scope says).
    source_override: str = ""


@dataclass(frozen=True)
class AnswerEnd:
    job: AnswerJob
    # Nothing was written and nothing kept: the question was taken back with its answer.
    removed: bool = False
    # Why the answer failed ("" when it did not).
    error: str = ""


ANSWER_FROM_DOCUMENTS = "documents"
ANSWER_FROM_MODEL = "model"


class AnswerWriter(QObject):
    text_received = Signal(str)
    # What the answer area says until the first word: searching, reading the sources (with
    # the share of the prompt read), "" once the answer is being written.
    status_changed = Signal(str)
    # Where a documents answer comes from, known before its first word: its meta so far
    # ("origin", "sources", "quotes"), shown above the answer while it is written.
    origin_known = Signal(object)
    context_trimmed = Signal(int)  # earlier messages left out of the prompt
    notice = Signal(str)
    # What an answer is asked with, as it is handed to the engine.
    request_sent = Signal(object)  # ChatRequest
    ended = Signal(object)  # AnswerEnd, once the message is saved

    def __init__(
        self,
        store: ConversationStore,
        engine: ChatEngine,
        library: LibraryService | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._engine = engine
        self._library = library
        self._job: AnswerJob | None = None
        self._partial: list[str] = []
        # Saved with the answer, on top of the engine's figures.
        self._meta_extra: dict[str, Any] = {}
        self._retrieval_id: int | None = None
        self._retrieval_counter = 0
        # Show probabilities: this many alternatives are kept for every token of an answer.
        self.alternatives_per_token = 0
        # What a long prompt's progress says it is reading.
        self._reading = "Reading the conversation"
        self._closed = False
        # Queued even when a generation fails before start() returns, so an answer never ends
        # in the middle of starting it.
        queued = Qt.ConnectionType.QueuedConnection
        if library is not None:
            library.grounded.connect(self._on_grounded, queued)
            library.grounding_failed.connect(self._on_grounding_failed, queued)
        self._bridge = GenerationBridge(engine, self)
        self._bridge.prompt_prepared.connect(self._on_prompt_prepared, queued)
        self._bridge.prefill_progressed.connect(self._on_prefill_progressed, queued)
        self._bridge.text_received.connect(self._on_text_received, queued)
        self._bridge.finished.connect(self._on_finished, queued)
        self._bridge.failed.connect(self._on_failed, queued)
        self._checkpoint_timer = QTimer(self)
        self._checkpoint_timer.setInterval(CHECKPOINT_INTERVAL_MS)
        self._checkpoint_timer.timeout.connect(self._on_checkpoint_timer)

    @property
    def answer(self) -> Message | None:
        """The answer being written, as it was opened (with its earlier text when continued)."""
        return self._job.answer if self._job is not None else None

    def new_text(self) -> str:
        """What has been written so far, after the text the answer was opened with."""
        return "".join(self._partial)

    def start(self, job: AnswerJob) -> None:
        if self._job is not None:
            raise RuntimeError("an answer is already being written")
        self._job = job
        self._partial = []
        self._reading = "Reading the conversation"
        # The values the answer was written with go under it, so two answers can be compared.
        self._meta_extra = {"sampling": describe_sampling(job.settings.generation)}
        system_prompt = job.settings.generation.system_prompt
        if job.continued is not None:
            sources = sources_from_meta(job.continued.meta)
            if sources:
                # The same passages under the same numbers, not a new search.
                self._generate(
                    grounded_question(job.question.content, sources),
                    grounded_system_prompt(system_prompt),
                )
                return
        elif self._searches_library(job):
            self._retrieve(job)
            return
        self._generate(job.question.content, system_prompt)

    def stop(self) -> None:
        if self._retrieval_id is not None and self._job is not None:
            # Still searching the documents: nothing was generated, nothing to wait for.
            self._retrieval_id = None
            self._save_nothing(self._job)
            self._end()
            return
        self._bridge.stop()

    def shutdown(self) -> None:
        """Before the window closes: stop the answer and save what was written as interrupted."""
        self._checkpoint_timer.stop()
        job = self._job
        self._closed = True
        if job is None:
            return
        self._job = None
        if self._retrieval_id is not None:
            self._retrieval_id = None
            self._save_nothing(job)
            return
        self._bridge.stop()
        # Stop also interrupts a prompt being read, so this returns within about a token.
        result = self._bridge.wait()
        written = result.text if result is not None else "".join(self._partial)
        meta = self._final_meta(job, result) if result is not None else {}
        self._store.finish_message(
            job.answer.id,
            _joined(job, written),
            MessageStatus.INTERRUPTED,
            meta | self._meta_extra,
        )

    # -- internals ------------------------------------------------------------------------------

    def _generate(self, question: str, system_prompt: str) -> None:
        job = self._job
        assert job is not None
        self._checkpoint_timer.start()
        request = ChatRequest(
            question=question,
            history=tuple(prompt_history(job.earlier)),
            system_prompt=system_prompt,
            params=job.settings.generation,
            continue_from=(
                continuation_prefix(job.continued.content) if job.continued is not None else ""
            ),
            logprobs=self.alternatives_per_token,
        )
        self.request_sent.emit(request)
        self._bridge.start(request)

    def _searches_library(self, job: AnswerJob) -> bool:
        if self._library is None or self._engine.info is None:
            return False
        if job.source_override == ANSWER_FROM_MODEL:
            return False
        if job.source_override == ANSWER_FROM_DOCUMENTS:
            return True
        if not job.scope.enabled:
            return False
        # The automatic mode with nothing in the library is plain chat: nothing to search, and
        # nothing to mark as not from documents.
        return job.scope.documents_only or bool(self._library.documents())

    def _retrieve(self, job: AnswerJob) -> None:
        assert self._library is not None and self._engine.info is not None
        generation = job.settings.generation
        budget = source_budget(
            self._engine.info.context_length,
            generation.max_tokens,
            self._engine.count_tokens(generation.system_prompt),
        )
        self._retrieval_counter += 1
        self._retrieval_id = self._retrieval_counter
        self.status_changed.emit("Searching your documents…")
        forced = job.source_override == ANSWER_FROM_DOCUMENTS
        self._library.ground(
            self._retrieval_counter,
            job.question.content,
            None if forced else job.scope.searched,
            generation.system_prompt,
            self._engine.count_tokens,
            budget,
            sources_wanted=job.settings.documents.results_per_question,
            # "Search the documents anyway": the best passages, however weakly they match.
            threshold=0.0 if forced else job.settings.documents.relevance_threshold,
        )

    @Slot(int, object)
    def _on_grounded(self, request_id: int, grounded: GroundedQuestion) -> None:
        job = self._job
        if job is None or self._retrieval_id != request_id or self._closed:
            return
        self._retrieval_id = None
        if grounded.not_indexed:
            self._meta_extra["not_indexed"] = list(grounded.not_indexed)
        self._meta_extra["best_relevance"] = round(grounded.best_relevance, 4)
        if grounded.relevant:
            self._meta_extra |= {
                "grounded": True,
                "origin": FROM_DOCUMENTS,
                "sources": [SourceRef.from_source(s).to_meta() for s in grounded.sources],
                "quotes": [quote_to_meta(quote) for quote in grounded.quotes],
            }
            self.origin_known.emit(dict(self._meta_extra))
            self._reading = f"Reading {_sources_count(len(grounded.sources))}"
            self._generate(grounded.prompt, grounded.system_prompt)
        elif job.scope.documents_only:
            # Nothing close enough, and documents alone were asked for: say so rather than let
            # the model invent an answer.
            self._store.finish_message(
                job.answer.id,
                NOT_IN_LIBRARY,
                MessageStatus.COMPLETE,
                self._meta_extra | {"origin": NOT_COVERED, "finish_reason": "not_in_library"},
            )
            self._end()
        else:
            # Automatic: a question the library does not cover is the model's to answer.
            self._meta_extra["origin"] = FROM_MODEL_NOT_COVERED
            self.origin_known.emit(dict(self._meta_extra))
            self._generate(job.question.content, job.settings.generation.system_prompt)

    @Slot(int, str)
    def _on_grounding_failed(self, request_id: int, reason: str) -> None:
        if self._job is None or self._retrieval_id != request_id or self._closed:
            return
        self._retrieval_id = None
        self._on_failed(reason)

    @Slot(int, int)
    def _on_prompt_prepared(self, dropped: int, prompt_tokens: int) -> None:
        if self._closed:
            return
        if dropped:
            self.context_trimmed.emit(dropped)
        if "sources" in self._meta_extra or prompt_tokens > LONG_PROMPT_TOKENS:
            # A prompt that takes a while to read says so from the start.
            self.status_changed.emit(f"{self._reading} ({prompt_tokens:,} tokens)…")

    @Slot(int, int)
    def _on_prefill_progressed(self, done: int, total: int) -> None:
        if self._job is None or self._closed or self._partial:
            return
        share = done / total if total else 1.0
        self.status_changed.emit(f"{self._reading} ({total:,} tokens)… {share:.0%}")

    @Slot(str)
    def _on_text_received(self, text: str) -> None:
        if self._job is None or self._closed:
            return
        if not self._partial:
            self.status_changed.emit("")
        self._partial.append(text)
        self.text_received.emit(text)

    @Slot()
    def _on_checkpoint_timer(self) -> None:
        job = self._job
        if job is None:
            return
        try:
            self._store.update_streaming(job.answer.id, _joined(job, "".join(self._partial)))
        except sqlite3.Error:
            # A full disk: the answer goes on streaming and is saved whole at its end, if there
            # is room by then; what was saved at the last checkpoint stays.
            log.warning("could not save the answer so far", exc_info=True)

    @Slot(object)
    def _on_finished(self, result: GenerationResult) -> None:
        job = self._job
        if job is None or self._closed:
            return
        cancelled = result.finish_reason == "cancelled"
        nothing = cancelled and not result.text.strip() and job.continued is None
        if nothing and self._store.restore_previous_answer(job.answer.id):
            # A regenerated answer stopped before its first word: the user kept the earlier one.
            self._end()
            return
        status = MessageStatus.INTERRUPTED if cancelled else MessageStatus.COMPLETE
        self._store.finish_message(
            job.answer.id,
            _joined(job, result.text),
            status,
            self._final_meta(job, result) | self._meta_extra,
        )
        self._end()

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        job = self._job
        if job is None or self._closed:
            return
        written = "".join(self._partial)
        answer = job.answer
        if written.strip():
            self._store.finish_message(
                answer.id,
                _joined(job, written),
                MessageStatus.FAILED,
                {"error": reason} | self._meta_extra,
            )
        elif job.continued is not None:
            # Nothing added: the answer stays as it was, and can be continued again.
            self._store.finish_message(answer.id, job.continued.content, job.continued.status)
        elif not self._store.restore_previous_answer(answer.id):
            # Nothing was written (the question does not fit, the template refused it) and
            # there is no earlier answer to go back to: take the question back so the chat
            # stays usable; the controller gives its text back to the user.
            self._store.truncate_after(answer.conversation_id, job.question.position - 1)
            self._end(removed=True, error=reason)
            return
        self._end(error=reason)

    def _save_nothing(self, job: AnswerJob) -> None:
        """An answer stopped before its first word: a regenerated one gives way to the answer
        it was to replace (the user stopped it to keep that one); a first one stays, empty and
        stopped, so the question shows it was asked. A continued answer keeps its text."""
        answer = job.answer
        if job.continued is not None:
            self._store.finish_message(
                answer.id, job.continued.content, MessageStatus.INTERRUPTED, job.continued.meta
            )
        elif not self._store.restore_previous_answer(answer.id):
            self._store.finish_message(answer.id, "", MessageStatus.INTERRUPTED, {})

    def _final_meta(self, job: AnswerJob, result: GenerationResult) -> dict[str, Any]:
        stats = result.stats()
        if result.prompt is not None:
            stats[PROMPT_KEY] = result.prompt.to_json()
        if result.probabilities:
            earlier = job.continued.meta.get(PROBABILITIES_KEY, []) if job.continued else []
            # A continued answer's tokens follow those already shown; a branch starts anew.
            kept = earlier if isinstance(earlier, list) and job.continued is not None else []
            stats[PROBABILITIES_KEY] = kept + [step.to_json() for step in result.probabilities]
        if job.continued is None:
            return stats
        return merged_stats(job.continued.meta, stats)

    def _end(self, removed: bool = False, error: str = "") -> None:
        job = self._job
        assert job is not None
        self._checkpoint_timer.stop()
        self.status_changed.emit("")
        self._job = None
        self._partial = []
        self._meta_extra = {}
        self.ended.emit(AnswerEnd(job, removed, error))


def _sources_count(count: int) -> str:
    return f"{count} source{'s' if count != 1 else ''}"


def _joined(job: AnswerJob, written: str) -> str:
    """The answer's whole text: a continued answer's earlier part, then what was written now."""
    if job.continued is None:
        return written
    return continuation_prefix(job.continued.content) + written
