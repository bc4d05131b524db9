"""The chat history: every conversation and its messages, kept in one SQLite file.

The file runs in WAL mode so a reader (the chat list, a search) never waits for a writer, and an
answer being streamed is checkpointed as it grows: if Folio is killed mid-answer, the next start
finds the partial text and marks it interrupted instead of losing it.

Deleting a chat only hides it, so the user can undo; hidden chats are removed for good the next
time the store is opened.

Regenerate keeps the answers it replaces as alternatives of the new one; the answer chosen among
them is the one in ``messages``, so everything that reads a chat (search, history, export) reads
the answers the user sees.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from desktop.core import faults
from desktop.core.chat import export, search
from desktop.core.chat.messages import (
    ConversationSummary,
    Message,
    MessageStatus,
    Role,
)
from desktop.core.chat.migrations import MIGRATIONS, SCHEMA_VERSION
from desktop.core.chat.titles import make_title

_SUMMARY_COLUMNS = """
    c.id, c.title, c.created_at, c.updated_at,
    (SELECT COUNT(*) FROM messages AS m WHERE m.conversation_id = c.id) AS message_count
"""
_MESSAGE_COLUMNS = """
    m.id, m.conversation_id, m.position, m.role, m.content, m.status, m.created_at, m.meta,
    (SELECT COUNT(*) FROM answer_alternatives AS a WHERE a.message_id = m.id) AS alternatives,
    (SELECT COUNT(*) FROM answer_alternatives AS a
        WHERE a.message_id = m.id AND a.created_at < m.created_at) AS earlier_alternatives
"""


class ConversationStore:
    """Thread-safe access to the chat history file.

    One connection is shared by every thread that uses the store; a re-entrant lock serialises
    access to it, which is cheap because every write touches a handful of rows.
    """

    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._path = db_path
        self._lock = threading.RLock()
        self._last_timestamp = 0.0
        self._closed = False
        self._conn = sqlite3.connect(db_path, check_same_thread=False, timeout=10.0)
        try:
            self._conn.row_factory = sqlite3.Row
            self._conn.create_function("folio_fold", 1, search.fold, deterministic=True)
            self._conn.execute("PRAGMA journal_mode = WAL")
            # With WAL, NORMAL still survives the app being killed; only a power cut can lose
            # the last few commits.
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._recover_interrupted()
            self.purge_deleted()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._conn.execute("PRAGMA optimize")
            finally:
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Conversations

    def create_conversation(self, title: str = "") -> int:
        with self._write() as conn:
            now = self._now()
            cursor = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, ?, ?)",
                (title.strip(), now, now),
            )
            conversation_id = cursor.lastrowid
        assert conversation_id is not None
        return conversation_id

    def conversation(self, conversation_id: int) -> ConversationSummary | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM conversations AS c"
                " WHERE c.id = ? AND c.deleted_at IS NULL",
                (conversation_id,),
            ).fetchone()
        return None if row is None else _summary_from_row(row)

    def rename(self, conversation_id: int, title: str) -> None:
        name = title.strip()
        if not name:
            raise ValueError("A chat needs a name.")
        with self._write() as conn:
            self._require_conversation(conversation_id)
            conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (name, conversation_id))

    def list_conversations(self) -> list[ConversationSummary]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM conversations AS c"
                " WHERE c.deleted_at IS NULL ORDER BY c.updated_at DESC, c.id DESC"
            ).fetchall()
        return [_summary_from_row(row) for row in rows]

    def search(self, query: str) -> list[ConversationSummary]:
        """Chats whose title or messages contain ``query``, ignoring case.

        Plain words also match as word prefixes anywhere in a message ("capit france" finds
        "the capital of France"); every query also matches as a literal substring.
        """
        if not query.strip():
            return self.list_conversations()
        literal, words = search.query_parts(query)
        with self._lock:
            best_hits = search.best_message_hits(self._conn, literal, words)
            snippets = {
                conversation_id: search.snippet(self._message_content(message_id), literal, words)
                for conversation_id, message_id in best_hits.items()
            }
            summaries = self.list_conversations()
        return [
            replace(summary, snippet=snippets.get(summary.id, ""))
            for summary in summaries
            if summary.id in snippets or search.title_matches(summary.title, literal, words)
        ]

    def delete_conversation(self, conversation_id: int) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE conversations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                (self._now(), conversation_id),
            )

    def restore_conversation(self, conversation_id: int) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE conversations SET deleted_at = NULL"
                " WHERE id = ? AND deleted_at IS NOT NULL",
                (conversation_id,),
            )

    def purge_deleted(self) -> int:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM messages WHERE conversation_id IN"
                " (SELECT id FROM conversations WHERE deleted_at IS NOT NULL)"
            )
            return conn.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL").rowcount

    def settings(self, conversation_id: int) -> dict[str, Any]:
        with self._lock:
            row = self._conn.execute(
                "SELECT settings FROM conversations WHERE id = ? AND deleted_at IS NULL",
                (conversation_id,),
            ).fetchone()
        return {} if row is None else _decode_object(row["settings"])

    def set_settings(self, conversation_id: int, overrides: Mapping[str, Any]) -> None:
        """Replaces the chat's setting overrides as a whole; an empty mapping clears them."""
        encoded = _encode_object(overrides)
        with self._write() as conn:
            self._require_conversation(conversation_id)
            conn.execute(
                "UPDATE conversations SET settings = ? WHERE id = ?", (encoded, conversation_id)
            )

    # Messages

    def messages(self, conversation_id: int) -> list[Message]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages AS m WHERE m.conversation_id = ?"
                " AND m.conversation_id IN (SELECT id FROM conversations WHERE deleted_at IS NULL)"
                " ORDER BY m.position",
                (conversation_id,),
            ).fetchall()
        return [_message_from_row(row) for row in rows]

    def message(self, message_id: int) -> Message | None:
        with self._lock:
            return self._visible_message(message_id)

    def _visible_message(self, message_id: int) -> Message | None:
        row = self._conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages AS m WHERE m.id = ?"
            " AND m.conversation_id IN (SELECT id FROM conversations WHERE deleted_at IS NULL)",
            (message_id,),
        ).fetchone()
        return None if row is None else _message_from_row(row)

    def add_message(
        self,
        conversation_id: int,
        role: Role,
        content: str,
        status: MessageStatus = MessageStatus.COMPLETE,
        meta: Mapping[str, Any] | None = None,
    ) -> Message:
        with self._write() as conn:
            return self._insert_message(conn, conversation_id, role, content, status, meta)

    def _insert_message(
        self,
        conn: sqlite3.Connection,
        conversation_id: int,
        role: Role,
        content: str,
        status: MessageStatus,
        meta: Mapping[str, Any] | None,
    ) -> Message:
        role = Role(role)
        status = MessageStatus(status)
        encoded_meta = _encode_object(meta or {})
        now = self._now()
        title = self._require_conversation(conversation_id)
        position = conn.execute(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM messages WHERE conversation_id = ?",
            (conversation_id,),
        ).fetchone()[0]
        cursor = conn.execute(
            "INSERT INTO messages"
            " (conversation_id, position, role, content, status, created_at, meta)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (conversation_id, position, role, content, status, now, encoded_meta),
        )
        if role is Role.USER and not title:
            title = make_title(content)
        conn.execute(
            "UPDATE conversations SET updated_at = ?, title = ? WHERE id = ?",
            (now, title, conversation_id),
        )
        message_id = cursor.lastrowid
        assert message_id is not None
        return Message(
            id=message_id,
            conversation_id=conversation_id,
            position=int(position),
            role=role,
            content=content,
            status=status,
            created_at=now,
            meta=_decode_object(encoded_meta),
        )

    def begin_assistant_message(
        self, conversation_id: int, meta: Mapping[str, Any] | None = None
    ) -> Message:
        return self.add_message(
            conversation_id, Role.ASSISTANT, "", status=MessageStatus.STREAMING, meta=meta
        )

    def update_streaming(self, message_id: int, content: str) -> None:
        """Saves the answer so far; ignored once the message is finished or purged.

        Generation runs on another thread, so a checkpoint can arrive after the final text was
        written or after the chat was purged; neither is an error. A chat that is only deleted
        (still undoable) keeps receiving its answer, so an undo brings back everything written.
        """
        with self._write() as conn:
            conn.execute(
                "UPDATE messages SET content = ? WHERE id = ? AND status = ?",
                (content, message_id, MessageStatus.STREAMING),
            )
            faults.kill_point(faults.CHECKPOINT)  # inside the transaction, before its commit

    def finish_message(
        self,
        message_id: int,
        content: str,
        status: MessageStatus,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Writes the final text and status, merging ``meta`` into what the message had."""
        status = MessageStatus(status)
        if status is MessageStatus.STREAMING:
            raise ValueError("A finished message cannot still be streaming.")
        extra_meta = dict(meta or {})
        with self._write() as conn:
            # Deleted-but-undoable chats are written too: the answer must survive an undo.
            row = conn.execute(
                "SELECT conversation_id, meta FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                return
            merged_meta = _decode_object(row["meta"]) | extra_meta
            conn.execute(
                "UPDATE messages SET content = ?, status = ?, meta = ? WHERE id = ?",
                (content, status, _encode_object(merged_meta), message_id),
            )
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?",
                (self._now(), row["conversation_id"]),
            )

    def restart_answer(
        self, question_id: int, new_text: str | None = None, meta: Mapping[str, Any] | None = None
    ) -> Message:
        """For Regenerate and Edit: open a new streaming answer to the question ``question_id``,
        in one transaction (a crash leaves the old state or the new one, never the edited
        question followed by its old answers).

        Regenerate (``new_text`` None) keeps the answer it replaces: the new answer takes the
        old one's row, and the old one becomes one of its alternatives (unless it is empty).
        Edit changes the question, and everything after it goes, earlier answers and their
        alternatives with it: they answer a question that is no longer asked.
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT m.conversation_id, m.position, m.role, m.content, c.title"
                " FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id"
                " WHERE m.id = ? AND c.deleted_at IS NULL",
                (question_id,),
            ).fetchone()
            if row is None or row["role"] != Role.USER:
                raise LookupError(f"Message {question_id} is not a question in an open chat.")
            conversation_id = int(row["conversation_id"])
            if new_text is None:
                answer = conn.execute(
                    "SELECT id, role FROM messages WHERE conversation_id = ? AND position > ?"
                    " ORDER BY position LIMIT 1",
                    (conversation_id, row["position"]),
                ).fetchone()
                if answer is not None and answer["role"] == Role.ASSISTANT:
                    return self._reopen_answer(conn, int(answer["id"]), meta)
            else:
                conn.execute(
                    "UPDATE messages SET content = ? WHERE id = ?", (new_text, question_id)
                )
                first = conn.execute(
                    "SELECT MIN(position) FROM messages WHERE conversation_id = ? AND role = ?",
                    (conversation_id, Role.USER),
                ).fetchone()[0]
                # A title made from the first question follows it when that question is edited;
                # a title the user chose stays.
                if row["position"] == first and row["title"] == make_title(row["content"]):
                    conn.execute(
                        "UPDATE conversations SET title = ? WHERE id = ?",
                        (make_title(new_text), conversation_id),
                    )
            conn.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND position > ?",
                (conversation_id, row["position"]),
            )
            return self._insert_message(
                conn, conversation_id, Role.ASSISTANT, "", MessageStatus.STREAMING, meta
            )

    def resume_answer(self, message_id: int) -> Message:
        """For Continue: the answer ``message_id`` is being written again, its text so far kept,
        so checkpoints and the recovery after a crash work on it as on a new answer."""
        with self._write() as conn:
            message = self._visible_message(message_id)
            if message is None or message.role is not Role.ASSISTANT:
                raise LookupError(f"Message {message_id} is not an answer in an open chat.")
            conn.execute(
                "UPDATE messages SET status = ? WHERE id = ?", (MessageStatus.STREAMING, message_id)
            )
        return replace(message, status=MessageStatus.STREAMING)

    def choose_alternative(self, message_id: int, index: int) -> Message | None:
        """Show answer number ``index`` (from 0, in the order they were written) of those kept
        for the answer ``message_id``: it takes the row, with its own text, status and figures,
        and the answer shown until now becomes an alternative. None if there is no such answer,
        or the answer is still being written."""
        with self._write() as conn:
            shown = self._visible_message(message_id)
            if shown is None or not 0 <= index < shown.alternative_count:
                return None
            if shown.status is MessageStatus.STREAMING:
                return None
            if index == shown.alternative_index:
                return shown
            # The shown answer sits between the alternatives written before and after it.
            offset = index if index < shown.alternative_index else index - 1
            chosen = conn.execute(
                "SELECT id, content, status, created_at, meta FROM answer_alternatives"
                " WHERE message_id = ? ORDER BY created_at, id LIMIT 1 OFFSET ?",
                (message_id, offset),
            ).fetchone()
            self._set_aside(conn, message_id)
            self._take_alternative(conn, message_id, chosen)
            return self._visible_message(message_id)

    def restore_previous_answer(self, message_id: int) -> bool:
        """A regenerated answer that came to nothing (it failed before its first word) makes way
        for the newest of the answers it was to join; False when there are none."""
        with self._write() as conn:
            newest = conn.execute(
                "SELECT id, content, status, created_at, meta FROM answer_alternatives"
                " WHERE message_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                (message_id,),
            ).fetchone()
            if newest is None:
                return False
            self._take_alternative(conn, message_id, newest)
            return True

    def _reopen_answer(
        self, conn: sqlite3.Connection, answer_id: int, meta: Mapping[str, Any] | None
    ) -> Message:
        """The answer row ``answer_id`` empty and streaming again, its answer set aside."""
        row = conn.execute(
            "SELECT conversation_id, position FROM messages WHERE id = ?", (answer_id,)
        ).fetchone()
        # Anything after the answer followed an answer that is no longer the one shown.
        conn.execute(
            "DELETE FROM messages WHERE conversation_id = ? AND position > ?",
            (row["conversation_id"], row["position"]),
        )
        self._set_aside(conn, answer_id)
        now = self._now()
        conn.execute(
            "UPDATE messages SET content = '', status = ?, meta = ?, created_at = ? WHERE id = ?",
            (MessageStatus.STREAMING, _encode_object(meta or {}), now, answer_id),
        )
        conn.execute(
            "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, row["conversation_id"])
        )
        reopened = self._visible_message(answer_id)
        assert reopened is not None
        return reopened

    @staticmethod
    def _set_aside(conn: sqlite3.Connection, message_id: int) -> None:
        """Keep the answer in row ``message_id`` as an alternative; an empty one (stopped before
        its first word) is not worth keeping."""
        conn.execute(
            "INSERT INTO answer_alternatives (message_id, content, status, created_at, meta)"
            " SELECT id, content, status, created_at, meta FROM messages"
            " WHERE id = ? AND trim(content, char(32, 9, 10, 13)) != ''",
            (message_id,),
        )

    @staticmethod
    def _take_alternative(conn: sqlite3.Connection, message_id: int, chosen: sqlite3.Row) -> None:
        """Move the alternative ``chosen`` into the answer row ``message_id``."""
        conn.execute("DELETE FROM answer_alternatives WHERE id = ?", (chosen["id"],))
        conn.execute(
            "UPDATE messages SET content = ?, status = ?, created_at = ?, meta = ? WHERE id = ?",
            (chosen["content"], chosen["status"], chosen["created_at"], chosen["meta"], message_id),
        )

    def truncate_after(self, conversation_id: int, position: int) -> int:
        """Deletes every message after ``position``, as when a question is edited and resent."""
        with self._write() as conn:
            if self._visible_title(conversation_id) is None:
                return 0
            removed = conn.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND position > ?",
                (conversation_id, position),
            ).rowcount
            if removed:
                conn.execute(
                    "UPDATE conversations SET updated_at = ? WHERE id = ?",
                    (self._now(), conversation_id),
                )
        return removed

    # Export

    def export_markdown(self, conversation_id: int) -> str:
        with self._lock:
            summary = self.conversation(conversation_id)
            if summary is None:
                return ""
            return export.as_markdown(summary, self.messages(conversation_id))

    def export_json(self, conversation_id: int) -> dict[str, Any]:
        with self._lock:
            summary = self.conversation(conversation_id)
            if summary is None:
                return {}
            return export.as_json(summary, self.messages(conversation_id))

    # Internals

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so a read-then-write (the next position, the
        # merged meta) cannot fail half-way when another process writes to the same file.
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            yield self._conn

    def _now(self) -> float:
        # Strictly increasing, so "most recently updated" stays well-defined for changes made
        # within one tick of the clock.
        with self._lock:
            self._last_timestamp = max(time.time(), self._last_timestamp + 1e-6)
            return self._last_timestamp

    def _migrate(self) -> None:
        while True:
            with self._write() as conn:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"The chat history at {self._path} was written by a newer"
                        " version of Folio; update Folio to open it."
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")

    def _recover_interrupted(self) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE messages SET status = ? WHERE status = ?",
                (MessageStatus.INTERRUPTED, MessageStatus.STREAMING),
            )

    def _visible_title(self, conversation_id: int) -> str | None:
        row = self._conn.execute(
            "SELECT title FROM conversations WHERE id = ? AND deleted_at IS NULL",
            (conversation_id,),
        ).fetchone()
        return None if row is None else str(row["title"])

    def _require_conversation(self, conversation_id: int) -> str:
        title = self._visible_title(conversation_id)
        if title is None:
            raise LookupError(f"Chat {conversation_id} does not exist or was deleted.")
        return title

    def _message_content(self, message_id: int) -> str:
        row = self._conn.execute(
            "SELECT content FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        return "" if row is None else str(row["content"])


def _encode_object(value: Mapping[str, Any]) -> str:
    # default=float turns numpy-style scalars into plain numbers instead of failing.
    return json.dumps(dict(value), default=float, ensure_ascii=False)


def _decode_object(text: str) -> dict[str, Any]:
    decoded = json.loads(text) if text else {}
    return decoded if isinstance(decoded, dict) else {}


def _summary_from_row(row: sqlite3.Row) -> ConversationSummary:
    return ConversationSummary(
        id=int(row["id"]),
        title=str(row["title"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        message_count=int(row["message_count"]),
    )


def _message_from_row(row: sqlite3.Row) -> Message:
    return Message(
        id=int(row["id"]),
        conversation_id=int(row["conversation_id"]),
        position=int(row["position"]),
        role=Role(row["role"]),
        content=str(row["content"]),
        status=MessageStatus(row["status"]),
        created_at=float(row["created_at"]),
        meta=_decode_object(row["meta"]),
        alternative_index=int(row["earlier_alternatives"]),
        alternative_count=1 + int(row["alternatives"]),
    )
