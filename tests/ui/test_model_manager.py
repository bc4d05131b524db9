"""The Models window, driven as a user would: real GGUF files, a real download over loopback."""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.core.formatting import parameters_text, size_text
from desktop.core.models import memory
from desktop.core.models.catalog import CatalogEntry, load_catalog
from desktop.core.models.download import (
    DownloadProgress,
    download_request,
    partial_path,
)
from desktop.core.models.memory import AttentionShape
from desktop.core.models.registry import Fit, scan
from desktop.ui.appearance import colors
from desktop.ui.models.download_state import DownloadState, DownloadTracker
from desktop.ui.models.folder_scan import scan_folder
from desktop.ui.models.manager import ModelManager
from desktop.ui.models.tables import CatalogTable, InstalledModelTable
from desktop.ui.models.words import FIT_COLOURS, describe_memory, describe_transfer
from desktop.ui.widgets.record_table import BADGE_ROLE

GB = 1_000_000_000
TIMEOUT = 60_000
# Past this point the server trickles until the test lets it go on, so that the window is seen
# mid-download however fast loopback is.
GATE_BYTES = 4_000_000
TRICKLE_SECONDS = 0.02

ManagerFactory = Callable[..., ModelManager]


class Dialogs:
    """What the window asked and told; questions are answered with ``answer``."""

    def __init__(self) -> None:
        self.questions: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.answer = QMessageBox.StandardButton.Yes


@pytest.fixture(autouse=True)
def dialogs(monkeypatch: pytest.MonkeyPatch) -> Dialogs:
    """No test waits on a modal box: questions are answered, error boxes recorded."""
    seen = Dialogs()

    def question(_parent: Any, title: str, text: str, *_args: Any) -> QMessageBox.StandardButton:
        seen.questions.append((title, text))
        return seen.answer

    def shown(box: QMessageBox) -> int:
        seen.errors.append(box.text())
        return int(QMessageBox.StandardButton.Ok)

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "exec", shown)
    return seen


@pytest.fixture(autouse=True)
def free_memory(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """The memory free “now”, fixed so that what fits does not depend on the test machine."""
    amount = [8 * GB]
    monkeypatch.setattr(memory, "available_memory_bytes", lambda *_args: amount[0])
    return lambda value: amount.__setitem__(0, value)


@pytest.fixture
def models_folder(folio_home: Path) -> Path:
    folder = folio_home / "data" / "models"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def make_manager(qtbot: QtBot, models_folder: Path) -> Iterator[ManagerFactory]:
    opened: list[ModelManager] = []

    def make(
        known: list[Path] | None = None,
        chat: Path | None = None,
        embedding: Path | None = None,
        catalog: list[CatalogEntry] | None = None,
        context: int = 4096,
    ) -> ModelManager:
        manager = ModelManager(
            models_folder,
            lambda: list(known or []),
            lambda: context,
            lambda: chat,
            lambda: embedding,
            catalog=[] if catalog is None else catalog,
        )
        qtbot.addWidget(manager)
        opened.append(manager)
        with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
            manager.show()
        return manager

    yield make
    for manager in opened:
        manager.shutdown()


def plain(label: QLabel) -> str:
    """What a rich-text label reads as."""
    return QTextDocumentFragment.fromHtml(label.text()).toPlainText()


def table_rows(manager: ModelManager) -> dict[str, list[str]]:
    model = manager.installed_tab.proxy
    rows: dict[str, list[str]] = {}
    for row in range(model.rowCount()):
        cells = [model.index(row, column).data() for column in range(model.columnCount())]
        rows[cells[0]] = cells
    return rows


def row_index(manager: ModelManager, name: str, column: int = 0) -> Any:
    model = manager.installed_tab.proxy
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == name:
            return model.index(row, column)
    raise AssertionError(f"{name} is not listed")


def select(manager: ModelManager, path: Path) -> None:
    assert manager.select_model(path), f"{path.name} is not listed"
    entry = manager.selected_entry()
    assert entry is not None and entry.path == path


def refresh_and_wait(qtbot: QtBot, manager: ModelManager) -> None:
    with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
        manager.refresh()


# -- the list -----------------------------------------------------------------------------------


def test_the_starter_model_is_listed_with_its_header_facts_and_fit(
    make_manager: ManagerFactory, starter_model: Path
) -> None:
    manager = make_manager(known=[starter_model])
    installed = manager.installed_tab

    rows = table_rows(manager)
    name = starter_model.stem
    assert list(rows) == [name]
    cells = rows[name]
    assert cells[InstalledModelTable.KIND] == "Chat"
    assert cells[InstalledModelTable.PARAMETERS] == "135 M"
    assert cells[InstalledModelTable.QUANTIZATION] == "Q4_1"
    assert cells[InstalledModelTable.CONTEXT] == "8,192"
    assert cells[InstalledModelTable.SIZE] == size_text(starter_model.stat().st_size)
    assert cells[InstalledModelTable.FIT] == "Fits"
    fit = row_index(manager, name, InstalledModelTable.FIT)
    assert fit.data(Qt.ItemDataRole.ForegroundRole).name() == colors()[FIT_COLOURS[Fit.FITS]]
    assert installed.stack.currentWidget() is installed.table
    assert manager.tabs.tabText(0) == "Installed (1)"
    assert "4,096 tokens of context" in installed.summary_label.text()
    assert not installed.unusable_label.isVisible()


def test_what_does_not_fit_in_the_free_memory_says_so_in_red(
    make_manager: ManagerFactory,
    starter_model: Path,
    free_memory: Callable[[int], None],
    dialogs: Dialogs,
) -> None:
    free_memory(200_000_000)
    manager = make_manager(known=[starter_model])
    installed = manager.installed_tab
    details = installed.details

    assert table_rows(manager)[starter_model.stem][InstalledModelTable.FIT] == "Won't fit"
    fit = row_index(manager, starter_model.stem, InstalledModelTable.FIT)
    assert fit.data(Qt.ItemDataRole.ForegroundRole).name() == colors()["danger"]
    select(manager, starter_model)
    assert "200 MB free now → Won't fit" in plain(details.memory_label)
    assert "lower the context length" in plain(details.memory_label)

    # Choosing it anyway is a decision the window asks about.
    dialogs.answer = QMessageBox.StandardButton.No
    chosen: list[Path] = []
    manager.chat_model_chosen.connect(chosen.append)
    details.use_chat_button.click()
    assert chosen == [] and "Not enough memory" in dialogs.questions[-1][0]


def test_a_truncated_copy_is_listed_apart_with_its_reason(
    make_manager: ManagerFactory, starter_model: Path, models_folder: Path
) -> None:
    (models_folder / "half.gguf").write_bytes(starter_model.read_bytes()[:5_000_000])

    manager = make_manager(known=[starter_model])
    installed = manager.installed_tab

    assert list(table_rows(manager)) == [starter_model.stem]
    assert installed.unusable_label.isVisible()
    text = installed.unusable_label.text()
    assert "half.gguf" in text and "truncated" in text


def test_an_empty_models_folder_says_where_it_is_and_what_to_do(
    make_manager: ManagerFactory, models_folder: Path
) -> None:
    manager = make_manager()
    installed = manager.installed_tab

    assert installed.stack.currentWidget() is installed.empty_box
    text = plain(installed.empty_label)
    assert "No models yet" in text and str(models_folder) in text
    assert installed.empty_import_button.isVisible() and installed.empty_download_button.isVisible()
    installed.empty_download_button.click()
    assert manager.tabs.currentWidget() is manager.download_tab


def test_selecting_a_model_shows_its_facts_and_what_it_needs(
    make_manager: ManagerFactory, starter_model: Path, templateless_model: Path
) -> None:
    manager = make_manager(known=[starter_model, templateless_model], context=2048)
    installed = manager.installed_tab
    details = installed.details
    (entry,), _ = scan(Path("/nonexistent"), [starter_model], 2048)

    select(manager, starter_model)

    assert details.isVisible()
    assert details.detail_title.text() == starter_model.stem
    line = plain(details.memory_label)
    assert describe_memory(entry).rpartition("→")[0] in line
    estimate = entry.estimate
    assert f"Needs about {estimate.required_bytes / 1e6:,.0f} MB" in line
    assert f"weights {estimate.weights_bytes / 1e6:,.0f} MB" in line
    assert f"KV cache {estimate.kv_cache_bytes / 1e6:,.0f} MB at 2,048 tokens" in line
    assert f"overhead {estimate.overhead_bytes / 1e6:,.0f} MB" in line
    assert "8.0 GB free now" in line and "Fits" in line
    assert details.architecture_value.text() == "llama"
    assert details.quantization_value.text() == "Q4_1"
    assert details.parameters_value.text().startswith(parameters_text(entry.parameters))
    assert details.context_value.text() == "8,192 tokens"
    assert details.template_value.text() == "Yes"
    assert details.licence_value.text() == "apache-2.0"
    assert details.path_value.text() == str(starter_model)
    assert not details.template_note.isVisible()

    select(manager, templateless_model)
    assert details.architecture_value.text() == "gemma3"
    assert details.template_value.text().startswith("No")
    assert details.template_note.isVisible()
    assert "not tuned for conversation" in details.template_note.text()


def test_use_for_chat_and_for_documents_send_the_chosen_file(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    starter_model: Path,
    starter_embedder_file: Path,
    models_folder: Path,
) -> None:
    copy = models_folder / "my-chat.gguf"
    shutil.copy(starter_model, copy)
    manager = make_manager(known=[starter_model, starter_embedder_file], chat=starter_model)
    installed = manager.installed_tab
    details = installed.details

    assert table_rows(manager)[starter_embedder_file.stem][InstalledModelTable.KIND] == "Embedding"
    in_use = row_index(manager, starter_model.stem).data(BADGE_ROLE)
    assert in_use is not None and in_use[0] == "In use for chat"
    assert row_index(manager, "my-chat").data(BADGE_ROLE) is None

    select(manager, starter_model)
    assert not details.use_chat_button.isEnabled(), "it is the chat model already"
    select(manager, copy)
    assert details.use_chat_button.isEnabled()
    assert not details.use_documents_button.isEnabled()
    with qtbot.waitSignal(manager.chat_model_chosen) as chat:
        qtbot.mouseClick(details.use_chat_button, Qt.MouseButton.LeftButton)
    assert chat.args == [copy]

    select(manager, starter_embedder_file)
    assert not details.use_chat_button.isEnabled()
    assert details.use_documents_button.isEnabled()
    assert "cannot chat" in details.template_note.text()
    with qtbot.waitSignal(manager.embedding_model_chosen) as documents:
        qtbot.mouseClick(details.use_documents_button, Qt.MouseButton.LeftButton)
    assert documents.args == [starter_embedder_file]


# -- deleting -----------------------------------------------------------------------------------


def test_delete_asks_first_and_removes_a_copy_in_the_models_folder(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    starter_model: Path,
    models_folder: Path,
    dialogs: Dialogs,
) -> None:
    copy = models_folder / "spare.gguf"
    shutil.copy(starter_model, copy)
    manager = make_manager(known=[starter_model])
    installed = manager.installed_tab
    details = installed.details
    select(manager, copy)
    assert details.delete_button.isEnabled()

    dialogs.answer = QMessageBox.StandardButton.No
    details.delete_button.click()
    assert copy.is_file(), "answering No keeps the file"
    title, text = dialogs.questions[-1]
    assert title == "Delete model"
    assert "spare.gguf" in text and size_text(copy.stat().st_size) in text

    # The Delete key does the same as the button.
    dialogs.answer = QMessageBox.StandardButton.Yes
    manager.activateWindow()
    qtbot.waitUntil(manager.isActiveWindow)
    installed.table.setFocus()
    with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
        qtbot.keyClick(installed.table, Qt.Key.Key_Delete)

    assert len(dialogs.questions) == 2
    assert not copy.exists()
    assert list(table_rows(manager)) == [starter_model.stem]
    assert starter_model.is_file()


def test_delete_is_refused_for_models_in_use_and_files_outside_the_folder(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    starter_model: Path,
    models_folder: Path,
    tmp_path: Path,
    dialogs: Dialogs,
) -> None:
    elsewhere = tmp_path / "elsewhere" / "mine.gguf"
    elsewhere.parent.mkdir()
    shutil.copy(starter_model, elsewhere)
    in_use = models_folder / "chatting.gguf"
    shutil.copy(starter_model, in_use)
    manager = make_manager(known=[starter_model, elsewhere], chat=in_use)
    installed = manager.installed_tab
    details = installed.details

    for path, reason in (
        (starter_model, "starter model"),
        (elsewhere, "not in the models folder"),
        (in_use, "in use for chat"),
    ):
        select(manager, path)
        assert not details.delete_button.isEnabled(), path
        assert not installed.delete_action.isEnabled(), path
        assert reason in details.delete_button.toolTip()
        installed.delete_action.trigger()
    assert dialogs.questions == []
    assert starter_model.is_file() and elsewhere.is_file() and in_use.is_file()


# -- importing ----------------------------------------------------------------------------------


def choose_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *_args, **_kwargs: (str(path), "GGUF models")
    )


def test_import_copies_a_model_into_the_folder_and_selects_it(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    starter_model: Path,
    models_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manager = make_manager()
    installed = manager.installed_tab
    assert installed.stack.currentWidget() is installed.empty_box
    choose_file(monkeypatch, starter_model)

    with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
        qtbot.mouseClick(installed.empty_import_button, Qt.MouseButton.LeftButton)

    copied = models_folder / starter_model.name
    assert copied.is_file() and not copied.is_symlink()
    assert copied.stat().st_size == starter_model.stat().st_size
    entry = manager.selected_entry()
    assert entry is not None and entry.path == copied
    assert installed.stack.currentWidget() is installed.table
    assert installed.import_button.isEnabled()


def test_import_can_link_and_reports_a_file_that_is_not_a_model(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    starter_model: Path,
    models_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dialogs: Dialogs,
) -> None:
    manager = make_manager()
    installed = manager.installed_tab
    details = installed.details
    choose_file(monkeypatch, starter_model)
    installed.link_box.setChecked(True)
    with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
        installed.import_button.click()
    linked = models_folder / starter_model.name
    assert linked.is_symlink() and linked.resolve() == starter_model.resolve()
    assert "a link to" in details.path_value.text()

    fake = tmp_path / "notes.gguf"
    fake.write_text("just some notes")
    choose_file(monkeypatch, fake)
    installed.import_button.click()
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=TIMEOUT)
    assert "not a GGUF" in dialogs.errors[0]
    assert not (models_folder / "notes.gguf").exists()
    assert installed.import_button.isEnabled()


# -- downloading --------------------------------------------------------------------------------


class ModelServer:
    """Serves one file over loopback, with HTTP Range, holding the first response at a gate."""

    def __init__(self, payload: bytes, gated: bool) -> None:
        self.payload = payload
        self.release = threading.Event()
        if not gated:
            self.release.set()
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                wanted = self.headers.get("Range")
                server.ranges.append(wanted)
                start = int(wanted.removeprefix("bytes=").split("-")[0]) if wanted else 0
                body = server.payload
                self.send_response(206 if start else 200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(body) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                position = start
                try:
                    while position < len(body):
                        size = 256 * 1024
                        if position >= GATE_BYTES and not server.release.is_set():
                            # A trickle until released: the window keeps reporting progress.
                            server.release.wait(TRICKLE_SECONDS)
                            size = 32 * 1024
                        chunk = body[position : position + size]
                        self.wfile.write(chunk)
                        position += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # The download was paused or cancelled.

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = False
            block_on_close = True

        self.http = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, name="test-model-server")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/files/{name}"

    def close(self) -> None:
        self.release.set()
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def payload() -> bytes:
    from desktop.core.models.starter import starter_model_path

    path = starter_model_path()
    assert path is not None
    return path.read_bytes()


@pytest.fixture
def serve(payload: bytes) -> Iterator[Callable[..., ModelServer]]:
    started: list[ModelServer] = []

    def start(gated: bool = True) -> ModelServer:
        server = ModelServer(payload, gated)
        server.thread.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def catalog_entry(server: ModelServer, payload: bytes, sha256: str | None = None) -> CatalogEntry:
    return CatalogEntry(
        name="Served SmolLM2",
        filename="served-smollm2.gguf",
        url=server.url("served-smollm2.gguf"),
        size_bytes=len(payload),
        sha256=sha256 or hashlib.sha256(payload).hexdigest(),
        licence="apache-2.0",
        description="The starter model, served from this machine.",
        kind="chat",
    )


def start_catalog_download(manager: ModelManager, entry: CatalogEntry) -> None:
    manager.tabs.setCurrentWidget(manager.download_tab)
    assert manager.select_catalog_entry(entry.filename)
    assert manager.download_tab.catalog_download_button.isEnabled()
    assert entry.name in plain(manager.download_tab.catalog_detail)
    manager.download_tab.catalog_download_button.click()
    assert manager.download_box.isVisible()


def wait_for_progress(qtbot: QtBot, manager: ModelManager) -> None:
    """Until the progress line shows bytes arriving.

    Progress signals come often from the download thread; they are not waited on with
    ``waitSignal``, whose temporary receiver could be gone before the last queued one arrives.
    """
    qtbot.waitUntil(lambda: "B/s · " in manager.download_box.label.text(), timeout=TIMEOUT)


def test_a_catalog_download_shows_progress_and_ends_with_the_model_listed(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    serve: Callable[..., ModelServer],
    payload: bytes,
    models_folder: Path,
) -> None:
    server = serve()
    entry = catalog_entry(server, payload)
    manager = make_manager(catalog=[entry])
    downloads = manager.download_tab
    box = manager.download_box
    assert downloads.catalog.rowCount() == 1

    start_catalog_download(manager, entry)
    wait_for_progress(qtbot, manager)

    total = f"{len(payload) / 1e6:,.0f} MB"
    assert f" of {total} · " in box.label.text()
    assert re.search(r"· [\d.,]+ [KM]B/s · about \d+ (s|min) left$", box.label.text())
    assert 0 < box.bar.value() < box.bar.maximum()
    assert box.title.text() == "Downloading “Served SmolLM2”"
    assert not downloads.catalog_download_button.isEnabled(), "one download at a time"
    assert list(table_rows(manager)) == [], "nothing half-downloaded is listed"

    server.release.set()
    target = models_folder / entry.filename
    qtbot.waitUntil(
        lambda: (selected := manager.selected_entry()) is not None and selected.path == target,
        timeout=TIMEOUT,
    )

    assert target.read_bytes() == payload
    assert not partial_path(models_folder, entry.filename).exists()
    assert manager.tabs.currentWidget() is manager.installed_tab
    assert not box.isVisible()
    assert list(table_rows(manager)) == ["served-smollm2"]
    assert downloads.catalog.index(0, 0).data(BADGE_ROLE)[0] == "Installed"
    manager.select_catalog_entry(entry.filename)
    assert downloads.catalog_download_button.text() == "Installed"
    assert not downloads.catalog_download_button.isEnabled()


def test_a_wrong_checksum_is_reported_in_place_and_nothing_is_listed(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    serve: Callable[..., ModelServer],
    starter_model: Path,
    models_folder: Path,
    dialogs: Dialogs,
) -> None:
    server = serve(gated=False)
    manager = make_manager(known=[starter_model])
    downloads = manager.download_tab
    box = manager.download_box
    manager.tabs.setCurrentWidget(manager.download_tab)

    downloads.url_edit.setText(server.url("from-the-web.gguf"))
    downloads.sha_edit.setText("0" * 64)
    downloads.url_download_button.click()
    qtbot.waitUntil(lambda: "was not downloaded" in box.title.text(), timeout=TIMEOUT)

    assert box.title.text() == "“from-the-web.gguf” was not downloaded"
    assert box.label.isVisible()
    assert "checksum mismatch" in box.label.text()
    assert box.label.property("tone") == "error"
    assert not box.bar.isVisible()
    assert dialogs.errors == [], "the reason is shown in the window, not in a box"
    assert sorted(path.name for path in models_folder.iterdir()) == []
    refresh_and_wait(qtbot, manager)
    assert list(table_rows(manager)) == [starter_model.stem]


def test_a_web_address_that_is_not_a_model_file_is_refused_in_place(
    make_manager: ManagerFactory,
) -> None:
    manager = make_manager()
    downloads = manager.download_tab
    box = manager.download_box
    manager.tabs.setCurrentWidget(manager.download_tab)

    downloads.url_edit.setText("https://example.org/models/page.html")
    downloads.url_download_button.click()
    assert downloads.url_message.isVisible() and ".gguf" in downloads.url_message.text()

    downloads.url_edit.setText("https://example.org/models/tiny.gguf")
    downloads.sha_edit.setText("not-a-checksum")
    downloads.url_download_button.click()
    assert "64 hexadecimal characters" in downloads.url_message.text()
    assert not box.isVisible()


def test_pause_keeps_what_arrived_and_resume_goes_on_from_there(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    serve: Callable[..., ModelServer],
    payload: bytes,
    models_folder: Path,
) -> None:
    server = serve()
    entry = catalog_entry(server, payload)
    manager = make_manager(catalog=[entry])
    installed = manager.installed_tab
    downloads = manager.download_tab
    box = manager.download_box
    start_catalog_download(manager, entry)
    wait_for_progress(qtbot, manager)

    qtbot.mouseClick(box.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.title.text().startswith("Paused"), timeout=TIMEOUT)

    partial = partial_path(models_folder, entry.filename)
    kept = partial.stat().st_size
    assert 0 < kept < len(payload)
    assert box.pause_button.text() == "Resume"
    assert "Resume goes on from there" in box.label.text()
    assert not (models_folder / entry.filename).exists()
    assert downloads.catalog.index(0, 0).data(BADGE_ROLE)[0] == "Partly downloaded"

    target = models_folder / entry.filename
    server.release.set()
    qtbot.mouseClick(box.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: installed.model.row_of(target) is not None, timeout=TIMEOUT)

    assert server.ranges == [None, f"bytes={kept}-"]
    assert target.read_bytes() == payload
    assert not partial.exists()


def test_closing_during_a_download_pauses_it_and_cancel_deletes_the_part(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    serve: Callable[..., ModelServer],
    payload: bytes,
    models_folder: Path,
    dialogs: Dialogs,
) -> None:
    server = serve()
    entry = catalog_entry(server, payload)
    manager = make_manager(catalog=[entry])
    downloads = manager.download_tab
    box = manager.download_box
    start_catalog_download(manager, entry)
    wait_for_progress(qtbot, manager)

    dialogs.answer = QMessageBox.StandardButton.No
    manager.close()
    assert manager.isVisible() and manager.downloading, "No keeps the window and the download"
    dialogs.answer = QMessageBox.StandardButton.Yes
    manager.close()
    assert not manager.isVisible()
    assert [title for title, _ in dialogs.questions] == ["Download in progress"] * 2
    assert "Served SmolLM2" in dialogs.questions[0][1]
    qtbot.waitUntil(lambda: not manager.downloading, timeout=TIMEOUT)
    partial = partial_path(models_folder, entry.filename)
    assert partial.stat().st_size > 0

    with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
        manager.show()
    qtbot.waitUntil(lambda: box.pause_button.text() == "Resume", timeout=TIMEOUT)
    assert box.isVisible()

    qtbot.mouseClick(box.cancel_button, Qt.MouseButton.LeftButton)
    assert not partial.exists()
    assert "cancelled" in box.title.text()
    assert sorted(models_folder.iterdir()) == []
    assert downloads.catalog.index(0, 0).data(BADGE_ROLE) is None


def test_cancel_while_downloading_deletes_the_part(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    serve: Callable[..., ModelServer],
    payload: bytes,
    models_folder: Path,
) -> None:
    server = serve()
    entry = catalog_entry(server, payload)
    manager = make_manager(catalog=[entry])
    box = manager.download_box
    start_catalog_download(manager, entry)
    wait_for_progress(qtbot, manager)

    qtbot.mouseClick(box.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in box.title.text(), timeout=TIMEOUT)
    # The download thread reported before it returned; it is gone a moment later.
    qtbot.waitUntil(lambda: not manager.downloading, timeout=TIMEOUT)
    assert sorted(models_folder.iterdir()) == []


# -- whether a catalog model would fit ------------------------------------------------------------


def offered(name: str, size_bytes: int, **facts: Any) -> CatalogEntry:
    """A catalog entry that is only looked at, never downloaded."""
    slug = name.lower().replace(" ", "-")
    return CatalogEntry(
        name=name,
        filename=f"{slug}.gguf",
        url=f"https://example.org/models/{slug}.gguf",
        size_bytes=size_bytes,
        sha256="a" * 64,
        licence="MIT",
        description=f"{name}, for tests.",
        kind="chat",
        **facts,
    )


def catalog_cell(manager: ModelManager, entry: CatalogEntry, column: int) -> Any:
    downloads = manager.download_tab
    row = downloads.catalog.row_of(entry.filename)
    assert row is not None, f"{entry.name} is not offered"
    return downloads.catalog_proxy.mapFromSource(downloads.catalog.index(row, column))


def wait_for_fits(qtbot: QtBot, manager: ModelManager) -> None:
    catalog = manager.download_tab.catalog
    qtbot.waitUntil(
        lambda: all(catalog.fit_of(entry) is not None for entry in catalog.records()),
        timeout=TIMEOUT,
    )


def test_the_catalog_says_whether_each_model_would_fit_before_download(
    qtbot: QtBot, make_manager: ManagerFactory
) -> None:
    small = offered("Small One", 500_000_000)
    # 5 GB of weights and a shape whose KV cache at 4,096 tokens is 2.1 GB: 7.5 GB of 8.
    big = offered(
        "Big One",
        5 * GB,
        parameters=8_030_000_000,
        context_length=131_072,
        architecture="llama",
        attention=AttentionShape(layers=32, kv_heads=32, key_length=128, value_length=128),
    )
    huge = offered("Huge One", 40 * GB)
    manager = make_manager(catalog=[small, big, huge])
    downloads = manager.download_tab
    wait_for_fits(qtbot, manager)

    assert downloads.catalog.headerData(
        CatalogTable.FIT, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    ).startswith("Whether the model fits in the memory free now")
    for entry, verdict, fit in (
        (small, "Fits", Fit.FITS),
        (big, "Tight", Fit.TIGHT),
        (huge, "Won't fit", Fit.WONT_FIT),
    ):
        cell = catalog_cell(manager, entry, CatalogTable.FIT)
        assert cell.data() == verdict, entry.name
        assert cell.data(Qt.ItemDataRole.ForegroundRole).name() == colors()[FIT_COLOURS[fit]]
        assert cell.data(Qt.ItemDataRole.ToolTipRole).startswith(
            "Estimated before download: needs about"
        )
        assert f"8.0 GB free now → {verdict}" in cell.data(Qt.ItemDataRole.ToolTipRole)
    guessed = catalog_cell(manager, small, CatalogTable.FIT).data(Qt.ItemDataRole.ToolTipRole)
    assert "guessed from the file size" in guessed
    exact = catalog_cell(manager, big, CatalogTable.FIT).data(Qt.ItemDataRole.ToolTipRole)
    assert "KV cache 2.1 GB at 4,096 tokens" in exact and "guessed" not in exact

    # The details say the same, with the facts the catalog gives and what to do about it.
    manager.tabs.setCurrentWidget(downloads)
    assert manager.select_catalog_entry(big.filename)
    details = plain(downloads.catalog_detail)
    assert "8.0 B parameters · llama · 131,072 tokens of context" in details
    assert "Estimated before download: needs about 7.5 GB" in details
    assert details.rstrip().endswith("leaves little memory for the rest of the computer.")
    assert downloads.catalog_download_button.text() == "Download"
    assert manager.select_catalog_entry(huge.filename)
    assert "→ Won't fit" in plain(downloads.catalog_detail)
    assert "guessed from the file size" in plain(downloads.catalog_detail)


def test_the_fit_is_worked_out_again_with_the_folder_and_follows_the_context(
    qtbot: QtBot, make_manager: ManagerFactory, free_memory: Callable[[int], None]
) -> None:
    short = offered("Short Context", 500_000_000, context_length=512)
    plain_entry = offered("Plain", 500_000_000)
    manager = make_manager(catalog=[short, plain_entry], context=2048)
    downloads = manager.download_tab
    wait_for_fits(qtbot, manager)
    assert catalog_cell(manager, plain_entry, CatalogTable.FIT).data() == "Fits"
    assert "at 2,048 tokens" in describe_fit(manager, plain_entry)
    assert "at 512 tokens" in describe_fit(manager, short), "capped at the model's own"

    free_memory(200_000_000)
    with qtbot.waitSignal(downloads.fits_estimated, timeout=TIMEOUT):
        manager.refresh()
    assert catalog_cell(manager, plain_entry, CatalogTable.FIT).data() == "Won't fit"
    assert "200 MB free now" in describe_fit(manager, plain_entry)


def describe_fit(manager: ModelManager, entry: CatalogEntry) -> str:
    tooltip = catalog_cell(manager, entry, CatalogTable.FIT).data(Qt.ItemDataRole.ToolTipRole)
    assert isinstance(tooltip, str)
    return tooltip


def test_a_model_that_would_not_fit_is_downloaded_only_once_the_user_is_told(
    qtbot: QtBot,
    make_manager: ManagerFactory,
    serve: Callable[..., ModelServer],
    payload: bytes,
    models_folder: Path,
    free_memory: Callable[[int], None],
    dialogs: Dialogs,
) -> None:
    free_memory(200_000_000)
    server = serve(gated=False)
    entry = catalog_entry(server, payload)
    manager = make_manager(catalog=[entry])
    downloads = manager.download_tab
    wait_for_fits(qtbot, manager)
    manager.tabs.setCurrentWidget(downloads)
    assert manager.select_catalog_entry(entry.filename)
    button = downloads.catalog_download_button
    assert button.text() == "Download anyway…"
    assert button.isEnabled() and "would not fit" in button.toolTip()

    dialogs.answer = QMessageBox.StandardButton.No
    button.click()
    title, text = dialogs.questions[-1]
    assert title == "Not enough memory"
    assert "“Served SmolLM2” would need about" in text and "200 MB is free now" in text
    assert "estimate before download" in text
    assert f"Download its {size_text(len(payload))} anyway?" in text
    assert not manager.download_box.isVisible() and not manager.downloading

    dialogs.answer = QMessageBox.StandardButton.Yes
    button.click()
    assert len(dialogs.questions) == 2
    target = models_folder / entry.filename
    qtbot.waitUntil(lambda: manager.installed_tab.model.row_of(target) is not None, timeout=TIMEOUT)
    assert target.read_bytes() == payload


# -- what the window knows without asking the disk ----------------------------------------------


def seen(tracker: DownloadTracker) -> tuple[DownloadState, bool, bool, int, bool]:
    """State, running, can resume, bytes received, cancelling: read afresh after each
    transition (mypy would carry an earlier assert's narrowing across it)."""
    return (
        tracker.state,
        tracker.running,
        tracker.can_resume,
        tracker.received,
        tracker.cancelling,
    )


def test_the_download_tracker_pauses_resumes_and_turns_a_stop_into_a_cancel() -> None:
    tracker = DownloadTracker()
    assert seen(tracker) == (DownloadState.IDLE, False, False, 0, False)
    assert tracker.filename == ""
    wanted = download_request(
        "https://example.org/models/tiny.gguf", name="Tiny", size_bytes=480_000_000
    )

    tracker.start(wanted)
    assert seen(tracker) == (DownloadState.RUNNING, True, False, 0, False)
    assert tracker.total == 480_000_000, "the catalog's size until the server says"
    assert tracker.progressed(DownloadProgress(12_000_000, 481_000_000, 1e6, 469))
    assert seen(tracker) == (DownloadState.RUNNING, True, False, 12_000_000, False)
    assert tracker.total == 481_000_000
    with pytest.raises(RuntimeError):
        tracker.start(wanted)

    # Progress already on its way when a pause was asked for is stale.
    assert tracker.stop()
    assert seen(tracker) == (DownloadState.STOPPING, True, False, 12_000_000, False)
    assert not tracker.progressed(DownloadProgress(13_000_000, 481_000_000, 1e6, 468))
    assert tracker.stopped(12_500_000, 481_000_000) is DownloadState.PAUSED
    assert seen(tracker) == (DownloadState.PAUSED, False, True, 12_500_000, False)
    assert not tracker.stop(), "nothing runs to stop"

    # Resume goes on from what was kept; a cancel asked while it stops makes the answer a cancel.
    tracker.start(wanted, tracker.received)
    assert seen(tracker) == (DownloadState.RUNNING, True, False, 12_500_000, False)
    assert tracker.stop()
    assert tracker.stop(cancel=True)
    assert seen(tracker) == (DownloadState.STOPPING, True, False, 12_500_000, True)
    assert tracker.stopped(12_600_000) is DownloadState.CANCELLED
    assert seen(tracker) == (DownloadState.CANCELLED, False, False, 0, False)
    assert tracker.request is wanted and tracker.filename == "tiny.gguf", (
        "to say what was cancelled"
    )

    tracker.dismissed()
    assert seen(tracker) == (DownloadState.IDLE, False, False, 0, False)
    assert tracker.request is None


def test_the_download_tracker_keeps_a_failure_to_retry_and_forgets_a_finished_download() -> None:
    tracker = DownloadTracker()
    wanted = download_request("https://example.org/models/tiny.gguf")
    tracker.start(wanted)
    assert tracker.total is None, "neither the catalog nor the server said"
    assert tracker.failed(3_000_000) is DownloadState.FAILED
    assert seen(tracker) == (DownloadState.FAILED, False, True, 3_000_000, False)

    tracker.start(wanted, tracker.received)
    assert tracker.stop(cancel=True)
    assert tracker.failed(3_100_000) is DownloadState.CANCELLED, "the cancel wins"

    tracker.start(wanted)
    assert tracker.finished() is wanted
    assert seen(tracker) == (DownloadState.IDLE, False, False, 0, False)
    assert tracker.request is None


def test_a_folder_scan_carries_links_parts_and_paths_for_the_window(
    starter_model: Path, models_folder: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere" / "mine.gguf"
    elsewhere.parent.mkdir()
    shutil.copy(starter_model, elsewhere)
    link = models_folder / "linked.gguf"
    link.symlink_to(elsewhere)
    partial_path(models_folder, "coming.gguf").write_bytes(b"x" * 1234)
    # The same file by another spelling, as a settings path may name it.
    alias = models_folder / "sub" / ".." / "linked.gguf"

    found = scan_folder(models_folder, [starter_model], 4096, [alias])

    by_name = {model.path.name: model for model in found.models}
    assert sorted(by_name) == sorted([starter_model.name, "linked.gguf"])
    starter, linked = by_name[starter_model.name], by_name["linked.gguf"]
    assert starter.starter and not starter.in_folder and starter.link_target is None
    assert not linked.starter and linked.in_folder
    assert linked.link_target == linked.resolved == elsewhere.resolve()
    assert found.files == {"linked.gguf"}, "a part is not a file of the folder"
    assert found.partial_files == {"coming.gguf": 1234}
    assert found.installed_names == {"linked.gguf", starter_model.name}
    assert found.same_file(alias, linked) and found.same_file(elsewhere.resolve(), linked)
    assert not found.same_file(alias, starter)


# -- the words ----------------------------------------------------------------------------------


def test_progress_reads_as_amounts_speed_and_time_left() -> None:
    progress = DownloadProgress(312_000_000, 480_000_000, 4_200_000, 40.2)
    assert describe_transfer(progress) == "312 of 480 MB · 4.2 MB/s · about 40 s left"
    big = DownloadProgress(1_250_000_000, 4_800_000_000, 12_500_000, 283)
    assert describe_transfer(big) == "1.2 of 4.8 GB · 12.5 MB/s · about 5 min left"
    unknown = DownloadProgress(52_000_000, None, 900_000, None)
    assert describe_transfer(unknown) == "52 MB · 900 KB/s"
    assert parameters_text(1_540_000_000) == "1.5 B"


def test_the_shipped_catalog_is_offered_by_default(qtbot: QtBot, models_folder: Path) -> None:
    manager = ModelManager(models_folder, list, lambda: 4096, lambda: None, lambda: None)
    qtbot.addWidget(manager)
    downloads = manager.download_tab
    entries = load_catalog()
    assert downloads.catalog.rowCount() == len(entries) > 0
    assert downloads.catalog_stack.currentWidget() is downloads.catalog_table
