"""The main window: chats on the left, the conversation and the message box in the middle, the
document library on the right. This module lays them out and wires them together; what each
part does lives with the part (``chat``, ``library``, ``models``, ``settings``)."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.core.chat.messages import Message
from desktop.core.chat.rag import SourceRef
from desktop.core.chat.store import ConversationStore
from desktop.core.documents.records import DocumentRecord
from desktop.core.llm.engine import ChatEngine, ModelInfo
from desktop.core.models.starter import is_starter_embedder
from desktop.core.paths import AppPaths
from desktop.core.settings.presets import ChatTuning, PresetLibrary
from desktop.core.settings.schema import (
    AppearanceSettings,
    SettingError,
    Settings,
)
from desktop.ui.appearance import apply_appearance
from desktop.ui.chat.composer_box import ComposerBox
from desktop.ui.chat.controller import ChatController
from desktop.ui.chat.conversation_actions import ConversationActions
from desktop.ui.chat.header import ChatHeader
from desktop.ui.chat.model_control import ChatModelControl
from desktop.ui.chat.scope_button import ScopeButton
from desktop.ui.chat.sidebar import ConversationSidebar
from desktop.ui.chat.view import ChatView
from desktop.ui.errors import show_error
from desktop.ui.lab.link import LabLink
from desktop.ui.library.pane import LibraryPane, dropped_paths
from desktop.ui.library.service import LibraryService
from desktop.ui.library.settings_link import LibrarySettingsLink
from desktop.ui.library.viewer import DocumentViewer, Passage
from desktop.ui.menus import MainMenus
from desktop.ui.models.models_window import ModelsWindow
from desktop.ui.panes import Panes
from desktop.ui.settings.windows import SettingsDialogs
from desktop.ui.settings_session import SettingsSession
from desktop.ui.widgets.banner import Banner

if TYPE_CHECKING:
    # Built when first opened: their imports (the downloader's HTTP stack among them) would
    # otherwise delay the window's first appearance.
    from desktop.ui.models.manager import ModelManager
    from desktop.ui.settings.dialog import SettingsDialog

log = logging.getLogger(__name__)

GEOMETRY = "window/geometry"
# The chat open when the window last closed (-1: a new chat), open again at the next start.
LAST_CHAT = "window/last_chat"


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
        self._store = store
        self._engine = engine
        self._library = library
        self._viewer: DocumentViewer | None = None

        self.presets = PresetLibrary(paths.presets_file)
        self.session = SettingsSession(
            settings, paths.settings_file, self._confirm_embedder_switch, self
        )
        self.library_link = (
            LibrarySettingsLink(self, self.session, library) if library is not None else None
        )
        self.controller = ChatController(
            store,
            engine,
            lambda: self.session.settings,
            self,
            library=library,
            presets=self.presets,
        )
        self.models_window = ModelsWindow(
            self, paths, engine, self._current_settings, self._on_settings_applied
        )
        chat_settings = lambda: self.controller.chat_settings()  # noqa: E731
        self.lab = LabLink(self, engine, paths, chat_settings, lambda: self.composer.toPlainText())
        self.dialogs = SettingsDialogs(self, self._current_settings, self.presets, self.controller)
        self._build()
        self._connect()
        self._resize_to_screen()
        self._restore_geometry()
        self.sidebar.refresh()
        self.controller.open_conversation(self._last_chat())

    # -- what the window is made of -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.session.settings

    def _current_settings(self) -> Settings:
        return self.session.settings

    @property
    def store(self) -> ConversationStore:
        return self._store

    @property
    def engine(self) -> ChatEngine:
        return self._engine

    @property
    def library(self) -> LibraryService | None:
        return self._library

    @property
    def viewer(self) -> DocumentViewer | None:
        return self._viewer

    def _build(self) -> None:
        with_library = self._library is not None
        self.menus = MainMenus(self, with_library, self._paths)
        self.sidebar = ConversationSidebar(self._store)
        self.header = ChatHeader(self.presets, self.menus.chat_settings_action)
        # Two notices: what the loaded model is like (stays), and the latest problem (goes away
        # with the next answer or when dismissed).
        self.banner = Banner()
        self.error_banner = Banner()
        self.error_banner.setObjectName("errorBanner")
        self.chat_view = ChatView(offer_documents=with_library, library=self._library)

        self.scope_button = ScopeButton(self._selected_documents, self._document_name)
        self.composer_box = ComposerBox(
            self.controller, self._store, self.scope_button, self._not_ready_reason
        )
        # The parts of the box the rest of the window works with.
        self.composer = self.composer_box.composer
        self.send_button = self.composer_box.send_button

        chat_pane = QWidget()
        chat_layout = QVBoxLayout(chat_pane)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        chat_layout.addWidget(self.header)
        chat_layout.addWidget(self.banner)
        chat_layout.addWidget(self.error_banner)
        chat_layout.addWidget(self.chat_view, 1)
        chat_layout.addWidget(self.composer_box)

        self.splitter = QSplitter()
        self.library_pane: LibraryPane | None = None
        if self._library is not None:
            self.library_pane = LibraryPane(self._library)
        else:
            self.header.library_button.hide()
            self.scope_button.hide()
        self.panes = Panes(self.splitter, self.sidebar, chat_pane, self.library_pane, self)
        self.setCentralWidget(self.splitter)
        self.setAcceptDrops(with_library)
        self.conversations = ConversationActions(self, self._store, self.controller, self.sidebar)
        self.model_control = ChatModelControl(
            self,
            self._engine,
            self.session,
            self.header,
            self.banner,
            self.error_banner,
            self._is_busy,
        )
        # Loads the chat model; its signals say when a model is in (startup, tests).
        self.loader = self.model_control.loader
        self._set_busy(False)

    def _connect(self) -> None:
        controller = self.controller
        controller.conversation_opened.connect(self._on_conversation_opened)
        controller.conversations_changed.connect(self._on_conversations_changed)
        controller.messages_reset.connect(self._on_messages_reset)
        controller.message_added.connect(self.chat_view.add_message)
        controller.stream_started.connect(self.chat_view.begin_stream)
        controller.stream_text.connect(self.chat_view.append_stream_text)
        controller.stream_status.connect(self.chat_view.show_stream_status)
        controller.stream_origin.connect(self.chat_view.show_stream_origin)
        controller.stream_finished.connect(self.chat_view.finish_stream)
        controller.message_changed.connect(self.chat_view.replace_message)
        controller.busy_changed.connect(self._set_busy)
        controller.context_trimmed.connect(self._on_context_trimmed)
        controller.error_raised.connect(self._on_error_raised)
        controller.question_returned.connect(self.composer_box.give_back)
        controller.scope_changed.connect(self.scope_button.show_scope)
        controller.tuning_changed.connect(self._show_tuning)
        controller.notice.connect(self._on_notice)

        self.model_control.loading_changed.connect(self._on_model_loading)
        self.model_control.loading_changed.connect(self.models_window.model_loading)
        self.model_control.model_changed.connect(self._on_model_changed)
        self.model_control.notice.connect(self.statusBar().showMessage)

        session = self.session
        session.changed.connect(self._on_settings_changed)
        session.saved.connect(self._on_settings_saved)
        session.restyle_requested.connect(self._on_restyle_requested)
        session.value_restored.connect(self.dialogs.show_value)
        session.save_failed.connect(self._on_notice)

        self.sidebar.conversation_selected.connect(self._on_conversation_selected)
        self.sidebar.new_requested.connect(self._on_new_chat)
        self.conversations.notice.connect(self.statusBar().showMessage)
        self.dialogs.applied.connect(self._on_settings_applied)
        self.dialogs.chat_applied.connect(self._on_chat_settings_applied)

        self.chat_view.edit_requested.connect(self.composer_box.start_edit)
        self.chat_view.regenerate_requested.connect(self._on_regenerate_requested)
        self.chat_view.continue_requested.connect(self._on_continue_requested)
        self.chat_view.answer_again_requested.connect(self._on_answer_again_requested)
        self.chat_view.alternative_requested.connect(self._on_alternative_requested)
        self.chat_view.copied.connect(self._on_copied)
        self.chat_view.source_requested.connect(self._on_source_requested)
        self.chat_view.add_documents_requested.connect(self._on_add_documents)
        self.header.library_button.toggled.connect(self._on_library_toggled)
        self.header.open_model_button.clicked.connect(self.model_control.choose_file)
        self.header.preset_chosen.connect(self._on_tuning_preset_chosen)
        self.header.overrides_cleared.connect(self._on_tuning_overrides_cleared)
        self.scope_button.scope_chosen.connect(self.controller.set_document_scope)
        if self.library_pane is not None and self._library is not None:
            self.library_pane.open_requested.connect(self._on_open_document)
            self.library_pane.status_message.connect(self._on_notice)
        if self.library_link is not None:
            self.library_link.notice.connect(self.statusBar().showMessage)
            self.library_link.embedder_changed.connect(self.models_window.update_in_use)

        self.composer_box.sent.connect(self.error_banner.hide)
        self.composer_box.stop_requested.connect(self._stop)
        self.composer_box.notice.connect(self._on_short_notice)

        menus = self.menus
        menus.new_action.triggered.connect(self._on_new_chat)
        menus.open_model_action.triggered.connect(self.model_control.choose_file)
        menus.add_documents_action.triggered.connect(self._on_add_documents)
        menus.add_folder_action.triggered.connect(self._on_add_folder)
        menus.export_md_action.triggered.connect(self.conversations.export_current_markdown)
        menus.export_json_action.triggered.connect(self.conversations.export_current_json)
        menus.quit_action.triggered.connect(self.close)
        menus.stop_action.triggered.connect(self._stop)
        menus.regenerate_action.triggered.connect(self.controller.regenerate_last)
        menus.continue_action.triggered.connect(self.controller.continue_last)
        menus.previous_answer_action.triggered.connect(self._on_previous_answer)
        menus.next_answer_action.triggered.connect(self._on_next_answer)
        menus.rename_action.triggered.connect(self.conversations.rename_current)
        menus.delete_action.triggered.connect(self.conversations.delete_current)
        menus.show_library_action.toggled.connect(self._on_library_toggled)
        menus.settings_action.triggered.connect(self.open_settings)
        menus.models_action.triggered.connect(self.open_models)
        menus.lab_action.triggered.connect(self.lab.open)
        menus.compare_answers_action.triggered.connect(self.lab.open_answers)
        menus.probabilities_action.toggled.connect(self.controller.show_probabilities)
        self.controller.show_probabilities(menus.probabilities_action.isChecked())
        self.chat_view.details.branch_requested.connect(self.controller.branch)
        self.model_control.refusal = self.lab.switch_refusal
        self.models_window.chat_model_chosen.connect(self.model_control.load)
        self.models_window.embedding_model_chosen.connect(self.choose_embedding_model)
        menus.chat_settings_action.triggered.connect(self.open_chat_settings)

    # -- the model ------------------------------------------------------------------------------

    def load_initial_model(self) -> None:
        self.model_control.load_configured()

    def load_model(self, path: Path) -> None:
        self.model_control.load(path)

    @Slot(bool)
    def _on_model_loading(self, _loading: bool) -> None:
        self._set_busy(self.controller.busy)

    @Slot(object)
    def _on_model_changed(self, info: ModelInfo) -> None:
        self.chat_view.set_model_name(info.name)
        self.models_window.update_in_use()

    # -- settings -------------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        """The global settings (every chat's defaults); applied without closing on Apply."""
        return self.dialogs.open_global()

    def open_chat_settings(self) -> SettingsDialog:
        """This chat's own generation settings, on top of the global ones."""
        return self.dialogs.open_chat(self.header.title_label.full_text() or "New chat")

    @Slot()
    def _on_chat_settings_applied(self) -> None:
        self.statusBar().showMessage("This chat's settings apply from the next answer.", 5000)

    @Slot(object, object)
    def _on_settings_applied(self, edited: Settings, keys: list[str]) -> None:
        try:
            self.session.apply(edited, keys)
        except SettingError as error:
            show_error(self, str(error))

    @Slot(object)
    def _on_settings_saved(self, _keys: list[str]) -> None:
        self.statusBar().showMessage("Settings saved; they apply from the next answer.", 5000)

    def _confirm_embedder_switch(self, chosen: Settings) -> bool:
        link = self.library_link
        return link.confirm_embedder_switch(chosen) if link is not None else True

    @Slot(object, object)
    def _on_settings_changed(self, _settings: Settings, _keys: list[str]) -> None:
        self._show_tuning(self.controller.tuning)

    @Slot(object)
    def _on_restyle_requested(self, appearance: AppearanceSettings) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_appearance(app, appearance)
        if self.composer_box.editing is None:
            # Drawn again so the messages already shown take the new colours too (an answer
            # being written, or a message being edited, keeps its place until the next draw).
            self.controller.redraw()

    @Slot(object)
    def _show_tuning(self, tuning: ChatTuning) -> None:
        self.header.show_tuning(tuning, self.controller.chat_settings().generation)

    @Slot(str)
    def _on_tuning_preset_chosen(self, name: str) -> None:
        self.controller.set_tuning(ChatTuning(name))

    @Slot()
    def _on_tuning_overrides_cleared(self) -> None:
        self.controller.set_tuning(ChatTuning(self.controller.tuning.preset))

    # -- the Models window ----------------------------------------------------------------------

    def open_models(self) -> ModelManager:
        return self.models_window.open()

    @Slot(object)
    def choose_embedding_model(self, path: Path) -> None:
        """Use ``path`` for the documents (after asking, as the settings dialog does)."""
        chosen = "" if is_starter_embedder(path) else str(path)
        if chosen != self.settings.documents.embedding_model:
            edited = self.settings.with_values({"embedding_model": chosen})
            self._on_settings_applied(edited, ["embedding_model"])
            self.models_window.update_in_use()

    # -- chatting -------------------------------------------------------------------------------

    def _not_ready_reason(self) -> str:
        return "The model is still loading…" if self.model_control.loading else ""

    def _is_busy(self) -> bool:
        return self.controller.busy

    @Slot(str)
    def _on_short_notice(self, message: str) -> None:
        self.statusBar().showMessage(message, 3000)

    @Slot()
    def _stop(self) -> None:
        self.controller.stop()
        self.statusBar().showMessage("Stopped.", 3000)

    @Slot(bool)
    def _set_busy(self, busy: bool) -> None:
        loading = self.model_control.loading
        self.composer_box.set_busy(busy, self._engine.info is not None and not loading)
        self.menus.stop_action.setEnabled(busy)
        self.menus.regenerate_action.setEnabled(not busy and not loading)
        self.menus.continue_action.setEnabled(not busy and not loading)
        self.header.open_model_button.setEnabled(not busy and not loading)
        self.menus.open_model_action.setEnabled(not busy and not loading)
        if not busy:
            QTimer.singleShot(0, self.model_control.answer_ended)

    @Slot(int)
    def _on_regenerate_requested(self, message_id: int) -> None:
        self.controller.regenerate(message_id)

    @Slot()
    def _on_previous_answer(self) -> None:
        self.controller.step_last_alternative(-1)

    @Slot()
    def _on_next_answer(self) -> None:
        self.controller.step_last_alternative(+1)

    @Slot(int, str)
    def _on_answer_again_requested(self, message_id: int, source: str) -> None:
        self.error_banner.hide()
        self.controller.answer_again(message_id, source)

    @Slot(int)
    def _on_continue_requested(self, message_id: int) -> None:
        self.error_banner.hide()
        self.controller.continue_answer(message_id)

    @Slot(int, int)
    def _on_alternative_requested(self, message_id: int, index: int) -> None:
        self.controller.choose_alternative(message_id, index)

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
    def _on_copied(self, confirmation: str) -> None:
        self.statusBar().showMessage(confirmation, 2500)
        self.composer.setFocus()

    # -- documents ------------------------------------------------------------------------------

    @Slot(bool)
    def _on_library_toggled(self, shown: bool) -> None:
        if self.library_pane is None:
            return
        self.header.library_button.setChecked(shown)
        self.menus.show_library_action.setChecked(shown)
        self.panes.show_library(shown)

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

    def _selected_documents(self) -> list[DocumentRecord]:
        return self.library_pane.selected_records() if self.library_pane else []

    def _document_name(self, document_id: str) -> str:
        record = self._library.document(document_id) if self._library is not None else None
        return record.name if record is not None else "(removed document)"

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
        self.composer_box.end_edit(restore_draft=True)
        self.dialogs.chat_shown(conversation_id)
        summary = self._store.conversation(conversation_id) if conversation_id >= 0 else None
        self.header.show_title(summary.title if summary else "")
        self.sidebar.select(conversation_id if conversation_id >= 0 else None)
        self.composer.setFocus()

    @Slot()
    def _on_conversations_changed(self) -> None:
        self.sidebar.refresh()
        current = self.controller.current_conversation
        summary = self._store.conversation(current) if current is not None else None
        self.header.show_title(summary.title if summary else "")

    @Slot(list)
    def _on_messages_reset(self, messages: list[Message]) -> None:
        self.chat_view.show_messages(messages)

    @Slot(int)
    def _on_conversation_selected(self, conversation_id: int) -> None:
        self.controller.open_conversation(conversation_id)

    @Slot()
    def _on_new_chat(self) -> None:
        self.controller.new_conversation()

    # -- the window -----------------------------------------------------------------------------

    def _resize_to_screen(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is None:
            self.resize(1180, 760)
            return
        self.resize(min(1360, screen.width()), min(860, screen.height()))

    def _restore_geometry(self) -> None:
        """The window's place and size; its panes as they were once it is shown (they are only
        measured then)."""
        geometry = QSettings().value(GEOMETRY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        QTimer.singleShot(0, self, self._restore_panes)

    @Slot()
    def _restore_panes(self) -> None:
        if self.panes.restore():
            self.show_library()

    def _last_chat(self) -> int | None:
        last = QSettings().value(LAST_CHAT, -1, type=int)
        return last if isinstance(last, int) and last >= 0 else None

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if (
            event.type() == QEvent.Type.ActivationChange
            and self.isActiveWindow()
            and self.library_pane is not None
            and self.library_pane.isVisible()
        ):
            # Back from a file manager: a document's file may have moved meanwhile.
            self.library_pane.refresh()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # Esc stops an answer wherever the focus is (the message box handles its own Esc).
        if event.key() == Qt.Key.Key_Escape and self.controller.busy:
            self._stop()
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        QSettings().setValue(GEOMETRY, self.saveGeometry())
        current = self.controller.current_conversation
        QSettings().setValue(LAST_CHAT, current if current is not None else -1)
        self.panes.save()
        self.models_window.shutdown()
        self.lab.shutdown()
        self.controller.shutdown()
        event.accept()
