"""The chat history file's tables, version by version.

``ConversationStore`` opens a file of any earlier version and runs the statements that take it to
the next one, each version in its own transaction, so an old file is upgraded in place and
keeps every chat.
"""

from __future__ import annotations

# Each entry upgrades the file by one version: MIGRATIONS[0] takes version 0 (a new file) to 1.
# Statements are listed one by one because executescript() would commit mid-migration.
SCHEMA_V1: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        -- AUTOINCREMENT: an id is never reused after a delete, so nothing that remembers an id
        -- (an undo, an open view, an export) can end up pointing at a different chat.
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        deleted_at REAL,
        settings TEXT NOT NULL DEFAULT '{}'
    )
    """,
    """
    CREATE INDEX conversations_by_update
        ON conversations (updated_at DESC) WHERE deleted_at IS NULL
    """,
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        UNIQUE (conversation_id, position)
    )
    """,
    # Startup recovery looks for answers left streaming; this keeps that lookup off a full scan.
    "CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming'",
    """
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        content,
        content = 'messages',
        content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER messages_fts_after_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
    END
    """,
    """
    CREATE TRIGGER messages_fts_after_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
    END
    """,
    """
    CREATE TRIGGER messages_fts_after_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
        INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
    END
    """,
)

# Version 2: Regenerate keeps the answers it replaces. The answer a chat shows (and search finds,
# and later prompts and exports use) stays in ``messages``; the others to the same question wait
# here, each a whole answer with its own status and figures, until they are chosen instead (the
# two swap places) or their answer row goes (an edit, a purged chat).
SCHEMA_V2: tuple[str, ...] = (
    """
    CREATE TABLE answer_alternatives (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        content TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}'
    )
    """,
    # Answers are numbered in the order they were written, so the lookup is by both.
    "CREATE INDEX answer_alternatives_by_message ON answer_alternatives (message_id, created_at)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (SCHEMA_V1, SCHEMA_V2)
SCHEMA_VERSION = len(MIGRATIONS)
