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

from desktop.core.models import memory
from desktop.core.models.catalog import CatalogEntry, load_catalog
from desktop.core.models.download import DownloadProgress
from desktop.core.models.registry import Fit, scan
from desktop.ui.appearance import colors
from desktop.ui.model_manager import (
    BADGE_ROLE,
    FIT_COLOURS,
    InstalledModelTable,
    ModelManager,
    describe_bytes,
    describe_memory,
    describe_parameters,
    describe_transfer,
    partial_path,
)

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
    model = manager.proxy
    rows: dict[str, list[str]] = {}
    for row in range(model.rowCount()):
        cells = [model.index(row, column).data() for column in range(model.columnCount())]
        rows[cells[0]] = cells
    return rows


def row_index(manager: ModelManager, name: str, column: int = 0) -> Any:
    model = manager.proxy
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

    rows = table_rows(manager)
    name = starter_model.stem
    assert list(rows) == [name]
    cells = rows[name]
    assert cells[InstalledModelTable.KIND] == "Chat"
    assert cells[InstalledModelTable.PARAMETERS] == "135 M"
    assert cells[InstalledModelTable.QUANTIZATION] == "Q4_1"
    assert cells[InstalledModelTable.CONTEXT] == "8,192"
    assert cells[InstalledModelTable.SIZE] == describe_bytes(starter_model.stat().st_size)
    assert cells[InstalledModelTable.FIT] == "Fits"
    fit = row_index(manager, name, InstalledModelTable.FIT)
    assert fit.data(Qt.ItemDataRole.ForegroundRole).name() == colors()[FIT_COLOURS[Fit.FITS]]
    assert manager.stack.currentWidget() is manager.table
    assert manager.tabs.tabText(0) == "Installed (1)"
    assert "4,096 tokens of context" in manager.summary_label.text()
    assert not manager.unusable_label.isVisible()


def test_what_does_not_fit_in_the_free_memory_says_so_in_red(
    make_manager: ManagerFactory,
    starter_model: Path,
    free_memory: Callable[[int], None],
    dialogs: Dialogs,
) -> None:
    free_memory(200_000_000)
    manager = make_manager(known=[starter_model])

    assert table_rows(manager)[starter_model.stem][InstalledModelTable.FIT] == "Won't fit"
    fit = row_index(manager, starter_model.stem, InstalledModelTable.FIT)
    assert fit.data(Qt.ItemDataRole.ForegroundRole).name() == colors()["danger"]
    select(manager, starter_model)
    assert "200 MB free now → Won't fit" in plain(manager.memory_label)
    assert "lower the context length" in plain(manager.memory_label)

    # Choosing it anyway is a decision the window asks about.
    dialogs.answer = QMessageBox.StandardButton.No
    chosen: list[Path] = []
    manager.chat_model_chosen.connect(chosen.append)
    manager.use_chat_button.click()
    assert chosen == [] and "Not enough memory" in dialogs.questions[-1][0]


def test_a_truncated_copy_is_listed_apart_with_its_reason(
    make_manager: ManagerFactory, starter_model: Path, models_folder: Path
) -> None:
    (models_folder / "half.gguf").write_bytes(starter_model.read_bytes()[:5_000_000])

    manager = make_manager(known=[starter_model])

    assert list(table_rows(manager)) == [starter_model.stem]
    assert manager.unusable_label.isVisible()
    text = manager.unusable_label.text()
    assert "half.gguf" in text and "truncated" in text


def test_an_empty_models_folder_says_where_it_is_and_what_to_do(
    make_manager: ManagerFactory, models_folder: Path
) -> None:
    manager = make_manager()

    assert manager.stack.currentWidget() is manager.empty_box
    text = plain(manager.empty_label)
    assert "No models yet" in text and str(models_folder) in text
    assert manager.empty_import_button.isVisible() and manager.empty_download_button.isVisible()
    manager.empty_download_button.click()
    assert manager.tabs.currentWidget() is manager.download_tab


def test_selecting_a_model_shows_its_facts_and_what_it_needs(
    make_manager: ManagerFactory, starter_model: Path, templateless_model: Path
) -> None:
    manager = make_manager(known=[starter_model, templateless_model], context=2048)
    (entry,), _ = scan(Path("/nonexistent"), [starter_model], 2048)

    select(manager, starter_model)

    assert manager.details.isVisible()
    assert manager.detail_title.text() == starter_model.stem
    line = plain(manager.memory_label)
    assert describe_memory(entry).rpartition("→")[0] in line
    estimate = entry.estimate
    assert f"Needs about {estimate.required_bytes / 1e6:,.0f} MB" in line
    assert f"weights {estimate.weights_bytes / 1e6:,.0f} MB" in line
    assert f"KV cache {estimate.kv_cache_bytes / 1e6:,.0f} MB at 2,048 tokens" in line
    assert f"overhead {estimate.overhead_bytes / 1e6:,.0f} MB" in line
    assert "8.0 GB free now" in line and "Fits" in line
    assert manager.architecture_value.text() == "llama"
    assert manager.quantization_value.text() == "Q4_1"
    assert manager.parameters_value.text().startswith(describe_parameters(entry.parameters))
    assert manager.context_value.text() == "8,192 tokens"
    assert manager.template_value.text() == "Yes"
    assert manager.licence_value.text() == "apache-2.0"
    assert manager.path_value.text() == str(starter_model)
    assert not manager.template_note.isVisible()

    select(manager, templateless_model)
    assert manager.architecture_value.text() == "gemma3"
    assert manager.template_value.text().startswith("No")
    assert manager.template_note.isVisible()
    assert "not tuned for conversation" in manager.template_note.text()


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

    assert table_rows(manager)[starter_embedder_file.stem][InstalledModelTable.KIND] == "Embedding"
    in_use = row_index(manager, starter_model.stem).data(BADGE_ROLE)
    assert in_use is not None and in_use[0] == "In use for chat"
    assert row_index(manager, "my-chat").data(BADGE_ROLE) is None

    select(manager, starter_model)
    assert not manager.use_chat_button.isEnabled(), "it is the chat model already"
    select(manager, copy)
    assert manager.use_chat_button.isEnabled()
    assert not manager.use_documents_button.isEnabled()
    with qtbot.waitSignal(manager.chat_model_chosen) as chat:
        qtbot.mouseClick(manager.use_chat_button, Qt.MouseButton.LeftButton)
    assert chat.args == [copy]

    select(manager, starter_embedder_file)
    assert not manager.use_chat_button.isEnabled()
    assert manager.use_documents_button.isEnabled()
    assert "cannot chat" in manager.template_note.text()
    with qtbot.waitSignal(manager.embedding_model_chosen) as documents:
        qtbot.mouseClick(manager.use_documents_button, Qt.MouseButton.LeftButton)
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
    select(manager, copy)
    assert manager.delete_button.isEnabled()

    dialogs.answer = QMessageBox.StandardButton.No
    manager.delete_button.click()
    assert copy.is_file(), "answering No keeps the file"
    title, text = dialogs.questions[-1]
    assert title == "Delete model"
    assert "spare.gguf" in text and describe_bytes(copy.stat().st_size) in text

    # The Delete key does the same as the button.
    dialogs.answer = QMessageBox.StandardButton.Yes
    manager.activateWindow()
    qtbot.waitUntil(manager.isActiveWindow)
    manager.table.setFocus()
    with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
        qtbot.keyClick(manager.table, Qt.Key.Key_Delete)

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

    for path, reason in (
        (starter_model, "starter model"),
        (elsewhere, "not in the models folder"),
        (in_use, "in use for chat"),
    ):
        select(manager, path)
        assert not manager.delete_button.isEnabled(), path
        assert not manager.delete_action.isEnabled(), path
        assert reason in manager.delete_button.toolTip()
        manager.delete_action.trigger()
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
    assert manager.stack.currentWidget() is manager.empty_box
    choose_file(monkeypatch, starter_model)

    with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
        qtbot.mouseClick(manager.empty_import_button, Qt.MouseButton.LeftButton)

    copied = models_folder / starter_model.name
    assert copied.is_file() and not copied.is_symlink()
    assert copied.stat().st_size == starter_model.stat().st_size
    entry = manager.selected_entry()
    assert entry is not None and entry.path == copied
    assert manager.stack.currentWidget() is manager.table
    assert manager.import_button.isEnabled()


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
    choose_file(monkeypatch, starter_model)
    manager.link_box.setChecked(True)
    with qtbot.waitSignal(manager.models_listed, timeout=TIMEOUT):
        manager.import_button.click()
    linked = models_folder / starter_model.name
    assert linked.is_symlink() and linked.resolve() == starter_model.resolve()
    assert "a link to" in manager.path_value.text()

    fake = tmp_path / "notes.gguf"
    fake.write_text("just some notes")
    choose_file(monkeypatch, fake)
    manager.import_button.click()
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=TIMEOUT)
    assert "not a GGUF" in dialogs.errors[0]
    assert not (models_folder / "notes.gguf").exists()
    assert manager.import_button.isEnabled()


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
    assert manager.catalog_download_button.isEnabled()
    assert entry.name in plain(manager.catalog_detail)
    manager.catalog_download_button.click()
    assert manager.download_box.isVisible()


def wait_for_progress(qtbot: QtBot, manager: ModelManager) -> None:
    """Until the progress line shows bytes arriving.

    Progress signals come often from the download thread; they are not waited on with
    ``waitSignal``, whose temporary receiver could be gone before the last queued one arrives.
    """
    qtbot.waitUntil(lambda: "B/s · " in manager.download_label.text(), timeout=TIMEOUT)


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
    assert manager.catalog.rowCount() == 1

    start_catalog_download(manager, entry)
    wait_for_progress(qtbot, manager)

    total = f"{len(payload) / 1e6:,.0f} MB"
    assert f" of {total} · " in manager.download_label.text()
    assert re.search(r"· [\d.,]+ [KM]B/s · about \d+ (s|min) left$", manager.download_label.text())
    assert 0 < manager.download_bar.value() < manager.download_bar.maximum()
    assert manager.download_title.text() == "Downloading “Served SmolLM2”"
    assert not manager.catalog_download_button.isEnabled(), "one download at a time"
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
    assert not manager.download_box.isVisible()
    assert list(table_rows(manager)) == ["served-smollm2"]
    assert manager.catalog.index(0, 0).data(BADGE_ROLE)[0] == "Installed"
    manager.select_catalog_entry(entry.filename)
    assert manager.catalog_download_button.text() == "Installed"
    assert not manager.catalog_download_button.isEnabled()


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
    manager.tabs.setCurrentWidget(manager.download_tab)

    manager.url_edit.setText(server.url("from-the-web.gguf"))
    manager.sha_edit.setText("0" * 64)
    manager.url_download_button.click()
    qtbot.waitUntil(lambda: "was not downloaded" in manager.download_title.text(), timeout=TIMEOUT)

    assert manager.download_title.text() == "“from-the-web.gguf” was not downloaded"
    assert manager.download_label.isVisible()
    assert "checksum mismatch" in manager.download_label.text()
    assert manager.download_label.property("tone") == "error"
    assert not manager.download_bar.isVisible()
    assert dialogs.errors == [], "the reason is shown in the window, not in a box"
    assert sorted(path.name for path in models_folder.iterdir()) == []
    refresh_and_wait(qtbot, manager)
    assert list(table_rows(manager)) == [starter_model.stem]


def test_a_web_address_that_is_not_a_model_file_is_refused_in_place(
    make_manager: ManagerFactory,
) -> None:
    manager = make_manager()
    manager.tabs.setCurrentWidget(manager.download_tab)

    manager.url_edit.setText("https://example.org/models/page.html")
    manager.url_download_button.click()
    assert manager.url_message.isVisible() and ".gguf" in manager.url_message.text()

    manager.url_edit.setText("https://example.org/models/tiny.gguf")
    manager.sha_edit.setText("not-a-checksum")
    manager.url_download_button.click()
    assert "64 characters" in manager.url_message.text()
    assert not manager.download_box.isVisible()


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
    start_catalog_download(manager, entry)
    wait_for_progress(qtbot, manager)

    qtbot.mouseClick(manager.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: manager.download_title.text().startswith("Paused"), timeout=TIMEOUT)

    partial = partial_path(models_folder, entry.filename)
    kept = partial.stat().st_size
    assert 0 < kept < len(payload)
    assert manager.pause_button.text() == "Resume"
    assert "Resume goes on from there" in manager.download_label.text()
    assert not (models_folder / entry.filename).exists()
    assert manager.catalog.index(0, 0).data(BADGE_ROLE)[0] == "Partly downloaded"

    target = models_folder / entry.filename
    server.release.set()
    qtbot.mouseClick(manager.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: manager.model.row_of(target) is not None, timeout=TIMEOUT)

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
    qtbot.waitUntil(lambda: manager.pause_button.text() == "Resume", timeout=TIMEOUT)
    assert manager.download_box.isVisible()

    qtbot.mouseClick(manager.cancel_button, Qt.MouseButton.LeftButton)
    assert not partial.exists()
    assert "cancelled" in manager.download_title.text()
    assert sorted(models_folder.iterdir()) == []
    assert manager.catalog.index(0, 0).data(BADGE_ROLE) is None


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
    start_catalog_download(manager, entry)
    wait_for_progress(qtbot, manager)

    qtbot.mouseClick(manager.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in manager.download_title.text(), timeout=TIMEOUT)
    # The download thread reported before it returned; it is gone a moment later.
    qtbot.waitUntil(lambda: not manager.downloading, timeout=TIMEOUT)
    assert sorted(models_folder.iterdir()) == []


# -- the words ----------------------------------------------------------------------------------


def test_progress_reads_as_amounts_speed_and_time_left() -> None:
    progress = DownloadProgress(312_000_000, 480_000_000, 4_200_000, 40.2)
    assert describe_transfer(progress) == "312 of 480 MB · 4.2 MB/s · about 40 s left"
    big = DownloadProgress(1_250_000_000, 4_800_000_000, 12_500_000, 283)
    assert describe_transfer(big) == "1.2 of 4.8 GB · 12.5 MB/s · about 5 min left"
    unknown = DownloadProgress(52_000_000, None, 900_000, None)
    assert describe_transfer(unknown) == "52 MB · 900 KB/s"
    assert describe_parameters(1_540_000_000) == "1.5 B"


def test_the_shipped_catalog_is_offered_by_default(qtbot: QtBot, models_folder: Path) -> None:
    manager = ModelManager(models_folder, list, lambda: 4096, lambda: None, lambda: None)
    qtbot.addWidget(manager)
    entries = load_catalog()
    assert manager.catalog.rowCount() == len(entries) > 0
    assert manager.catalog_stack.currentWidget() is manager.catalog_table
