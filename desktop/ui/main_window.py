"""The main window: chats on the left, the conversation and the message box on the right."""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.core.chat.messages import Message
from desktop.core.chat.rag import SourceRef
from desktop.core.chat.store import ConversationStore
from desktop.core.documents.records import AddResult, DocumentRecord
from desktop.core.llm.engine import ChatEngine, ModelInfo
from desktop.core.models.registry import known_model_files
from desktop.core.models.starter import (
    STARTER_DISPLAY_NAME,
    is_starter_embedder,
    is_starter_model,
    starter_embedder_target,
    starter_model_path,
)
from desktop.core.paths import AppPaths
from desktop.core.settings.presets import ChatTuning, PresetLibrary
from desktop.core.settings.schema import SPECS, ModelSettings, SettingError, Settings
from desktop.core.settings.store import save_settings
from desktop.ui.appearance import apply_appearance
from desktop.ui.chat_controller import ChatController, DocumentScope
from desktop.ui.chat_view import ChatView
from desktop.ui.composer import Composer
from desktop.ui.conversation_list import ConversationSidebar
from desktop.ui.document_viewer import DocumentViewer, Passage
from desktop.ui.errors import show_error
from desktop.ui.library_pane import LibraryPane, dropped_paths
from desktop.ui.library_service import LibraryService
from desktop.ui.workers import ModelLoader

if TYPE_CHECKING:
    # Built when first opened: their imports (the downloader's HTTP stack among them) would
    # otherwise delay the window's first appearance.
    from desktop.ui.model_manager import ModelManager
    from desktop.ui.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)

UNDO_SECONDS = 10
STARTER_DISMISSED = "notices/starter_dismissed"

STARTER_NOTICE = (
    f"<b>You are chatting with {STARTER_DISPLAY_NAME}</b>, a tiny starter model (135 million "
    "parameters) that runs anywhere but often gets facts wrong. For better answers, get a "
    "larger instruct model in <b>File ▸ Models…</b> (Download), or open a GGUF file you "
    "already have with <b>Open model file…</b>."
)


def templateless_notice(name: str) -> str:
    return (
        f"<b>{name} has no chat template</b>: it is a base model, not tuned for conversation. "
        "Folio prompts it with a plain “User: / Assistant:” transcript and ends each answer at "
        "the end of its first line; expect it to continue text rather than follow instructions. An "
        "<i>instruct</i> model chats far better."
    )


class ElidedLabel(QLabel):
    """A one-line label that ends in “…” when the window is too narrow for all of it."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full_text = ""
        self.setMinimumWidth(40)
        # Takes its full width when there is room, shrinks (with “…”) when there is not.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802
        self._full_text = text
        self._elide()

    def full_text(self) -> str:
        return self._full_text

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(
            self.fontMetrics().horizontalAdvance(self._full_text) + 8, super().sizeHint().height()
        )

    def _elide(self) -> None:
        elided = self.fontMetrics().elidedText(
            self._full_text, Qt.TextElideMode.ElideRight, max(self.width(), 40)
        )
        super().setText(elided)
        self.setToolTip(self._full_text if elided != self._full_text else "")


class Banner(QFrame):
    """A calm, dismissible notice above the conversation, with an optional action."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.action_button = QPushButton()
        self.action_button.setObjectName("bannerAction")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Hide this notice")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self._on_close_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @Slot()
    def _on_close_clicked(self) -> None:
        self.hide()
        self.dismissed.emit()

    def show_notice(self, html: str, kind: str = "info", action: str = "") -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(html)
        self.action_button.setText(action)
        self.action_button.setVisible(bool(action))
        self.show()


class MainWindow(QMainWindow):
    def __init__(
        self,
        paths: AppPaths,
        settings: Settings,
        store: ConversationStore,
        engine: ChatEngine,
        library: LibraryService | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.setObjectName("mainWindow")
        self._paths = paths
        self._settings = settings
        self._store = store
        self._engine = engine
        self._editing: int | None = None
        # What the user had typed before starting an edit, given back when the edit ends.
        self._draft = ""
        self._pending_undo: int | None = None
        self._loading_path: Path | None = None
        self._starter_notice_shown = False
        self._library = library
        self._viewer: DocumentViewer | None = None

        self.presets = PresetLibrary(paths.presets_file)
        self.controller = ChatController(
            store, engine, lambda: self._settings, self, library=library, presets=self.presets
        )
        if library is not None:
            library.configure(settings.documents)
        self._reload_after_answer = False
        self._model_settings_before: ModelSettings | None = None
        self._settings_dialog: SettingsDialog | None = None
        self._chat_dialog: SettingsDialog | None = None
        self._chat_dialog_for = -1
        # The embedding model setting before a switch, restored if the switch fails.
        self._embedder_in_use = settings.documents.embedding_model
        self._model_manager: ModelManager | None = None
        self.loader = ModelLoader(engine, self)
        self._build()
        self._connect()
        self._resize_to_screen()
        self._restore_geometry()
        self.sidebar.refresh()
        self.controller.new_conversation()

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.sidebar = ConversationSidebar(self._store)
        self.sidebar.setMinimumWidth(200)

        self.title_label = ElidedLabel("New chat")
        self.title_label.setObjectName("chatTitle")
        self.model_label = ElidedLabel("No model")
        self.model_label.setObjectName("modelLabel")
        self.open_model_button = QPushButton("Open model file…")
        self.open_model_button.setObjectName("openModelButton")
        header = QWidget()
        header.setObjectName("chatHeader")
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(16, 10, 12, 10)
        # Both elide; the title keeps room for a few words, the model name gives way first.
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title_label.setMinimumWidth(120)
        self.model_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.tuning_button = QToolButton()
        self.tuning_button.setObjectName("tuningButton")
        self.tuning_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tuning_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.tuning_menu = QMenu(self.tuning_button)
        self.tuning_menu.aboutToShow.connect(self._on_tuning_menu_shown)
        self.tuning_button.setMenu(self.tuning_menu)
        header_layout.addWidget(self.title_label, 3)
        header_layout.addWidget(self.model_label, 2)
        header_layout.addWidget(self.tuning_button)
        header_layout.addWidget(self.open_model_button)
        self.library_button = QPushButton("Documents")
        self.library_button.setObjectName("libraryButton")
        self.library_button.setCheckable(True)
        self.library_button.setToolTip("Show or hide the document library (Ctrl+L)")
        header_layout.addWidget(self.library_button)

        # Two notices: what the loaded model is like (stays), and the latest problem (goes away
        # with the next answer or when dismissed).
        self.banner = Banner()
        self.error_banner = Banner()
        self.error_banner.setObjectName("errorBanner")
        self.chat_view = ChatView()

        self.edit_notice = QLabel(
            "Editing a message: Enter resends it and replaces what followed; Esc cancels."
        )
        self.edit_notice.setObjectName("editNotice")
        self.edit_notice.hide()
        self.composer = Composer()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.scope_button = QToolButton()
        self.scope_button.setObjectName("scopeButton")
        self.scope_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.scope_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._build_scope_menu()
        composer_row = QHBoxLayout()
        composer_row.setContentsMargins(0, 0, 0, 0)
        composer_row.addWidget(self.composer, 1)
        composer_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        scope_row = QHBoxLayout()
        scope_row.setContentsMargins(0, 0, 0, 4)
        scope_row.addWidget(self.scope_button)
        scope_row.addStretch(1)
        composer_box = QWidget()
        composer_box.setObjectName("composerBox")
        composer_layout = QVBoxLayout(composer_box)
        composer_layout.setContentsMargins(16, 8, 16, 12)
        composer_layout.addWidget(self.edit_notice)
        composer_layout.addLayout(scope_row)
        composer_layout.addLayout(composer_row)

        chat_pane = QWidget()
        chat_layout = QVBoxLayout(chat_pane)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        chat_layout.addWidget(header)
        chat_layout.addWidget(self.banner)
        chat_layout.addWidget(self.error_banner)
        chat_layout.addWidget(self.chat_view, 1)
        chat_layout.addWidget(composer_box)

        self.splitter = QSplitter()
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(chat_pane)
        self.library_pane: LibraryPane | None = None
        if self._library is not None:
            self.library_pane = LibraryPane(self._library)
            self.library_pane.setMinimumWidth(360)
            self.splitter.addWidget(self.library_pane)
            self.library_pane.hide()
        else:
            self.library_button.hide()
            self.scope_button.hide()
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 920, 0])
        self.setCentralWidget(self.splitter)
        self.setAcceptDrops(self._library is not None)

        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undoButton")
        self.undo_button.hide()
        self.statusBar().addPermanentWidget(self.undo_button)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(UNDO_SECONDS * 1000)
        self._undo_timer.timeout.connect(self._on_undo_expired)

        self._build_menus()
        self._set_busy(False)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action(file_menu, "&New chat", QKeySequence.StandardKey.New)
        self.open_model_action = self._action(
            file_menu, "&Open model file…", QKeySequence.StandardKey.Open
        )
        file_menu.addSeparator()
        self.add_documents_action = self._action(file_menu, "&Add documents…")
        self.add_folder_action = self._action(file_menu, "Add a &folder of documents…")
        self.add_documents_action.setEnabled(self._library is not None)
        self.add_folder_action.setEnabled(self._library is not None)
        file_menu.addSeparator()
        self.export_md_action = self._action(file_menu, "Export chat as &Markdown…")
        self.export_json_action = self._action(file_menu, "Export chat as &JSON…")
        file_menu.addSeparator()
        self.settings_action = self._action(file_menu, "&Settings…", QKeySequence("Ctrl+,"))
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.models_action = self._action(file_menu, "&Models…", QKeySequence("Ctrl+Shift+M"))
        file_menu.addSeparator()
        self.quit_action = self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit)

        chat_menu = self.menuBar().addMenu("&Chat")
        self.stop_action = self._action(chat_menu, "&Stop answer", QKeySequence("Ctrl+."))
        self.regenerate_action = self._action(
            chat_menu, "&Regenerate last answer", QKeySequence("Ctrl+R")
        )
        self.rename_action = self._action(chat_menu, "Re&name chat", QKeySequence("F2"))
        self.delete_action = self._action(chat_menu, "&Delete chat")
        chat_menu.addSeparator()
        self.chat_settings_action = self._action(
            chat_menu, "Settings for &this chat…", QKeySequence("Ctrl+Shift+,")
        )

        view_menu = self.menuBar().addMenu("&View")
        self.show_library_action = self._action(
            view_menu, "&Document library", QKeySequence("Ctrl+L")
        )
        self.show_library_action.setCheckable(True)
        self.show_library_action.setEnabled(self._library is not None)

        help_menu = self.menuBar().addMenu("&Help")
        self.log_action = self._action(help_menu, "Open &log folder")
        self.about_action = self._action(help_menu, "&About Folio")

    def _build_scope_menu(self) -> None:
        menu = QMenu(self.scope_button)
        group = QActionGroup(menu)
        self.scope_off_action = menu.addAction("Chat without documents")
        self.scope_all_action = menu.addAction("Answer from all documents")
        self.scope_selected_action = menu.addAction("Answer from the selected documents")
        for action in (self.scope_off_action, self.scope_all_action, self.scope_selected_action):
            action.setCheckable(True)
            group.addAction(action)
        menu.aboutToShow.connect(self._on_scope_menu_shown)
        self.scope_button.setMenu(menu)
        self._show_scope(DocumentScope())

    def _action(
        self,
        menu: object,
        text: str,
        shortcut: QKeySequence | QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        menu.addAction(action)  # type: ignore[attr-defined]
        return action

    def _connect(self) -> None:
        controller = self.controller
        controller.conversation_opened.connect(self._on_conversation_opened)
        controller.conversations_changed.connect(self._on_conversations_changed)
        controller.messages_reset.connect(self._on_messages_reset)
        controller.message_added.connect(self.chat_view.add_message)
        controller.stream_started.connect(self.chat_view.begin_stream)
        controller.stream_text.connect(self.chat_view.append_stream_text)
        controller.stream_finished.connect(self.chat_view.finish_stream)
        controller.busy_changed.connect(self._set_busy)
        controller.context_trimmed.connect(self._on_context_trimmed)
        controller.error_raised.connect(self._on_error_raised)
        controller.question_returned.connect(self._on_question_returned)
        controller.scope_changed.connect(self._show_scope)
        controller.tuning_changed.connect(self._show_tuning)
        controller.notice.connect(self._on_notice)

        self.loader.loaded.connect(self._on_model_loaded)
        self.loader.failed.connect(self._on_model_failed)

        self.sidebar.conversation_selected.connect(self._on_conversation_selected)
        self.sidebar.new_requested.connect(self._on_new_chat)
        self.sidebar.rename_requested.connect(self._on_rename_requested)
        self.sidebar.delete_requested.connect(self._on_delete_requested)
        self.sidebar.export_requested.connect(self._on_export_requested)

        self.chat_view.edit_requested.connect(self._on_edit_requested)
        self.chat_view.regenerate_requested.connect(self._on_regenerate_requested)
        self.chat_view.copied.connect(self._on_copied)
        self.chat_view.source_requested.connect(self._on_source_requested)
        self.library_button.toggled.connect(self._on_library_toggled)
        self.show_library_action.toggled.connect(self._on_library_toggled)
        self.add_documents_action.triggered.connect(self._on_add_documents)
        self.add_folder_action.triggered.connect(self._on_add_folder)
        self.scope_off_action.triggered.connect(self._on_scope_off)
        self.scope_all_action.triggered.connect(self._on_scope_all)
        self.scope_selected_action.triggered.connect(self._on_scope_selected)
        if self.library_pane is not None and self._library is not None:
            self.library_pane.open_requested.connect(self._on_open_document)
            self.library_pane.status_message.connect(self._on_notice)
            self._library.files_added.connect(self._on_files_added)
            self._library.opened.connect(self._on_library_opened)
            self._library.embedder_switched.connect(self._on_embedder_switched)
            self._library.embedder_switch_failed.connect(self._on_embedder_switch_failed)
            self._library.kept_embedder.connect(self._on_kept_embedder)

        self.composer.submitted.connect(self._on_submitted)
        self.composer.escape_pressed.connect(self._on_escape)
        self.send_button.clicked.connect(self._on_send_button)
        self.open_model_button.clicked.connect(self._on_open_model)
        self.banner.dismissed.connect(self._on_banner_dismissed)
        self.error_banner.action_button.clicked.connect(self._on_open_model)
        self.undo_button.clicked.connect(self._on_undo_delete)

        self.new_action.triggered.connect(self._on_new_chat)
        self.open_model_action.triggered.connect(self._on_open_model)
        self.export_md_action.triggered.connect(lambda: self._export_current("markdown"))
        self.export_json_action.triggered.connect(lambda: self._export_current("json"))
        self.quit_action.triggered.connect(self.close)
        self.stop_action.triggered.connect(self._stop)
        self.regenerate_action.triggered.connect(self.controller.regenerate_last)
        self.rename_action.triggered.connect(self._on_rename_current)
        self.delete_action.triggered.connect(self._on_delete_current)
        self.log_action.triggered.connect(self._on_open_log_folder)
        self.settings_action.triggered.connect(self.open_settings)
        self.models_action.triggered.connect(self.open_models)
        self.chat_settings_action.triggered.connect(self.open_chat_settings)
        self.about_action.triggered.connect(self._on_about)

    # -- model ----------------------------------------------------------------------------------

    def load_initial_model(self) -> None:
        configured = self._settings.model.model_path
        path = Path(configured).expanduser() if configured else starter_model_path()
        if path is None:
            self.model_label.setText("No model")
            self.banner.show_notice(
                "<b>No model yet.</b> The starter model is not installed. Open a GGUF model file "
                "to start chatting.",
                "warning",
                "Open model file…",
            )
            return
        self.load_model(path)

    def load_model(self, path: Path) -> None:
        if self.controller.busy:
            show_error(self, "Stop the current answer before switching models.")
            return
        self._loading_path = path
        self.model_label.setText(f"Loading {path.stem}…")
        self._set_busy(self.controller.busy)
        self.loader.load(path, self._settings.model)

    @Slot(object)
    def _on_model_loaded(self, info: ModelInfo) -> None:
        self._loading_path = None
        self.error_banner.hide()
        self.model_label.setText(f"{info.name} · {info.context_length:,}-token context")
        self.model_label.setToolTip(
            f"{info.path}\n{info.architecture}, {info.parameter_count / 1e6:,.0f}M parameters, "
            f"{info.file_size / 1e6:,.0f} MB\nPrompt format: {info.prompt_format}\n"
            f"Threads: {info.threads}"
        )
        self.chat_view.set_model_name(info.name)
        starter = is_starter_model(info.path)
        self._starter_notice_shown = False
        if not info.has_chat_template:
            self.banner.show_notice(templateless_notice(info.name), "warning")
        elif starter and not QSettings().value(STARTER_DISMISSED, False, bool):
            self.banner.show_notice(STARTER_NOTICE, "info")
            self._starter_notice_shown = True
        else:
            self.banner.hide()
        self._model_settings_before = None
        remembered = "" if starter else str(info.path)
        if remembered != self._settings.model.model_path:
            self._settings = self._settings.with_values({"model_path": remembered})
            self._save_settings()
        self._set_busy(self.controller.busy)
        if self._model_manager is not None:
            self._model_manager.update_in_use()
        self.statusBar().showMessage(f"{info.name} is ready.", 5000)

    @Slot()
    def _on_banner_dismissed(self) -> None:
        # The starter notice is advice, read once; other model notices return with the model.
        if self._starter_notice_shown:
            QSettings().setValue(STARTER_DISMISSED, True)

    @Slot(str)
    def _on_model_failed(self, reason: str) -> None:
        self._loading_path = None
        before = self._model_settings_before
        if before is not None:
            self._model_settings_before = None
            self._settings = replace(self._settings, model=before)
            self._save_settings()
            reason += " The previous model settings were put back."
        loaded = self._engine.info
        if loaded is not None:
            self.model_label.setText(f"{loaded.name} · {loaded.context_length:,}-token context")
        else:
            self.model_label.setText("No model")
        self._set_busy(self.controller.busy)
        if loaded is not None and "still loaded" not in reason:
            reason += f" {loaded.name} is still loaded."
        self.error_banner.show_notice(
            f"<b>The model could not be loaded.</b> {html.escape(reason)}",
            "error",
            "Open another file…",
        )

    @Slot()
    def _on_open_model(self) -> None:
        start = (
            str(Path(self._settings.model.model_path).parent)
            if self._settings.model.model_path
            else str(Path.home())
        )
        filename, _ = QFileDialog.getOpenFileName(
            self, "Open a GGUF model", start, "GGUF models (*.gguf);;All files (*)"
        )
        if filename:
            self.load_model(Path(filename))

    # -- settings -------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def open_settings(self) -> SettingsDialog:
        """The global settings (every chat's defaults); applied without closing on Apply."""
        from desktop.ui.settings_dialog import SettingsDialog

        if self._settings_dialog is not None:
            self._settings_dialog.raise_()
            self._settings_dialog.activateWindow()
            return self._settings_dialog
        dialog = SettingsDialog(self._settings, self.presets, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.applied.connect(self._on_settings_applied)
        dialog.finished.connect(self._on_settings_dialog_finished)
        self._settings_dialog = dialog
        dialog.show()
        return dialog

    @Slot()
    def _on_settings_dialog_finished(self) -> None:
        self._settings_dialog = None

    def open_chat_settings(self) -> SettingsDialog:
        """This chat's own generation settings, on top of the global ones. One such dialog at
        a time, for the chat shown: opening another chat closes it."""
        from desktop.ui.settings_dialog import SettingsDialog

        if self._chat_dialog is not None:
            self._chat_dialog.close()
        tuning = self.controller.tuning
        dialog = SettingsDialog(
            self.controller.chat_settings(),
            self.presets,
            self,
            defaults=self._settings,
            chat_title=self.title_label.full_text() or "New chat",
            chat_preset=tuning.preset,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.applied.connect(self._on_chat_settings_applied)
        dialog.finished.connect(self._on_chat_dialog_finished)
        dialog.show()
        self._chat_dialog = dialog
        current = self.controller.current_conversation
        self._chat_dialog_for = -1 if current is None else current
        return dialog

    @Slot()
    def _on_chat_dialog_finished(self) -> None:
        self._chat_dialog = None

    @Slot(object, object)
    def _on_chat_settings_applied(self, chosen: Settings, changed: list[str]) -> None:
        dialog = self._chat_dialog
        if dialog is None:
            return
        tuning = self.controller.tuning.with_changes(
            dialog.chosen_preset(), chosen, changed, self._settings, self.presets
        )
        self.controller.set_tuning(tuning)
        self.statusBar().showMessage("This chat's settings apply from the next answer.", 5000)

    @Slot(object, object)
    def _on_settings_applied(self, edited: Settings, keys: list[str]) -> None:
        previous = self._settings
        try:
            chosen = previous.with_values({key: edited.value(key) for key in keys})
        except SettingError as error:
            show_error(self, str(error))
            return
        changed = chosen.changed_keys(previous)
        if not changed:
            return
        if "embedding_model" in changed and not self._confirm_embedder_change(chosen):
            chosen = chosen.with_values({"embedding_model": previous.documents.embedding_model})
            changed.remove("embedding_model")
            if self._settings_dialog is not None:
                self._settings_dialog.set_value(
                    "embedding_model", previous.value("embedding_model")
                )
        self._settings = chosen
        self._save_settings()
        if self._library is not None:
            self._library.configure(chosen.documents)
            if "embedding_model" in changed:
                path = chosen.documents.embedding_model
                self._embedder_in_use = previous.documents.embedding_model
                self._library.switch_embedder(Path(path).expanduser() if path else None)
            elif {"chunk_size", "chunk_overlap"} & set(changed):
                self._offer_reindex()
        if {"theme", "font_size"} & set(changed):
            self._apply_appearance()
        self._show_tuning(self.controller.tuning)
        self.statusBar().showMessage("Settings saved; they apply from the next answer.", 5000)
        if any(SPECS[key].reloads_model for key in changed):
            # Kept until the model loads: if it fails, these settings go back, so that the
            # next start does not begin with a model that cannot load.
            self._model_settings_before = previous.model
            if self.controller.busy:
                self._reload_after_answer = True
                self.statusBar().showMessage(
                    "The model reloads with the new settings when this answer ends.", 8000
                )
            else:
                self._reload_model()

    @Slot()
    def _on_embedder_switched(self) -> None:
        self.statusBar().showMessage(
            "The new embedding model is in use; your documents are being indexed again.", 8000
        )
        if self._model_manager is not None:
            self._model_manager.update_in_use()

    @Slot(str)
    def _on_embedder_switch_failed(self, reason: str) -> None:
        # The library kept its model, so the setting goes back to the model in use.
        self._settings = self._settings.with_values({"embedding_model": self._embedder_in_use})
        self._save_settings()
        if self._settings_dialog is not None:
            self._settings_dialog.set_value("embedding_model", self._embedder_in_use)
        show_error(self, f"The embedding model was not changed: {reason}")

    @Slot(str)
    def _on_kept_embedder(self, name: str) -> None:
        self.statusBar().showMessage(
            f"Your documents were indexed with {name}, so Folio searches them with it. To use "
            "another embedding model, choose it in Settings ▸ Documents.",
            12000,
        )

    def _confirm_embedder_change(self, chosen: Settings) -> bool:
        library = self._library
        count = len(library.documents()) if library is not None else 0
        if count == 0 and library is not None and library.library is not None:
            return True  # an open, empty library has nothing to index again
        documents = f"{count} document{'s' if count != 1 else ''}" if count else "documents"
        path = chosen.documents.embedding_model
        name = Path(path).name if path else "the built-in embedding model"
        answer = QMessageBox.question(
            self,
            "Change the embedding model?",
            "Search by meaning needs every document embedded by the same model. Switching to "
            f"{name} indexes your {documents} again; each one is found again as soon as it "
            "is done.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _offer_reindex(self) -> None:
        assert self._library is not None
        count = len(self._library.documents())
        if count == 0:
            return
        answer = QMessageBox.question(
            self,
            "Index your documents again?",
            f"The new passage size applies to documents indexed from now on. Index your {count} "
            f"document{'s' if count != 1 else ''} again now, so every search uses it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._library.reindex_all()

    def _apply_appearance(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_appearance(app, self._settings.appearance)
        if self._editing is None:
            # Drawn again so the messages already shown take the new colours too (an answer
            # being written, or a message being edited, keeps its place until the next draw).
            self.controller.redraw()

    def _reload_model(self) -> None:
        # An empty model file means the starter model, as its help says.
        configured = self._settings.model.model_path
        path = Path(configured).expanduser() if configured else starter_model_path()
        if path is not None:
            self.load_model(path)

    @Slot(object)
    def _show_tuning(self, tuning: ChatTuning) -> None:
        text = tuning.describe(self.presets)
        self.tuning_button.setText(f"{text} ▾")
        self.tuning_button.setProperty("changed", not tuning.is_default)
        self.tuning_button.style().unpolish(self.tuning_button)
        self.tuning_button.style().polish(self.tuning_button)
        settings = self.controller.chat_settings().generation
        self.tuning_button.setToolTip(
            f"Settings for this chat: {text}\n"
            f"temperature {settings.temperature:g}, top-p {settings.top_p:g}, top-k "
            f"{settings.top_k}, min-p {settings.min_p:g}, repeat penalty "
            f"{settings.repeat_penalty:g}\nChoose a preset, or adjust this chat alone."
        )

    @Slot()
    def _on_tuning_menu_shown(self) -> None:
        menu = self.tuning_menu
        menu.clear()
        current = self.controller.tuning
        group = QActionGroup(menu)
        default = menu.addAction("Global settings")
        default.setCheckable(True)
        default.setChecked(not current.preset)
        default.setData("")
        group.addAction(default)
        for preset in self.presets.all():
            action = menu.addAction(preset.name)
            action.setCheckable(True)
            action.setChecked(current.preset == preset.name)
            action.setData(preset.name)
            if preset.description:
                action.setToolTip(preset.description)
            group.addAction(action)
        group.triggered.connect(self._on_tuning_preset_chosen)
        menu.addSeparator()
        menu.addAction(self.chat_settings_action)
        if current.overrides:
            clear = menu.addAction("Forget this chat's own values")
            clear.triggered.connect(self._on_tuning_overrides_cleared)

    @Slot(QAction)
    def _on_tuning_preset_chosen(self, action: QAction) -> None:
        name = action.data()
        # Choosing a preset is a fresh start: the chat's own values on top are dropped.
        self.controller.set_tuning(ChatTuning(name if isinstance(name, str) else ""))

    @Slot()
    def _on_tuning_overrides_cleared(self) -> None:
        self.controller.set_tuning(ChatTuning(self.controller.tuning.preset))

    def open_models(self) -> ModelManager:
        from desktop.ui.model_manager import ModelManager

        if self._model_manager is not None:
            self._model_manager.show()
            self._model_manager.raise_()
            self._model_manager.activateWindow()
            return self._model_manager
        manager = ModelManager(
            self._paths.models,
            self._known_model_files,
            lambda: self._settings.model.context_length,
            self._chat_model_path,
            self._embedding_model_path,
            self,
        )
        manager.chat_model_chosen.connect(self._on_chat_model_chosen)
        manager.embedding_model_chosen.connect(self._on_embedding_model_chosen)
        self._model_manager = manager
        manager.show()
        return manager

    def _known_model_files(self) -> list[Path]:
        loaded = self._engine.info.path if self._engine.info is not None else None
        configured = (self._settings.model.model_path, self._settings.documents.embedding_model)
        return known_model_files(self._paths.cache, configured, loaded)

    def _chat_model_path(self) -> Path | None:
        info = self._engine.info
        return info.path if info is not None else None

    def _embedding_model_path(self) -> Path | None:
        configured = self._settings.documents.embedding_model
        if configured:
            return Path(configured).expanduser()
        return starter_embedder_target(self._paths.cache)

    @Slot(object)
    def _on_chat_model_chosen(self, path: Path) -> None:
        self.load_model(path)

    @Slot(object)
    def _on_embedding_model_chosen(self, path: Path) -> None:
        chosen = "" if is_starter_embedder(path) else str(path)
        if chosen != self._settings.documents.embedding_model:
            edited = self._settings.with_values({"embedding_model": chosen})
            self._on_settings_applied(edited, ["embedding_model"])
            if self._model_manager is not None:
                self._model_manager.update_in_use()

    def _save_settings(self) -> None:
        try:
            save_settings(self._settings, self._paths.settings_file)
        except OSError as exc:
            log.exception("could not save settings")
            self.statusBar().showMessage(f"Settings could not be saved: {exc}", 8000)

    # -- chatting -------------------------------------------------------------------------------

    @Slot(str)
    def _on_submitted(self, text: str) -> None:
        if self.controller.busy:
            return
        if self._loading_path is not None:
            self.statusBar().showMessage("The model is still loading…", 3000)
            return
        if self._editing is not None:
            accepted = self.controller.edit_and_resend(self._editing, text)
        else:
            accepted = self.controller.send(text)
        if accepted:
            self.error_banner.hide()
            self.composer.clear()
            self._end_edit(restore_draft=True)

    @Slot()
    def _on_send_button(self) -> None:
        if self.controller.busy:
            self._stop()
        else:
            self.composer.submit()
        self.composer.setFocus()

    def _stop(self) -> None:
        self.controller.stop()
        self.statusBar().showMessage("Stopped.", 3000)

    @Slot()
    def _on_escape(self) -> None:
        if self.controller.busy:
            self._stop()
        elif self._editing is not None:
            self._end_edit(restore_draft=True)

    @Slot(bool)
    def _set_busy(self, busy: bool) -> None:
        self.send_button.setText("Stop" if busy else "Send")
        self.send_button.setToolTip("Stop the answer (Esc)" if busy else "Send (Enter)")
        self.send_button.setProperty("stop", busy)
        self.send_button.style().unpolish(self.send_button)
        self.send_button.style().polish(self.send_button)
        loading = self._loading_path is not None
        self.send_button.setEnabled(busy or (self._engine.info is not None and not loading))
        self.stop_action.setEnabled(busy)
        self.regenerate_action.setEnabled(not busy and not loading)
        self.open_model_button.setEnabled(not busy and not loading)
        self.open_model_action.setEnabled(not busy and not loading)
        if not busy and self._reload_after_answer:
            self._reload_after_answer = False
            QTimer.singleShot(0, self._reload_model)

    @Slot(int)
    def _on_edit_requested(self, message_id: int) -> None:
        if self.controller.busy:
            self.statusBar().showMessage("Stop the answer before editing.", 4000)
            return
        message = self._store.message(message_id)
        if message is None:
            return
        if self._editing is None:
            self._draft = self.composer.toPlainText()
        self._editing = message_id
        later = [
            m
            for m in self._store.messages(message.conversation_id)
            if m.position > message.position
        ]
        replaced = (
            f"; sending it replaces the {len(later)} message{'s' if len(later) != 1 else ''} "
            "after it"
            if later
            else ""
        )
        self.edit_notice.setText(f"Editing your message{replaced}. Esc cancels.")
        self.edit_notice.show()
        self.composer.setPlainText(message.content)
        self.composer.setFocus()
        self.composer.moveCursor(self.composer.textCursor().MoveOperation.End)

    def _end_edit(self, restore_draft: bool = False) -> None:
        if self._editing is not None and restore_draft:
            self.composer.setPlainText(self._draft)
        self._editing = None
        self._draft = ""
        self.edit_notice.hide()

    @Slot(int)
    def _on_regenerate_requested(self, message_id: int) -> None:
        self.controller.regenerate(message_id)

    @Slot(int)
    def _on_context_trimmed(self, dropped: int) -> None:
        self.statusBar().showMessage(
            f"The chat is longer than the model's context window: {dropped} earlier "
            f"message{'s were' if dropped != 1 else ' was'} left out of this answer's prompt.",
            10000,
        )

    @Slot(str)
    def _on_error_raised(self, message: str) -> None:
        self.error_banner.show_notice(html.escape(message), "error")

    @Slot(str)
    def _on_question_returned(self, text: str) -> None:
        if not self.composer.toPlainText().strip():
            self.composer.setPlainText(text)
            self.composer.setFocus()

    @Slot(str)
    def _on_copied(self, confirmation: str) -> None:
        self.statusBar().showMessage(confirmation, 2500)
        self.composer.setFocus()

    # -- documents ------------------------------------------------------------------------------

    @Slot(bool)
    def _on_library_toggled(self, shown: bool) -> None:
        if self.library_pane is None:
            return
        self.library_button.setChecked(shown)
        self.show_library_action.setChecked(shown)
        if shown == self.library_pane.isVisible():
            return
        self.library_pane.setVisible(shown)
        if shown:
            # The chat keeps at least half the window: the sidebar narrows first.
            total = sum(self.splitter.sizes())
            sidebar = min(self.splitter.sizes()[0], 200)
            library = min(500, max(380, total * 3 // 8))
            self.splitter.setSizes([sidebar, total - sidebar - library, library])

    def show_library(self) -> None:
        self._on_library_toggled(True)

    def add_documents(self, paths: list[Path]) -> None:
        if self.library_pane is None:
            return
        self.show_library()
        self.library_pane.add_paths(paths)

    @Slot()
    def _on_add_documents(self) -> None:
        self.show_library()
        if self.library_pane is not None:
            self.library_pane.add_files_button.click()

    @Slot()
    def _on_add_folder(self) -> None:
        self.show_library()
        if self.library_pane is not None:
            self.library_pane.add_folder_button.click()

    @Slot()
    def _on_library_opened(self) -> None:
        # Someone with a library most likely wants a new chat to use it.
        has_documents = self._library is not None and bool(self._library.documents())
        if (
            has_documents
            and self.controller.current_conversation is None
            and not self.controller.document_scope.enabled
        ):
            self.controller.set_document_scope(DocumentScope(True, None))

    @Slot(object)
    def _on_files_added(self, results: list[AddResult]) -> None:
        added = any(r.outcome in ("added", "changed", "unchanged") for r in results)
        if added and not self.controller.document_scope.enabled:
            # Documents were just added: the obvious next step is to ask about them.
            self.controller.set_document_scope(DocumentScope(True, None))

    @Slot()
    def _on_scope_menu_shown(self) -> None:
        selected = self.library_pane.selected_records() if self.library_pane else []
        self.scope_selected_action.setEnabled(bool(selected))
        self.scope_selected_action.setText(
            f"Answer from the {len(selected):,} selected document"
            f"{'s' if len(selected) != 1 else ''}"
            if selected
            else "Answer from the documents selected in the library"
        )

    @Slot()
    def _on_scope_off(self) -> None:
        self.controller.set_document_scope(DocumentScope())

    @Slot()
    def _on_scope_all(self) -> None:
        self.controller.set_document_scope(DocumentScope(True, None))

    @Slot()
    def _on_scope_selected(self) -> None:
        selected = self.library_pane.selected_records() if self.library_pane else []
        if selected:
            self.controller.set_document_scope(
                DocumentScope(True, tuple(record.id for record in selected))
            )

    @Slot(object)
    def _show_scope(self, scope: DocumentScope) -> None:
        if not scope.enabled:
            text, tip = "Documents: off", "Answers come from the model alone."
            self.scope_off_action.setChecked(True)
        elif scope.document_ids is None:
            text = "Documents: all"
            tip = "Answers come from your whole library, with sources you can open."
            self.scope_all_action.setChecked(True)
        else:
            names = self._document_names(scope.document_ids)
            count = len(scope.document_ids)
            text = f"Documents: {count:,} chosen" if count != 1 else f"{names[0]}"
            tip = "Answers come only from:\n" + "\n".join(names[:20])
            self.scope_selected_action.setChecked(True)
        self.scope_button.setText(text + " ▾")
        self.scope_button.setToolTip(tip + "\nClick to change.")

    def _document_names(self, document_ids: tuple[str, ...]) -> list[str]:
        library = self._library.library if self._library is not None else None
        names = []
        for document_id in document_ids:
            record = library.document(document_id) if library is not None else None
            names.append(record.name if record is not None else "(removed document)")
        return names

    @Slot(object)
    def _on_source_requested(self, source: SourceRef) -> None:
        self.open_passage(
            Passage(
                path=source.path,
                name=source.file,
                page=source.page_start,
                text=source.text,
                caption=f"Source [{source.number}]: {source.file}, {source.page_text}",
            )
        )

    @Slot(object)
    def _on_open_document(self, record: DocumentRecord) -> None:
        self.open_passage(Passage(path=record.path, name=record.name, page=1))

    def open_passage(self, passage: Passage) -> DocumentViewer:
        if self._viewer is None:
            self._viewer = DocumentViewer(self)
        # Shown first, so that the page is placed in a view that has its size.
        self._viewer.show()
        self._viewer.show_passage(passage)
        self._viewer.raise_()
        self._viewer.activateWindow()
        return self._viewer

    @property
    def viewer(self) -> DocumentViewer | None:
        return self._viewer

    @Slot(str)
    def _on_notice(self, message: str) -> None:
        self.statusBar().showMessage(message, 6000)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._library is not None and dropped_paths(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = dropped_paths(event.mimeData().urls())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_documents(paths)

    # -- conversations --------------------------------------------------------------------------

    @Slot(int)
    def _on_conversation_opened(self, conversation_id: int) -> None:
        # An edit belongs to its chat: leaving the chat cancels it.
        self._end_edit(restore_draft=True)
        if self._chat_dialog is not None and self._chat_dialog_for != conversation_id:
            # The dialog edits the chat it was opened for, and that chat is no longer shown.
            self._chat_dialog.close()
        summary = self._store.conversation(conversation_id) if conversation_id >= 0 else None
        self.title_label.setText(summary.title if summary and summary.title else "New chat")
        self.sidebar.select(conversation_id if conversation_id >= 0 else None)
        self.composer.setFocus()

    @Slot()
    def _on_conversations_changed(self) -> None:
        self.sidebar.refresh()
        current = self.controller.current_conversation
        summary = self._store.conversation(current) if current is not None else None
        self.title_label.setText(summary.title if summary and summary.title else "New chat")

    @Slot(list)
    def _on_messages_reset(self, messages: list[Message]) -> None:
        self.chat_view.show_messages(messages)

    @Slot(int)
    def _on_conversation_selected(self, conversation_id: int) -> None:
        self.controller.open_conversation(conversation_id)

    @Slot()
    def _on_new_chat(self) -> None:
        self.controller.new_conversation()

    @Slot(int, str)
    def _on_rename_requested(self, conversation_id: int, title: str) -> None:
        try:
            self.controller.rename_conversation(conversation_id, title)
        except (ValueError, LookupError) as exc:
            self.statusBar().showMessage(str(exc), 5000)

    @Slot()
    def _on_rename_current(self) -> None:
        current = self.controller.current_conversation
        if current is not None:
            self.sidebar.start_rename(current)

    @Slot(int)
    def _on_delete_requested(self, conversation_id: int) -> None:
        summary = self._store.conversation(conversation_id)
        if summary is None:
            return
        self._finish_pending_undo()
        self.controller.delete_conversation(conversation_id)
        self._pending_undo = conversation_id
        self.undo_button.show()
        self._undo_timer.start()
        self.statusBar().showMessage(f"Deleted “{summary.title}”.", UNDO_SECONDS * 1000)

    @Slot()
    def _on_delete_current(self) -> None:
        current = self.controller.current_conversation
        if current is not None:
            self._on_delete_requested(current)

    @Slot()
    def _on_undo_delete(self) -> None:
        conversation_id = self._pending_undo
        self._undo_timer.stop()
        self._pending_undo = None
        self.undo_button.hide()
        if conversation_id is not None:
            self.controller.restore_conversation(conversation_id)
            self.controller.open_conversation(conversation_id)
            self.statusBar().showMessage("Chat restored.", 3000)

    @Slot()
    def _on_undo_expired(self) -> None:
        self._finish_pending_undo()

    def _finish_pending_undo(self) -> None:
        # A deleted chat stays recoverable until the next start, when the store purges it.
        self._pending_undo = None
        self.undo_button.hide()
        self.statusBar().clearMessage()

    def _export_current(self, kind: str) -> None:
        current = self.controller.current_conversation
        if current is None:
            self.statusBar().showMessage("There is nothing to export yet.", 4000)
            return
        self._on_export_requested(current, kind)

    @Slot(int, str)
    def _on_export_requested(self, conversation_id: int, kind: str) -> None:
        summary = self._store.conversation(conversation_id)
        if summary is None:
            return
        suffix, label = (
            (".md", "Markdown (*.md)") if kind == "markdown" else (".json", "JSON (*.json)")
        )
        suggested = str(Path.home() / (_safe_filename(summary.title) + suffix))
        filename, _ = QFileDialog.getSaveFileName(self, "Export chat", suggested, label)
        if not filename:
            return
        self.export_conversation(conversation_id, Path(filename), kind)

    def export_conversation(self, conversation_id: int, target: Path, kind: str) -> bool:
        if kind == "markdown":
            content = self._store.export_markdown(conversation_id)
        else:
            content = json.dumps(
                self._store.export_json(conversation_id), indent=2, ensure_ascii=False
            )
        try:
            target.write_text(content, encoding="utf-8")
        except OSError as exc:
            show_error(self, f"The chat could not be saved to {target}: {exc.strerror or exc}.")
            return False
        self.statusBar().showMessage(f"Exported to {target}", 5000)
        return True

    # -- misc -----------------------------------------------------------------------------------

    @Slot()
    def _on_open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._paths.logs)))

    @Slot()
    def _on_about(self) -> None:
        from desktop import __version__

        QMessageBox.about(
            self,
            "About Folio",
            f"<b>Folio {__version__}</b><br>Chat with local language models, entirely offline. "
            "Nothing you type leaves this computer.<br><br>"
            f"Data: {self._paths.data}<br>Settings: {self._paths.settings_file}<br>"
            f"Log: {self._paths.log_file}",
        )

    def _resize_to_screen(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is None:
            self.resize(1180, 760)
            return
        self.resize(min(1360, screen.width()), min(860, screen.height()))

    def _restore_geometry(self) -> None:
        geometry = QSettings().value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # Esc stops an answer wherever the focus is (the message box handles its own Esc).
        if event.key() == Qt.Key.Key_Escape and self.controller.busy:
            self._stop()
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        QSettings().setValue("window/geometry", self.saveGeometry())
        if self._model_manager is not None:
            # A running download is paused (its partial kept, to resume next time).
            self._model_manager.shutdown()
        self.controller.shutdown()
        event.accept()


def _safe_filename(title: str) -> str:
    cleaned = re.sub(r"[^\w\- ]+", "", title, flags=re.UNICODE).strip()
    return cleaned[:60] or "chat"
