from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.core.chat.store import ConversationStore
from desktop.core.llm.engine import ChatEngine
from desktop.core.paths import app_paths
from desktop.core.settings.schema import Settings
from desktop.ui.application import configure_application
from desktop.ui.library.service import LibraryService
from desktop.ui.main_window import MainWindow

WindowFactory = Callable[..., MainWindow]

FAST = {"max_tokens": 40, "context_length": 2048, "seed": 7, "temperature": 0.0}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A folder for the user's documents, with a space in its name as many have."""
    folder = tmp_path / "my documents"
    folder.mkdir()
    return folder


@pytest.fixture
def make_window(
    qtbot: QtBot, starter_model: Path, starter_embedder_file: Path
) -> Iterator[WindowFactory]:
    """Real windows on a real engine with the starter model, in this test's FOLIO_HOME;
    ``with_library=True`` adds the document library with the real starter embedder."""
    opened: list[tuple[MainWindow, ChatEngine, ConversationStore, LibraryService | None]] = []

    def make(with_library: bool = False, **overrides: object) -> MainWindow:
        paths = app_paths().ensure()
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        configure_application(app, paths)
        settings = Settings().with_values({**FAST, **overrides})
        store = ConversationStore(paths.conversations_db)
        engine = ChatEngine()
        library = LibraryService(paths) if with_library else None
        window = MainWindow(paths, settings, store, engine, library)
        opened.append((window, engine, store, library))
        window.show()
        with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
            window.load_initial_model()
        if library is not None:
            with qtbot.waitSignal(library.opened, timeout=60_000):
                library.open(starter_embedder_file)
        return window

    yield make
    for window, engine, store, library in reversed(opened):
        if window.isVisible():
            window.close()
        if library is not None:
            library.close()
        engine.close()
        store.close()
        # Gone now, on the GUI thread: left to the garbage collector, a window (its parts refer
        # to each other) could be destroyed later on whichever thread collects, a worker's.
        if shiboken6.isValid(window):
            shiboken6.delete(window)
        if library is not None and shiboken6.isValid(library):
            shiboken6.delete(library)


def quit_window(window: MainWindow) -> None:
    """What quitting the app does: close the window, then free the engine and the store."""
    window.close()
    window.engine.close()
    window.store.close()
