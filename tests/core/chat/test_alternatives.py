"""Regenerate keeps the answers it replaces; Continue writes on at the end of an answer; a
chat history written before either existed opens with every message kept."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.chat.messages import Message, MessageStatus, Role, can_continue, prompt_history
from desktop.core.chat.migrations import SCHEMA_V1, SCHEMA_VERSION
from desktop.core.chat.store import ConversationStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[ConversationStore]:
    opened = ConversationStore(db_path)
    yield opened
    opened.close()


def _answered(store: ConversationStore, answer: str = "Paris.") -> tuple[Message, Message]:
    chat = store.create_conversation()
    question = store.add_message(chat, Role.USER, "What is the capital of France?")
    reply = store.begin_assistant_message(chat, {"model": "smol"})
    store.finish_message(reply.id, answer, MessageStatus.COMPLETE, {"completion_tokens": 2})
    found = store.message(reply.id)
    assert found is not None
    return question, found


def _regenerated(store: ConversationStore, question: Message, text: str) -> Message:
    reopened = store.restart_answer(question.id, None, {"model": "smol"})
    store.finish_message(reopened.id, text, MessageStatus.COMPLETE, {"completion_tokens": 3})
    found = store.message(reopened.id)
    assert found is not None
    return found


def test_regenerate_keeps_the_earlier_answer_as_an_alternative(store: ConversationStore) -> None:
    question, first = _answered(store)
    assert (first.alternative_index, first.alternative_count) == (0, 1)

    reopened = store.restart_answer(question.id, None, {"model": "smol"})
    # The new answer takes the old one's place: same row, empty and being written.
    assert reopened.id == first.id
    assert reopened.status is MessageStatus.STREAMING and reopened.content == ""
    assert (reopened.alternative_index, reopened.alternative_count) == (1, 2)
    store.finish_message(reopened.id, "It is Paris.", MessageStatus.COMPLETE)

    shown = store.messages(question.conversation_id)
    assert [m.content for m in shown] == [question.content, "It is Paris."]
    # Its figures are its own, not the first answer's.
    assert "completion_tokens" not in shown[1].meta

    back = store.choose_alternative(first.id, 0)
    assert back is not None
    assert back.content == "Paris." and back.meta["completion_tokens"] == 2
    assert (back.alternative_index, back.alternative_count) == (0, 2)
    again = store.choose_alternative(first.id, 1)
    assert again is not None and again.content == "It is Paris."
    assert (again.alternative_index, again.alternative_count) == (1, 2)


def test_three_answers_keep_the_order_they_were_written_in(store: ConversationStore) -> None:
    question, first = _answered(store, "one")
    _regenerated(store, question, "two")
    third = _regenerated(store, question, "three")
    assert (third.alternative_index, third.alternative_count) == (2, 3)

    for index, text in ((0, "one"), (2, "three"), (1, "two"), (0, "one")):
        chosen = store.choose_alternative(first.id, index)
        assert chosen is not None
        assert (chosen.content, chosen.alternative_index) == (text, index)
    # Regenerating from an earlier choice adds the newest answer at the end.
    fourth = _regenerated(store, question, "four")
    assert (fourth.alternative_index, fourth.alternative_count) == (3, 4)
    chosen = store.choose_alternative(first.id, 0)
    assert chosen is not None and chosen.content == "one"
    assert store.choose_alternative(first.id, 4) is None
    assert store.choose_alternative(first.id, -1) is None


def test_what_reads_a_chat_reads_the_answer_chosen(store: ConversationStore) -> None:
    question, first = _answered(store, "The answer about zebras.")
    _regenerated(store, question, "The answer about giraffes.")
    chat = question.conversation_id

    assert [s.id for s in store.search("giraffes")] == [chat]
    assert store.search("zebras") == []
    assert "giraffes" in store.export_markdown(chat)
    history = prompt_history(store.messages(chat))
    assert [m["content"] for m in history] == [question.content, "The answer about giraffes."]

    store.choose_alternative(first.id, 0)
    assert [s.id for s in store.search("zebras")] == [chat]
    assert store.search("giraffes") == []
    assert "zebras" in store.export_markdown(chat)


def test_an_empty_answer_is_not_kept(store: ConversationStore) -> None:
    chat = store.create_conversation()
    question = store.add_message(chat, Role.USER, "Hello?")
    stopped = store.begin_assistant_message(chat)
    store.finish_message(stopped.id, "  \n", MessageStatus.INTERRUPTED)
    reopened = store.restart_answer(question.id)
    assert reopened.alternative_count == 1


def test_a_regenerated_answer_that_failed_at_once_gives_way_to_the_earlier_one(
    store: ConversationStore,
) -> None:
    question, first = _answered(store)
    reopened = store.restart_answer(question.id)
    assert store.restore_previous_answer(reopened.id)
    restored = store.message(first.id)
    assert restored is not None
    assert restored.content == "Paris." and restored.status is MessageStatus.COMPLETE
    assert restored.alternative_count == 1
    # With nothing kept, there is nothing to go back to.
    assert not store.restore_previous_answer(first.id)


def test_an_answer_being_written_cannot_be_switched(store: ConversationStore) -> None:
    question, first = _answered(store)
    store.restart_answer(question.id)
    assert store.choose_alternative(first.id, 0) is None


def test_editing_the_question_drops_its_answers_and_their_alternatives(
    store: ConversationStore, db_path: Path
) -> None:
    question, first = _answered(store)
    _regenerated(store, question, "Second.")
    answer = store.restart_answer(question.id, "What is the capital of Spain?")
    assert answer.alternative_count == 1
    assert store.message(first.id) is None
    probe = sqlite3.connect(db_path)
    try:
        assert probe.execute("SELECT COUNT(*) FROM answer_alternatives").fetchone()[0] == 0
    finally:
        probe.close()


def test_purged_chats_take_their_alternatives_with_them(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        question, _first = _answered(store)
        _regenerated(store, question, "Second.")
        store.delete_conversation(question.conversation_id)
    with ConversationStore(db_path):
        pass
    probe = sqlite3.connect(db_path)
    try:
        assert probe.execute("SELECT COUNT(*) FROM answer_alternatives").fetchone()[0] == 0
    finally:
        probe.close()


def test_a_continued_answer_is_written_again_and_recovered_after_a_crash(db_path: Path) -> None:
    with ConversationStore(db_path) as store:
        _question, answer = _answered(store, "The capital of France is")
        resumed = store.resume_answer(answer.id)
        assert resumed.id == answer.id and resumed.content == answer.content
        assert resumed.status is MessageStatus.STREAMING
        store.update_streaming(answer.id, "The capital of France is Paris")
        # The app dies here: the store is not told how the answer ended.
    with ConversationStore(db_path) as reopened:
        recovered = reopened.message(answer.id)
        assert recovered is not None
        assert recovered.status is MessageStatus.INTERRUPTED
        assert recovered.content == "The capital of France is Paris"
        assert can_continue(recovered)


def test_only_answers_that_ended_early_can_be_continued(store: ConversationStore) -> None:
    _question, answer = _answered(store)
    assert not can_continue(answer)
    store.finish_message(answer.id, "Paris is", MessageStatus.COMPLETE, {"finish_reason": "length"})
    cut = store.message(answer.id)
    assert cut is not None and can_continue(cut)
    store.finish_message(answer.id, "Paris is", MessageStatus.INTERRUPTED)
    stopped = store.message(answer.id)
    assert stopped is not None and can_continue(stopped)
    store.finish_message(answer.id, "", MessageStatus.INTERRUPTED)
    empty = store.message(answer.id)
    assert empty is not None and not can_continue(empty)
    question = store.messages(answer.conversation_id)[0]
    assert not can_continue(question)


def test_a_version_1_history_opens_with_every_message(db_path: Path) -> None:
    probe = sqlite3.connect(db_path)
    try:
        with probe:
            for statement in SCHEMA_V1:
                probe.execute(statement)
            probe.execute("PRAGMA user_version = 1")
            now = time.time()
            probe.execute(
                "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, ?, ?)",
                ("Capitals", now, now),
            )
            for position, (role, content) in enumerate(
                [("user", "What is the capital of France?"), ("assistant", "Paris.")]
            ):
                probe.execute(
                    "INSERT INTO messages"
                    " (conversation_id, position, role, content, status, created_at, meta)"
                    " VALUES (1, ?, ?, ?, 'complete', ?, '{}')",
                    (position, role, content, now + position),
                )
    finally:
        probe.close()

    with ConversationStore(db_path) as store:
        shown = store.messages(1)
        assert [(m.role, m.content) for m in shown] == [
            (Role.USER, "What is the capital of France?"),
            (Role.ASSISTANT, "Paris."),
        ]
        assert shown[1].alternative_count == 1
        assert [s.id for s in store.search("Paris")] == [1]
        # The upgraded file does what a new one does.
        regenerated = _regenerated(store, shown[0], "It is Paris.")
        assert regenerated.alternative_count == 2
    probe = sqlite3.connect(db_path)
    try:
        assert probe.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        probe.close()
