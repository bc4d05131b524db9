"""Unexpected errors reach the log and a dialog instead of killing the app silently."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.core.logs import setup_logging
from desktop.ui.errors import install_excepthook


@pytest.fixture
def restore_excepthook() -> Iterator[None]:
    original = sys.excepthook
    yield
    sys.excepthook = original
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "_folio", False):
            logging.getLogger().removeHandler(handler)
            handler.close()


def test_an_unexpected_error_is_logged_and_shown(
    qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_excepthook: None
) -> None:
    log_file = tmp_path / "folio.log"
    setup_logging(log_file)
    install_excepthook(log_file)
    shown: list[QMessageBox] = []

    def record(box: QMessageBox) -> int:
        shown.append(box)
        return 0

    monkeypatch.setattr(QMessageBox, "exec", record)

    try:
        raise RuntimeError("something broke deep inside")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())

    assert len(shown) == 1
    box = shown[0]
    assert "Your chats are saved" in box.text()
    assert str(log_file) in box.informativeText()
    assert "something broke deep inside" in box.detailedText()
    assert "something broke deep inside" in log_file.read_text(encoding="utf-8")
