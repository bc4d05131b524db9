"""The library service's run, as the window sees it: what a switch of embedding model does to
indexing that is going on, and that the window is told a run is coming with the documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.core.documents.records import DocumentRecord, DocumentStatus
from tests.support.documents import make_pdf
from tests.ui.conftest import WindowFactory
from tests.ui.test_library_window import INDEXING_TIMEOUT, long_report, wait_for_progress


@pytest.fixture(autouse=True)
def errors_shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the window would show in a message box (a modal box would hold the test)."""
    shown: list[str] = []
    monkeypatch.setattr(
        "desktop.ui.library.settings_link.show_error",
        lambda _parent, message: shown.append(message),
    )
    return shown


def test_a_switch_that_fails_leaves_indexing_going(
    qtbot: QtBot,
    make_window: WindowFactory,
    docs: Path,
    templateless_model: Path,
    errors_shown: list[str],
) -> None:
    window = make_window(with_library=True)
    library = window.library
    assert library is not None
    window.add_documents([make_pdf(docs / "fleet.pdf", long_report(120))])
    wait_for_progress(qtbot, window)

    # A chat model cannot embed: the switch is refused before the run is touched.
    with qtbot.waitSignal(library.embedder_switch_failed, timeout=60_000):
        library.switch_embedder(templateless_model)
    assert errors_shown and "chat model" in errors_shown[0]
    assert library.is_indexing()
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT) as finished:
        pass
    assert finished.args == [False]
    assert [d.status for d in library.documents()] == [DocumentStatus.READY]


def test_switches_asked_for_one_after_the_other_index_once_with_the_last(
    qtbot: QtBot,
    make_window: WindowFactory,
    docs: Path,
    starter_embedder_file: Path,
    tmp_path: Path,
) -> None:
    window = make_window(with_library=True)
    library = window.library
    assert library is not None
    first, second = tmp_path / "first-embedder.gguf", tmp_path / "second-embedder.gguf"
    shutil.copy(starter_embedder_file, first)
    shutil.copy(starter_embedder_file, second)
    reports: list[object] = []
    library.progress_reported.connect(reports.append)
    window.add_documents([make_pdf(docs / "fleet.pdf", long_report(200))])
    qtbot.waitUntil(lambda: bool(reports), timeout=INDEXING_TIMEOUT)
    assert library.is_indexing()

    switched: list[None] = []
    library.embedder_switched.connect(lambda: switched.append(None))
    failed: list[str] = []
    library.embedder_switch_failed.connect(failed.append)
    library.switch_embedder(first)
    library.switch_embedder(second)
    qtbot.waitUntil(lambda: len(switched) == 2, timeout=120_000)
    qtbot.waitUntil(
        lambda: (
            not library.is_indexing()
            and [d.status for d in library.documents()] == [DocumentStatus.READY]
        ),
        timeout=INDEXING_TIMEOUT,
    )
    assert failed == []
    assert library.library is not None
    info = library.library.embedder.info
    assert info is not None and info.path == second


def test_the_window_hears_of_a_coming_run_with_the_documents(
    qtbot: QtBot, make_window: WindowFactory, docs: Path
) -> None:
    window = make_window(with_library=True)
    library = window.library
    pane = window.library_pane
    assert library is not None and pane is not None
    heard: list[tuple[bool, str]] = []

    def on_documents(records: list[DocumentRecord]) -> None:
        if records:
            heard.append((library.is_indexing(), pane.progress_label.text()))

    library.documents_changed.connect(on_documents)
    with qtbot.waitSignal(library.indexing_finished, timeout=INDEXING_TIMEOUT):
        window.add_documents([make_pdf(docs / "fleet.pdf", long_report(3))])
    indexing, label = heard[0]
    assert indexing, "a run is known to be coming when the documents are shown"
    assert not label.startswith("Indexing stopped"), label
