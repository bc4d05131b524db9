"""Bootstrap of the window: paths, logging, crash dialog, settings, engine, store, library."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop import APP_NAME, __version__
from desktop.core.chat.store import ConversationStore
from desktop.core.llm.engine import ChatEngine
from desktop.core.locks import WINDOW, FolderBusyError, WriterLock
from desktop.core.logs import setup_logging
from desktop.core.paths import AppPaths, app_paths
from desktop.core.resources import resource_path
from desktop.core.settings.schema import AppearanceSettings
from desktop.core.settings.store import LoadReport, load_settings, save_settings
from desktop.ui.appearance import apply_appearance
from desktop.ui.errors import cannot_write_message, install_excepthook, show_error
from desktop.ui.library.service import LibraryService
from desktop.ui.main_window import MainWindow
from desktop.ui.startup_probe import REPORT_ENV, StartupProbe

log = logging.getLogger(__name__)


def run_gui() -> int:
    paths = app_paths()
    # Qt first: a data folder that cannot be written is told in a dialog, not a traceback.
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    configure_application(app, paths)
    try:
        paths.ensure()
    except OSError as error:
        return _cannot_write(error, paths.data)
    log_failure = setup_logging(paths.log_file)
    if log_failure is not None:
        return _cannot_write(log_failure, paths.logs)
    log.info("Folio %s starting; data in %s", __version__, paths.data)
    install_excepthook(paths.log_file)

    # One writer per data folder: two windows would purge each other's deleted chats (and
    # their Undo) and mark each other's answers as interrupted; a window beside "folio index"
    # would index into the same vector store twice over.
    instance_lock = WriterLock(paths.data, WINDOW)
    try:
        instance_lock.acquire()
    except FolderBusyError as busy:
        show_error(None, str(busy))
        return 1
    except OSError as error:
        return _cannot_write(error, paths.data)

    report = load_settings(paths.settings_file)
    if report.problems:
        log.warning("settings problems: %s", "; ".join(report.problems))
    apply_appearance(app, report.settings.appearance)
    if not paths.settings_file.exists():
        # A file to open and edit by hand from the first start (Help ▸ About shows where).
        try:
            save_settings(report.settings, paths.settings_file)
        except OSError as error:
            instance_lock.release()
            return _cannot_write(error, paths.config)
    try:
        store = ConversationStore(paths.conversations_db)
    except Exception as exc:
        log.exception("conversation store unusable")
        show_error(
            None,
            f"Folio could not open its chat history at {paths.conversations_db}: {exc}. "
            "Check that the folder is writable and that the disk is not full.",
        )
        return 1
    engine = ChatEngine()
    library = LibraryService(paths)
    window = MainWindow(paths, report.settings, store, engine, library)
    window.show()
    report_file = os.environ.get(REPORT_ENV, "")
    if report_file:
        probe = StartupProbe(Path(report_file), window, library)
        QTimer.singleShot(0, probe.on_event_loop_started)
    QTimer.singleShot(0, window.load_initial_model)
    # After the model: both load on their own threads, and the chat is what people use first.
    embedder = report.settings.documents.embedding_model
    QTimer.singleShot(
        0, functools.partial(library.open, Path(embedder).expanduser() if embedder else None)
    )
    if report.problems:
        QTimer.singleShot(0, functools.partial(_show_settings_problems, window, report))
    try:
        return app.exec()
    finally:
        library.close()
        engine.close()
        store.close()
        QSettings().sync()
        instance_lock.release()
        log.info("Folio closed")


def _cannot_write(error: OSError, folder: Path) -> int:
    log.error("cannot write to the data folders: %s", error)
    show_error(None, cannot_write_message(error, folder))
    return 1


def _show_settings_problems(window: MainWindow, report: LoadReport) -> None:
    kept = f"\n\nThe original file was kept as {report.backup}." if report.backup else ""
    show_error(
        window,
        "Some settings could not be read and were reset to their defaults:\n\n• "
        + "\n• ".join(report.problems)
        + kept,
    )


def configure_application(
    app: QApplication, paths: AppPaths, appearance: AppearanceSettings | None = None
) -> None:
    """Names, window-state storage under Folio's config dir, the style sheet and the icon."""
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    apply_appearance(app, appearance if appearance is not None else AppearanceSettings())
    icon = resource_path("icons", "folio.svg")
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    # Window geometry lives beside settings.toml, so FOLIO_HOME isolates it too.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(paths.config))
