"""The first start as a person meets it: a welcome that offers to add documents, and a data
folder that cannot be written told in a dialog, not a traceback."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from desktop import app as entry
from desktop.core.locks import WriterLock, is_locked
from desktop.core.paths import app_paths
from desktop.ui import application
from desktop.ui.chat.view import ChatView
from desktop.ui.chat.welcome import ADD_DOCUMENTS_URL
from tests.ui.conftest import WindowFactory


def _read_only_holds() -> bool:
    """Whether a read-only folder stops this process writing (root's, as a rule, does not)."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        folder.chmod(0o500)
        try:
            (folder / "probe").touch()
        except PermissionError:
            return True
        finally:
            folder.chmod(0o700)
        return False


needs_permissions = pytest.mark.skipif(
    not _read_only_holds(), reason="this user writes to read-only folders (root)"
)


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The messages the window's start shows, recorded instead of waiting for a click."""
    messages: list[str] = []

    def record(_parent: QWidget | None, message: str, title: str = "Folio") -> None:
        messages.append(message)

    monkeypatch.setattr(application, "show_error", record)
    # The crash dialog's hook is installed once the folders are writable; keep it to this test.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    return messages


def start() -> int:
    """``folio`` with no arguments, as the desktop entry runs it (on the tests' QApplication)."""
    return entry.main([])


# -- the welcome ----------------------------------------------------------------------------------


def test_the_welcome_says_what_folio_is_and_offers_documents(qtbot: QtBot) -> None:
    view = ChatView(offer_documents=True)
    qtbot.addWidget(view)
    view.show_messages([])
    text = view.toPlainText()
    assert "Ask anything." in text
    assert "running on this computer" in text
    assert "Add documents…" in text
    with qtbot.waitSignal(view.add_documents_requested, timeout=1000):
        view.anchorClicked.emit(QUrl(ADD_DOCUMENTS_URL))


def test_without_a_library_the_welcome_offers_no_documents(qtbot: QtBot) -> None:
    view = ChatView()
    qtbot.addWidget(view)
    view.show_messages([])
    assert "Ask anything." in view.toPlainText()
    assert "Add documents" not in view.toPlainText()


def test_the_welcome_counts_the_documents_ready_to_ask_about(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window(with_library=True)
    library = window.library
    assert library is not None
    notes = tmp_path / "notes.txt"
    notes.write_text("The harbour board approved the budget for the new pier after a debate.")
    with qtbot.waitSignal(library.indexing_finished, timeout=60_000):
        library.add([notes])

    def counted() -> None:
        assert "Ask about your 1 document too" in window.chat_view.toPlainText()

    qtbot.waitUntil(counted, timeout=10_000)
    assert "Add more…" in window.chat_view.toPlainText()


def test_add_documents_in_the_welcome_opens_the_library_and_the_file_picker(
    make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def pick(_parent: QWidget, caption: str, *_args: object) -> tuple[list[str], str]:
        asked.append(caption)
        return [], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", pick)
    window = make_window(with_library=True)
    assert window.library_pane is not None
    assert not window.library_pane.isVisible()
    welcome = window.chat_view.toPlainText()
    assert "Add documents…" in welcome
    assert str(app_paths().logs) not in welcome
    assert window.error_banner.isHidden()

    window.chat_view.anchorClicked.emit(QUrl(ADD_DOCUMENTS_URL))

    assert asked == ["Add documents"]
    assert window.library_pane.isVisible()
    assert window.header.library_button.isChecked()


# -- a data folder that cannot be written ---------------------------------------------------------


def test_a_data_folder_that_is_a_file_is_told_in_a_dialog(
    qapp: QApplication, folio_home: Path, shown: list[str]
) -> None:
    folio_home.mkdir()
    (folio_home / "data").write_text("not a folder", encoding="utf-8")

    assert start() == 1

    assert shown == [
        f"Folio cannot write to {folio_home / 'data'}: it is a file, not a folder. Move the file "
        "elsewhere, or set FOLIO_HOME to another folder."
    ]


def test_a_folio_home_that_is_a_file_logs_to_stderr_and_is_told_in_a_dialog(
    qapp: QApplication, folio_home: Path, shown: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    folio_home.write_text("not a folder", encoding="utf-8")

    assert start() == 1

    assert len(shown) == 1
    assert shown[0].startswith(f"Folio cannot write to {folio_home}: it is a file, not a folder.")
    # With no log file to open, the reason is still written somewhere a person can find it.
    assert "cannot write to the data folders" in capsys.readouterr().err


@needs_permissions
def test_a_read_only_folio_home_is_told_in_a_dialog(
    qapp: QApplication, folio_home: Path, shown: list[str]
) -> None:
    folio_home.mkdir(mode=0o500)
    try:
        assert start() == 1
    finally:
        folio_home.chmod(0o700)

    assert shown == [
        f"Folio cannot write to {folio_home}: Permission denied. Make the folder writable, or set "
        "FOLIO_HOME to another folder."
    ]


@needs_permissions
def test_a_read_only_data_folder_is_not_taken_for_folio_already_running(
    qapp: QApplication, shown: list[str]
) -> None:
    # The folders exist (an earlier start made them); only the lock file cannot be created.
    paths = app_paths().ensure()
    paths.data.chmod(0o500)
    try:
        assert start() == 1
    finally:
        paths.data.chmod(0o700)

    assert len(shown) == 1
    assert shown[0].startswith(f"Folio cannot write to {paths.data}: Permission denied.")


def test_a_full_disk_when_writing_the_default_settings_is_told_in_a_dialog(
    qapp: QApplication, shown: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(_settings: object, path: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(application, "save_settings", full_disk)

    assert start() == 1

    assert shown == [
        f"Folio cannot write to {app_paths().config}: {os.strerror(errno.ENOSPC)}. Free some "
        "space on that disk, or set FOLIO_HOME to another folder."
    ]
    # The lock was let go: the next start, on a disk with room, is not "already running".
    assert not is_locked(app_paths().data)


def test_a_window_while_folio_index_writes_says_who_holds_the_folder(
    qapp: QApplication, shown: list[str]
) -> None:
    paths = app_paths().ensure()
    indexer = WriterLock(paths.data, "“folio index”")
    indexer.acquire()  # another open file description: refused as another process would be
    try:
        assert start() == 1
    finally:
        indexer.release()

    assert len(shown) == 1
    assert shown[0].startswith(f"Folio cannot open while “folio index” (process {os.getpid()}, ")
    assert "only one program may change it at a time" in shown[0]
