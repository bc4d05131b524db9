"""The first start as a person meets it: a welcome that offers to add documents."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from desktop.core.paths import app_paths
from desktop.ui.chat.view import ChatView
from desktop.ui.chat.welcome import ADD_DOCUMENTS_URL
from tests.ui.conftest import WindowFactory

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
