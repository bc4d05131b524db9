"""Startup figures for the startup benchmark, written only when ``FOLIO_STARTUP_REPORT`` names a
file: when the window first takes input, and the memory in use then and once the starter models
have loaded (and whether either failed). Then the app quits. ``folio bench startup`` and
``folio self-test`` read it; nothing of this runs in normal use."""

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QApplication

from desktop.ui.library.service import LibraryService
from desktop.ui.main_window import MainWindow

REPORT_ENV = "FOLIO_STARTUP_REPORT"


def resident_bytes() -> int:
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class StartupProbe(QObject):
    def __init__(self, report: Path, window: MainWindow, library: LibraryService) -> None:
        super().__init__(window)
        self._report = report
        self._figures: dict[str, float] = {}
        self._waiting = {"model", "library"}
        window.loader.loaded.connect(self._on_model_loaded)
        window.loader.failed.connect(self._on_model_failed)
        library.opened.connect(self._on_library_opened)
        library.open_failed.connect(self._on_library_failed)

    @Slot()
    def on_event_loop_started(self) -> None:
        # The first queued call runs once the window is shown and the loop takes input.
        self._figures["ready_at"] = time.time()
        self._figures["rss_idle_bytes"] = resident_bytes()

    @Slot()
    def _on_model_loaded(self) -> None:
        self._done("model")

    @Slot()
    def _on_model_failed(self) -> None:
        self._figures["model_failed"] = 1
        self._done("model")

    @Slot()
    def _on_library_opened(self) -> None:
        self._done("library")

    @Slot()
    def _on_library_failed(self) -> None:
        self._figures["library_failed"] = 1
        self._done("library")

    def _done(self, part: str) -> None:
        self._waiting.discard(part)
        if self._waiting:
            return
        self._figures["loaded_at"] = time.time()
        self._figures["rss_loaded_bytes"] = resident_bytes()
        self._report.write_text(json.dumps(self._figures), encoding="utf-8")
        QApplication.quit()
