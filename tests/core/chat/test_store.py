from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from desktop.core.chat.messages import Message, MessageStatus, Role, prompt_history
from desktop.core.chat.migrations import SCHEMA_VERSION
from desktop.core.chat.store import ConversationStore
from desktop.core.chat.titles import make_title

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "conversations.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[ConversationStore]:
    opened = ConversationStore(db_path)
    yield opened
    opened.close()


def _chat_with_answer(store: ConversationStore, question: str, answer: str) -> int:
    chat = store.create_conversation()
    store.add_message(chat, Role.USER, question)
    store.add_message(chat, Role.ASSISTANT, answer)
    return chat


def test_chat_survives_closing_and_reopening_the_file(db_path: Path) -> None:
    with ConversationStore(db_path) as first:
        chat = first.create_conversation("Trip planning")
        first.add_message(chat, Role.SYSTEM, "You are concise.")
        first.add_message(chat, Role.USER, "Where should I go in May?")
        first.add_message(
            chat,
            Role.ASSISTANT,
            "Lisbon is lovely in May.",
            meta={"completion_tokens": 7, "tokens_per_s": 31.2, "model": "smol"},
        )
        first.set_settings(chat, {"temperature": 0.2})

    with ConversationStore(db_path) as reopened:
        summary = reopened.conversation(chat)
        assert summary is not None
        assert summary.title == "Trip planning"
        assert summary.message_count == 3
        messages = reopened.messages(chat)
        assert [(m.position, m.role, m.content) for m in messages] == [
            (0, Role.SYSTEM, "You are concise."),
            (1, Role.USER, "Where should I go in May?"),
            (2, Role.ASSISTANT, "Lisbon is lovely in May."),
        ]
        assert all(m.status is MessageStatus.COMPLETE for m in messages)
        assert messages[2].meta == {"completion_tokens": 7, "tokens_per_s": 31.2, "model": "smol"}
        assert reopened.message(messages[1].id) == messages[1]
        assert reopened.settings(chat) == {"temperature": 0.2}


def test_store_creates_missing_folders_and_runs_in_wal_mode(db_path: Path) -> None:
    assert not db_path.parent.exists()
    with ConversationStore(db_path) as store:
        store.create_conversation("x")
    assert db_path.exists()
    probe = sqlite3.connect(db_path)
    try:
        assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert probe.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        probe.close()


def test_a_file_from_a_newer_version_is_refused_rather_than_damaged(db_path: Path) -> None:
    ConversationStore(db_path).close()
    probe = sqlite3.connect(db_path)
    try:
        probe.execute("PRAGMA user_version = 99")
        probe.commit()
    finally:
        probe.close()
    with pytest.raises(RuntimeError, match="newer version of Folio"):
        ConversationStore(db_path)


def test_first_question_names_the_chat(store: ConversationStore) -> None:
    chat = store.create_conversation()
    assert store.conversation(chat) is not None
    store.add_message(chat, Role.SYSTEM, "System prompt is not a title.")
    store.add_message(chat, Role.USER, "What is the capital of France?\nAnd of Spain?")
    store.add_message(chat, Role.USER, "A later question does not rename it.")
    summary = store.conversation(chat)
    assert summary is not None
    assert summary.title == "What is the capital of France?"


def test_a_chat_created_with_a_name_keeps_it(store: ConversationStore) -> None:
    chat = store.create_conversation("  Recipes  ")
    store.add_message(chat, Role.USER, "How do I make bread?")
    summary = store.conversation(chat)
    assert summary is not None
    assert summary.title == "Recipes"


def test_make_title() -> None:
    assert make_title("") == "New chat"
    assert make_title("  \n\t ") == "New chat"
    assert make_title("  Explain   recursion.  ") == "Explain recursion"
    assert make_title("\n\nWhy is the sky blue?\nI always wondered.") == "Why is the sky blue?"
    long_sentence = "Please compare the economic policies of several European countries after 1990"
    title = make_title(long_sentence)
    assert title == "Please compare the economic policies of several European…"
    assert len(title) <= 60
    assert make_title("word " * 40, limit=20) == "word word word word…"
    assert len(make_title("x" * 200)) == 60
    # A short greeting alone would make a useless title.
    assert make_title("Hi! How do transformers use attention?") == (
        "Hi! How do transformers use attention?"
    )


def test_rename(store: ConversationStore) -> None:
    chat = store.create_conversation("Old")
    store.rename(chat, "  New name ")
    summary = store.conversation(chat)
    assert summary is not None
    assert summary.title == "New name"


def test_an_empty_name_is_refused(store: ConversationStore) -> None:
    chat = store.create_conversation("Keep me")
    with pytest.raises(ValueError, match=r"^A chat needs a name\.$"):
        store.rename(chat, "   ")
    summary = store.conversation(chat)
    assert summary is not None
    assert summary.title == "Keep me"


def test_chats_are_listed_most_recently_updated_first(store: ConversationStore) -> None:
    first = store.create_conversation("first")
    second = store.create_conversation("second")
    third = store.create_conversation("third")
    assert [c.id for c in store.list_conversations()] == [third, second, first]

    store.add_message(first, Role.USER, "bump")
    assert [c.id for c in store.list_conversations()] == [first, third, second]

    answer = store.begin_assistant_message(second)
    store.finish_message(answer.id, "done", MessageStatus.COMPLETE)
    listed = store.list_conversations()
    assert [c.id for c in listed] == [second, first, third]
    assert [c.message_count for c in listed] == [1, 1, 0]


def test_search_finds_words_in_titles_and_in_messages(store: ConversationStore) -> None:
    geography = _chat_with_answer(store, "What is the capital of France?", "Paris.")
    cooking = store.create_conversation("Sourdough starter")
    store.add_message(cooking, Role.USER, "How often do I feed it?")
    store.add_message(cooking, Role.ASSISTANT, "Feed the starter once a day.")

    assert [c.id for c in store.search("paris")] == [geography]
    assert [c.id for c in store.search("sourdough")] == [cooking]
    assert [c.id for c in store.search("nothing-like-this")] == []


def test_search_matches_prefixes_substrings_and_ignores_case(store: ConversationStore) -> None:
    chat = _chat_with_answer(store, "Tell me about capitals", "Canberra is Australia's capital.")
    assert [c.id for c in store.search("capit")] == [chat]
    assert [c.id for c in store.search("CANBERRA")] == [chat]
    assert [c.id for c in store.search("berra")] == [chat]
    assert [c.id for c in store.search("australia capital")] == [chat]
    assert [c.id for c in store.search("ÉLAN")] == []

    accented = _chat_with_answer(store, "Où est le café?", "Über die Straße, ÉLAN vital.")
    assert [c.id for c in store.search("élan")] == [accented]
    assert [c.id for c in store.search("cafe")] == [accented]
    assert [c.id for c in store.search("über")] == [accented]


def test_search_handles_punctuation_and_quotes(store: ConversationStore) -> None:
    cpp = _chat_with_answer(store, "Is C++ hard?", "C++ templates take practice.")
    dotted = _chat_with_answer(store, "Config question", "Set a.b = 1 in the file.")
    quoted = _chat_with_answer(store, "Quotes", 'She said "hello there" and left.')

    assert [c.id for c in store.search("c++")] == [cpp]
    assert [c.id for c in store.search("a.b")] == [dotted]
    assert [c.id for c in store.search('"hello there"')] == [quoted]
    assert [c.id for c in store.search('said "hello')] == [quoted]
    for awkward in ['"', "'", "*", "%", "_", "(", "AND", "NOT OR", "-", "^", ":", "\\"]:
        assert isinstance(store.search(awkward), list)
    assert store.search("%") == []
    assert store.search("_") == []


def test_search_returns_a_snippet_around_the_match(store: ConversationStore) -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 5
    answer = f"{filler}The answer is photosynthesis in the leaves. {filler}"
    chat = store.create_conversation("Biology homework")
    store.add_message(chat, Role.USER, "What do plants do with light?")
    store.add_message(chat, Role.ASSISTANT, answer)

    (hit,) = store.search("photosynth")
    assert hit.id == chat
    assert "photosynthesis" in hit.snippet
    assert hit.snippet.startswith("…")
    assert hit.snippet.endswith("…")
    assert len(hit.snippet) < len(answer) / 2
    assert "\n" not in hit.snippet

    (title_only,) = store.search("homework")
    assert title_only.snippet == ""
    assert all(c.snippet == "" for c in store.list_conversations())


def test_search_lists_each_chat_once_most_recent_first(store: ConversationStore) -> None:
    older = _chat_with_answer(store, "Python lists", "Python lists are mutable. Python!")
    newer = _chat_with_answer(store, "Python dicts", "Dicts keep insertion order.")
    hits = store.search("python")
    assert [c.id for c in hits] == [newer, older]
    assert "Python" in hits[1].snippet


def test_blank_search_lists_every_chat(store: ConversationStore) -> None:
    chats = [store.create_conversation(f"chat {n}") for n in range(3)]
    assert [c.id for c in store.search("   ")] == list(reversed(chats))


def test_edited_text_is_what_search_finds(store: ConversationStore) -> None:
    chat = store.create_conversation("Edits")
    question = store.add_message(chat, Role.USER, "What about zebras?")
    store.restart_answer(question.id, "What about giraffes?")
    assert store.search("zebras") == []
    assert [c.id for c in store.search("giraffes")] == [chat]
    edited = store.message(question.id)
    assert edited is not None
    assert edited.content == "What about giraffes?"


def test_deleted_chat_is_hidden_and_can_be_restored(store: ConversationStore) -> None:
    keep = _chat_with_answer(store, "Keep this chat", "Sure.")
    gone = _chat_with_answer(store, "Delete this chat", "Unique walrus answer.")

    store.delete_conversation(gone)
    assert [c.id for c in store.list_conversations()] == [keep]
    assert store.conversation(gone) is None
    assert store.messages(gone) == []
    assert store.search("walrus") == []
    with pytest.raises(LookupError):
        store.add_message(gone, Role.USER, "Still there?")

    store.restore_conversation(gone)
    assert [c.id for c in store.list_conversations()] == [gone, keep]
    assert [c.id for c in store.search("walrus")] == [gone]
    assert len(store.messages(gone)) == 2


def test_a_new_session_purges_deleted_chats(db_path: Path) -> None:
    with ConversationStore(db_path) as first:
        gone = _chat_with_answer(first, "Delete me", "Unique narwhal answer.")
        keep = _chat_with_answer(first, "Keep me", "Fine.")
        first.delete_conversation(gone)

    with ConversationStore(db_path) as second:
        second.restore_conversation(gone)
        assert second.conversation(gone) is None
        assert [c.id for c in second.list_conversations()] == [keep]
        assert second.search("narwhal") == []
        assert second.purge_deleted() == 0


def test_purge_deleted_counts_chats(store: ConversationStore) -> None:
    chats = [_chat_with_answer(store, f"Q{n}", "A") for n in range(3)]
    store.delete_conversation(chats[0])
    store.delete_conversation(chats[1])
    assert store.purge_deleted() == 2
    assert [c.id for c in store.list_conversations()] == [chats[2]]


def test_truncate_after_for_edit_and_resend(store: ConversationStore) -> None:
    chat = store.create_conversation()
    first = store.add_message(chat, Role.USER, "First question")
    store.add_message(chat, Role.ASSISTANT, "First answer")
    second = store.add_message(chat, Role.USER, "Second question")
    store.add_message(chat, Role.ASSISTANT, "Second answer")

    removed = store.truncate_after(chat, second.position - 1)
    assert removed == 2
    assert [m.content for m in store.messages(chat)] == ["First question", "First answer"]

    resent = store.add_message(chat, Role.USER, "Second question, reworded")
    assert resent.position == second.position
    assert store.truncate_after(chat, 99) == 0
    assert store.truncate_after(chat, first.position - 1) == 3
    assert store.messages(chat) == []
    assert store.truncate_after(12345, 0) == 0


def test_streaming_checkpoints_and_finish(store: ConversationStore) -> None:
    chat = store.create_conversation()
    store.add_message(chat, Role.USER, "Count to three")
    answer = store.begin_assistant_message(chat, meta={"model": "smol"})
    assert answer.status is MessageStatus.STREAMING
    assert answer.content == ""
    assert answer.role is Role.ASSISTANT

    store.update_streaming(answer.id, "one")
    store.update_streaming(answer.id, "one, two")
    checkpoint = store.message(answer.id)
    assert checkpoint is not None
    assert checkpoint.content == "one, two"
    assert checkpoint.status is MessageStatus.STREAMING

    store.finish_message(
        answer.id, "one, two, three", MessageStatus.COMPLETE, meta={"completion_tokens": 5}
    )
    finished = store.message(answer.id)
    assert finished is not None
    assert finished.content == "one, two, three"
    assert finished.status is MessageStatus.COMPLETE
    assert finished.meta == {"model": "smol", "completion_tokens": 5}

    # A checkpoint arriving late from the generating thread must not undo the final text.
    store.update_streaming(answer.id, "one, two")
    late = store.message(answer.id)
    assert late is not None
    assert late.content == "one, two, three"


def test_an_answer_keeps_arriving_in_a_deleted_chat_until_it_is_purged(
    store: ConversationStore,
) -> None:
    chat = store.create_conversation()
    store.add_message(chat, Role.USER, "Long story please")
    answer = store.begin_assistant_message(chat)
    store.update_streaming(answer.id, "Once upon")
    store.delete_conversation(chat)

    # The generating thread finishes after the delete: what it wrote survives an undo.
    store.update_streaming(answer.id, "Once upon a time")
    store.finish_message(answer.id, "Once upon a time, the end.", MessageStatus.INTERRUPTED)
    assert store.message(answer.id) is None

    store.restore_conversation(chat)
    restored = store.message(answer.id)
    assert restored is not None
    assert restored.content == "Once upon a time, the end."
    assert restored.status is MessageStatus.INTERRUPTED

    store.delete_conversation(chat)
    store.purge_deleted()
    store.update_streaming(answer.id, "after purge")
    store.finish_message(answer.id, "after purge", MessageStatus.FAILED)
    store.update_streaming(987654, "never existed")
    assert store.message(answer.id) is None


def test_missing_chats_read_as_empty_and_refuse_writes(store: ConversationStore) -> None:
    missing = 4242
    assert store.conversation(missing) is None
    assert store.messages(missing) == []
    assert store.message(missing) is None
    assert store.settings(missing) == {}
    assert store.export_markdown(missing) == ""
    assert store.export_json(missing) == {}
    with pytest.raises(LookupError, match="4242"):
        store.add_message(missing, Role.USER, "hello")
    with pytest.raises(LookupError):
        store.begin_assistant_message(missing)
    with pytest.raises(LookupError):
        store.restart_answer(missing, "text")
    with pytest.raises(LookupError):
        store.set_settings(missing, {"temperature": 1.0})


def test_per_chat_settings(store: ConversationStore) -> None:
    chat = store.create_conversation("Settings")
    assert store.settings(chat) == {}
    store.set_settings(chat, {"temperature": 0.7, "system_prompt": "Be brief."})
    assert store.settings(chat) == {"temperature": 0.7, "system_prompt": "Be brief."}
    store.set_settings(chat, {})
    assert store.settings(chat) == {}


def test_concurrent_writers_get_distinct_positions(store: ConversationStore) -> None:
    chat = store.create_conversation("Busy")

    def write(worker: int) -> None:
        for n in range(25):
            store.add_message(chat, Role.USER, f"worker {worker} message {n}")

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [m.position for m in store.messages(chat)] == list(range(100))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_answer_in_progress_survives_a_hard_kill(db_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os
        import signal
        import sys
        from pathlib import Path

        sys.path.insert(0, {str(REPO_ROOT)!r})
        from desktop.core.chat.messages import Role
        from desktop.core.chat.store import ConversationStore

        store = ConversationStore(Path({str(db_path)!r}))
        chat = store.create_conversation()
        store.add_message(chat, Role.USER, "Tell me a long story")
        answer = store.begin_assistant_message(chat, meta={{"model": "smol"}})
        store.update_streaming(answer.id, "partial answer")
        print(chat, answer.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    chat, answer_id = (int(part) for part in result.stdout.split())

    with ConversationStore(db_path) as reopened:
        question, answer = reopened.messages(chat)
        assert question.role is Role.USER
        assert question.content == "Tell me a long story"
        assert question.status is MessageStatus.COMPLETE
        assert answer.id == answer_id
        assert answer.content == "partial answer"
        assert answer.status is MessageStatus.INTERRUPTED
        assert answer.meta == {"model": "smol"}
        summary = reopened.conversation(chat)
        assert summary is not None
        assert summary.title == "Tell me a long story"


def test_export_markdown(store: ConversationStore) -> None:
    chat = store.create_conversation("Space facts")
    store.add_message(chat, Role.USER, "How far is the Moon?")
    answer = store.begin_assistant_message(chat, meta={"model": "smol-135m"})
    store.finish_message(
        answer.id,
        "About 384,000 km",
        MessageStatus.INTERRUPTED,
        meta={"completion_tokens": 42, "tokens_per_s": 31.25, "ttft_s": 0.2, "dropped_messages": 1},
    )

    markdown = store.export_markdown(chat)
    assert markdown.startswith("# Space facts\n\n")
    assert "### You\n\nHow far is the Moon?" in markdown
    assert "### Assistant\n\nAbout 384,000 km" in markdown
    assert "*(interrupted)*" in markdown
    assert "smol-135m" in markdown
    assert "42 tokens" in markdown
    assert "31.2 tokens/s" in markdown
    assert "1 earlier message left out" in markdown
    assert markdown.index("### You") < markdown.index("### Assistant")
    created_line = markdown.splitlines()[2]
    created_iso = created_line.split()[1]
    assert datetime.fromisoformat(created_iso).utcoffset() is not None


def test_export_json(store: ConversationStore) -> None:
    chat = store.create_conversation()
    store.add_message(chat, Role.USER, "Hello there")
    answer = store.begin_assistant_message(chat)
    store.finish_message(answer.id, "Hi!", MessageStatus.COMPLETE, meta={"tokens_per_s": 12.5})

    exported = store.export_json(chat)
    round_tripped = json.loads(json.dumps(exported))
    assert round_tripped == exported
    assert set(exported) == {"title", "created_at", "updated_at", "messages"}
    assert exported["title"] == "Hello there"
    for stamp in (exported["created_at"], exported["updated_at"]):
        assert datetime.fromisoformat(stamp).utcoffset() is not None
    assert exported["messages"] == [
        {
            "role": "user",
            "content": "Hello there",
            "status": "complete",
            "created_at": exported["messages"][0]["created_at"],
            "meta": {},
        },
        {
            "role": "assistant",
            "content": "Hi!",
            "status": "complete",
            "created_at": exported["messages"][1]["created_at"],
            "meta": {"tokens_per_s": 12.5},
        },
    ]


def test_prompt_history_keeps_answered_questions_only() -> None:
    def message(position: int, role: Role, content: str, status: MessageStatus) -> Message:
        return Message(position, 1, position, role, content, status, 0.0, {})

    complete, failed = MessageStatus.COMPLETE, MessageStatus.FAILED
    interrupted = MessageStatus.INTERRUPTED
    history = prompt_history(
        [
            message(0, Role.USER, "first", complete),
            message(1, Role.ASSISTANT, "answer one", complete),
            message(2, Role.USER, "stopped at once", complete),
            message(3, Role.ASSISTANT, "", interrupted),
            message(4, Role.USER, "failed", complete),
            message(5, Role.ASSISTANT, "half", failed),
            message(6, Role.USER, "never answered", complete),
            message(7, Role.USER, "second", complete),
            message(8, Role.ASSISTANT, "partial but kept", interrupted),
        ]
    )
    assert history == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "answer one"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "partial but kept"},
    ]


def test_restart_answer_edits_truncates_and_opens_an_answer_at_once(
    store: ConversationStore,
) -> None:
    chat = store.create_conversation()
    question = store.add_message(chat, Role.USER, "Capital of France?")
    store.add_message(chat, Role.ASSISTANT, "Paris")
    store.add_message(chat, Role.USER, "And Italy?")
    store.add_message(chat, Role.ASSISTANT, "Rome")

    answer = store.restart_answer(question.id, "Capital of Spain?", {"model": "m"})

    messages = store.messages(chat)
    assert [(m.role, m.content, m.status) for m in messages] == [
        (Role.USER, "Capital of Spain?", MessageStatus.COMPLETE),
        (Role.ASSISTANT, "", MessageStatus.STREAMING),
    ]
    assert messages[1].id == answer.id and answer.meta == {"model": "m"}
    with pytest.raises(LookupError):
        store.restart_answer(answer.id)


def test_editing_the_first_question_retitles_an_automatic_title_only(
    store: ConversationStore,
) -> None:
    auto = store.create_conversation()
    question = store.add_message(auto, Role.USER, "What is the capital of France?")
    store.restart_answer(question.id, "What is the capital of Italy?")
    summary = store.conversation(auto)
    assert summary is not None and summary.title == "What is the capital of Italy?"

    named = store.create_conversation()
    question = store.add_message(named, Role.USER, "What is the capital of France?")
    store.rename(named, "Geography homework")
    store.restart_answer(question.id, "What is the capital of Italy?")
    summary = store.conversation(named)
    assert summary is not None and summary.title == "Geography homework"
