"""Guards against Qt binding releases that break a long-running streaming app."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    happened = Signal(int)


def test_emitting_signals_does_not_leak_or_steal_references() -> None:
    # PySide6 6.12.0 returned a borrowed True from every Python-side emit(); a chat emits one
    # signal per streamed piece, so after a few thousand tokens Python freed True and crashed.
    emitter = _Emitter()
    received: list[int] = []
    emitter.happened.connect(received.append)
    before = sys.getrefcount(True)
    for index in range(2000):
        emitter.happened.emit(index)
    assert len(received) == 2000
    assert abs(sys.getrefcount(True) - before) < 10
