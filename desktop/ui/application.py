"""Bootstrap of the window: paths, logging, crash dialog, settings, engine, store."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from desktop import APP_NAME, __version__
from desktop.core.config import LoadReport, load_settings, save_settings
from desktop.core.conversations import ConversationStore
from desktop.core.engine import ChatEngine
from desktop.core.logs import setup_logging
from desktop.core.paths import AppPaths, app_paths

log = logging.getLogger(__name__)

STYLE_SHEET = """
#sidebar { background: #f7f7f8; }
#sidebar QListView { background: transparent; border: none; font-size: 10pt; }
#sidebar QListView::item { padding: 7px 6px; border-radius: 6px; }
#sidebar QListView::item:selected { background: #e4e7ee; color: #111827; }
#sidebar QListView::item:hover:!selected { background: #eeeff2; }
#searchBox { padding: 5px 8px; border: 1px solid #d6d8dd; border-radius: 6px; background: white; }
#newChatButton { padding: 6px; }
#emptyLabel { color: #6b7280; padding: 8px 4px; }
#chatHeader { border-bottom: 1px solid #e5e7eb; background: white; }
#chatTitle { font-size: 12pt; font-weight: 600; color: #111827; }
#modelLabel { color: #4b5563; padding-right: 8px; }
#chatView { border: none; background: white; }
#composerBox { background: white; border-top: 1px solid #e5e7eb; }
#composer { border: 1px solid #d1d5db; border-radius: 8px; padding: 4px 6px; background: white; }
#composer:focus { border-color: #6366f1; }
#sendButton { min-width: 72px; padding: 7px 12px; border-radius: 8px; background: #4f46e5;
              color: white; border: none; font-weight: 600; }
#sendButton:disabled { background: #c7c9d1; }
#sendButton[stop="true"] { background: #b91c1c; }
#editNotice { color: #92400e; padding-bottom: 4px; }
#libraryButton:checked { background: #e0e7ff; border: 1px solid #a5b4fc; border-radius: 4px; }
#scopeButton { border: 1px solid #d1d5db; border-radius: 10px; padding: 2px 10px;
               color: #374151; background: #f9fafb; }
#scopeButton:hover { background: #eef2ff; }
#scopeButton::menu-indicator { image: none; width: 0px; }
#libraryPane { background: #fbfbfc; border-left: 1px solid #e5e7eb; }
#paneTitle { font-size: 12pt; font-weight: 600; color: #111827; }
#paneSummary { color: #6b7280; padding-left: 6px; }
#documentTable { outline: 0; border: 1px solid #e5e7eb; background: white;
                 alternate-background-color: #f9fafb; selection-background-color: #e0e7ff;
                 selection-color: #111827; }
#documentTable QHeaderView::section { background: #f3f4f6; border: none;
                 border-bottom: 1px solid #e5e7eb; padding: 4px 6px; color: #374151; }
#libraryEmpty { color: #6b7280; border: 2px dashed #d1d5db; border-radius: 10px; padding: 24px; }
#progressLabel { color: #374151; }
#documentDetail { color: #374151; background: white; border: 1px solid #e5e7eb;
                  border-radius: 6px; padding: 6px 8px; }
QProgressBar { border: none; background: #e5e7eb; border-radius: 4px; }
QProgressBar::chunk { background: #4f46e5; border-radius: 4px; }
#viewerCaptionBox { background: #fffbeb; border-bottom: 1px solid #fde68a; }
#viewerCaption { color: #78350f; }
#viewerMessage { color: #374151; padding: 40px; }
Banner { border-bottom: 1px solid #e5e7eb; background: #eff6ff; color: #1e3a8a; }
Banner[kind="warning"] { background: #fffbeb; color: #78350f; }
Banner[kind="error"] { background: #fef2f2; color: #7f1d1d; }
"""


def _announce_settings_problems(report: LoadReport) -> None:
    if report.problems:
        log.warning("settings problems: %s", "; ".join(report.problems))


def run_gui() -> int:
    paths = app_paths().ensure()
    setup_logging(paths.log_file)
    log.info("Folio %s starting; data in %s", __version__, paths.data)

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.ui.errors import install_excepthook, show_error
    from desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    configure_application(app, paths)
    install_excepthook(paths.log_file)

    from PySide6.QtCore import QLockFile

    # Two windows on one data folder would purge each other's deleted chats (and their Undo)
    # and mark each other's answers as interrupted.
    instance_lock = QLockFile(str(paths.data / "folio.lock"))
    if not instance_lock.tryLock(200):
        show_error(
            None,
            "Folio is already running. Switch to its window, or quit it before starting again.",
        )
        return 1

    report = load_settings(paths.settings_file)
    _announce_settings_problems(report)
    if not paths.settings_file.exists():
        # A file to open and edit by hand from the first start (Help ▸ About shows where).
        try:
            save_settings(report.settings, paths.settings_file)
        except OSError:
            log.exception("could not write the default settings file")
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
    from desktop.ui.library_service import LibraryService

    library = LibraryService(paths)
    window = MainWindow(paths, report.settings, store, engine, library)
    window.show()
    QTimer.singleShot(0, window.load_initial_model)
    # After the model: both load on their own threads, and the chat is what people use first.
    QTimer.singleShot(0, library.open)
    if report.problems:
        QTimer.singleShot(
            0,
            lambda: show_error(
                window,
                "Some settings could not be read and were reset to their defaults:\n\n• "
                + "\n• ".join(report.problems)
                + (f"\n\nThe original file was kept as {report.backup}." if report.backup else ""),
            ),
        )
    try:
        return app.exec()
    finally:
        library.close()
        engine.close()
        store.close()
        QSettings().sync()
        instance_lock.unlock()
        log.info("Folio closed")


RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def configure_application(app: object, paths: AppPaths) -> None:
    """Names, window-state storage under Folio's config dir, and the style sheet."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
    icon = RESOURCES / "icons" / "folio.svg"
    if icon.is_file():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    # Window geometry lives beside settings.toml, so FOLIO_HOME isolates it too.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(paths.config))
