"""One run of Folio's writing work, to be killed at any moment by the crash-consistency tests:
a settings save, a conversation with streamed answers, a model download from loopback, and
indexing a folder of documents. Every message whose write returned is appended to
``completed.log`` (flushed to disk) so that the checker knows what must have survived.

    python -m tests.support.crash_driver HOME DOCS
"""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
from pathlib import Path

from desktop.core.chat.messages import MessageStatus, Role
from desktop.core.chat.store import ConversationStore
from desktop.core.documents.session import LibrarySession
from desktop.core.locks import WriterLock
from desktop.core.models.download import download
from desktop.core.paths import app_paths
from desktop.core.settings.store import load_settings, update_settings
from tests.support.models import write_gguf

COMPLETED_LOG = "completed.log"


def _completed(home: Path, message_id: int) -> None:
    with (home / COMPLETED_LOG).open("a", encoding="utf-8") as log:
        log.write(f"{message_id}\n")
        log.flush()
        os.fsync(log.fileno())


def _settings(settings_file: Path) -> None:
    runs = load_settings(settings_file).settings.value("seed")
    update_settings(settings_file, lambda s: s.with_values({"seed": runs + 1}))


def _conversation(home: Path, database: Path) -> None:
    store = ConversationStore(database)
    try:
        conversation = store.create_conversation()
        for turn in range(3):
            question = store.add_message(conversation, Role.USER, f"Question {turn} about ferries?")
            _completed(home, question.id)
            answer = store.begin_assistant_message(conversation)
            text = ""
            for word in ("Ferries", " leave", " every", " hour", " from", " the", " harbour."):
                text += word
                store.update_streaming(answer.id, text)
            store.finish_message(answer.id, text, MessageStatus.COMPLETE)
            _completed(home, answer.id)
    finally:
        store.close()


def _download(models: Path, served: Path) -> None:
    write_gguf(served / "tiny.gguf", "llama")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        if not (models / "tiny.gguf").exists():
            download(f"http://127.0.0.1:{server.server_address[1]}/tiny.gguf", models)
    finally:
        server.shutdown()
        server.server_close()


def main(home: Path, docs: Path) -> int:
    os.environ["FOLIO_HOME"] = str(home)
    paths = app_paths().ensure()
    lock = WriterLock(paths.data, "crash driver")
    lock.acquire()
    _settings(paths.settings_file)
    _conversation(home, paths.conversations_db)
    served = home / "served"
    served.mkdir(exist_ok=True)
    _download(paths.models, served)
    # As the window has it: the vector store in a process of its own, killed with this one.
    session = LibrarySession(paths.data / "library", paths.cache, vectors_apart=True)
    session.open(None)
    library = session.library
    assert library is not None
    library.add([docs])
    library.index_queued()
    session.close()
    lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
