"""The bar above the conversation: the chat's title and the button to show the library on one
line; the model, the chat's own settings and the button to open a model file on the next."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.llm.engine import ModelInfo
from desktop.core.settings.presets import ChatTuning, PresetLibrary
from desktop.core.settings.schema import GenerationSettings
from desktop.ui.widgets.labels import ElidedLabel

# A few words of the title at the least, however narrow the conversation.
TITLE_MIN_WIDTH = 160


class ChatHeader(QWidget):
    # A preset chosen from the tuning menu ("" for the global settings); the chat's own values
    # on top are dropped, as choosing a preset is a fresh start.
    preset_chosen = Signal(str)
    overrides_cleared = Signal()

    def __init__(
        self, presets: PresetLibrary, chat_settings_action: QAction, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("chatHeader")
        # A QWidget subclass paints its style-sheet background only when asked to.
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._presets = presets
        self._chat_settings_action = chat_settings_action
        self._tuning = ChatTuning()
        self.title_label = ElidedLabel("New chat")
        self.title_label.setObjectName("chatTitle")
        self.model_label = ElidedLabel("No model")
        self.model_label.setObjectName("modelLabel")
        self.open_model_button = QPushButton("Open model file…")
        self.open_model_button.setObjectName("openModelButton")
        # Both elide, each on a line of its own: the title shares its line with one button
        # only, so a narrow conversation (the documents pane open) still shows most of it.
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title_label.setMinimumWidth(TITLE_MIN_WIDTH)
        self.model_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.tuning_button = QToolButton()
        self.tuning_button.setObjectName("tuningButton")
        self.tuning_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tuning_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.tuning_menu = QMenu(self.tuning_button)
        self.tuning_menu.aboutToShow.connect(self._on_tuning_menu_shown)
        self.tuning_button.setMenu(self.tuning_menu)
        self.library_button = QPushButton("Documents")
        self.library_button.setObjectName("libraryButton")
        self.library_button.setCheckable(True)
        self.library_button.setToolTip("Show or hide the document library (Ctrl+L)")
        title_row = QHBoxLayout()
        title_row.addWidget(self.title_label, 1)
        title_row.addWidget(self.library_button)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_label, 1)
        model_row.addWidget(self.tuning_button)
        model_row.addWidget(self.open_model_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 8, 12, 8)
        layout.setSpacing(4)
        layout.addLayout(title_row)
        layout.addLayout(model_row)

    def show_title(self, title: str) -> None:
        self.title_label.setText(title or "New chat")

    def show_model(self, info: ModelInfo | None, loading: str = "") -> None:
        if loading:
            self.model_label.setText(f"Loading {loading}…")
            return
        if info is None:
            self.model_label.setText("No model")
            self.model_label.setToolTip("")
            return
        lora = f" · LoRA {info.lora} ×{info.lora_scale:g}" if info.lora else ""
        self.model_label.setText(f"{info.name}{lora} · {info.context_length:,}-token context")
        self.model_label.setToolTip(
            f"{info.path}\n{info.architecture}, {info.parameter_count / 1e6:,.0f}M parameters, "
            f"{info.file_size / 1e6:,.0f} MB\nPrompt format: {info.prompt_format}\n"
            f"Threads: {info.threads}"
        )

    def show_tuning(self, tuning: ChatTuning, settings: GenerationSettings) -> None:
        """What the chat uses: “Creative · temperature 1.3”, with every value in the tooltip."""
        self._tuning = tuning
        text = tuning.describe(self._presets)
        button = self.tuning_button
        button.setText(f"{text} ▾")
        button.setProperty("changed", not tuning.is_default)
        button.style().unpolish(button)
        button.style().polish(button)
        button.setToolTip(
            f"Settings for this chat: {text}\n"
            f"temperature {settings.temperature:g}, top-p {settings.top_p:g}, top-k "
            f"{settings.top_k}, min-p {settings.min_p:g}, repeat penalty "
            f"{settings.repeat_penalty:g}\nChoose a preset, or adjust this chat alone."
        )

    @Slot()
    def _on_tuning_menu_shown(self) -> None:
        menu = self.tuning_menu
        menu.clear()
        current = self._tuning
        group = QActionGroup(menu)
        default = menu.addAction("Global settings")
        default.setCheckable(True)
        default.setChecked(not current.preset)
        default.setData("")
        group.addAction(default)
        for preset in self._presets.all():
            action = menu.addAction(preset.name)
            action.setCheckable(True)
            action.setChecked(current.preset == preset.name)
            action.setData(preset.name)
            if preset.description:
                action.setToolTip(preset.description)
            group.addAction(action)
        group.triggered.connect(self._on_preset_action)
        menu.addSeparator()
        menu.addAction(self._chat_settings_action)
        if current.overrides:
            clear = menu.addAction("Forget this chat's own values")
            clear.triggered.connect(self._on_overrides_cleared)

    @Slot(QAction)
    def _on_preset_action(self, action: QAction) -> None:
        name = action.data()
        self.preset_chosen.emit(name if isinstance(name, str) else "")

    @Slot()
    def _on_overrides_cleared(self) -> None:
        self.overrides_cleared.emit()
