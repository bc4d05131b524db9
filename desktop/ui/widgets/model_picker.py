"""A model to run on, for the prompt lab and the compared answers: the chat's model (the
default), another installed chat model, or the chat model's LoRA adapter at another scale, so
variants can differ by model or by scale."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal, Slot
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QWidget

from desktop.core.lab.variant_models import ModelChoice, chat_choice, installed_chat_models
from desktop.core.llm.engine import ChatEngine
from desktop.core.models.registry import known_model_files
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import ModelSettings
from desktop.ui.tasks import Tasks

NO_ADAPTER_TIP = (
    "The chat model has no LoRA adapter. Choose one in the Models window or in Settings ▸ "
    "Model loading to compare its scales here."
)


class ModelPicker(QWidget):
    """``changed`` is emitted when the model or the scale changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._chat: ModelChoice | None = None
        self._options = ModelSettings()
        self.model = QComboBox()
        # Long model names are elided rather than widening the form (or four sides off screen).
        self.model.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model.setMinimumContentsLength(12)
        self.model.setToolTip(
            "The model the rows run on. Another model than the chat's is loaded beside it for "
            "the run and closed after, so the chat is not interrupted."
        )
        self.lora_scale = QDoubleSpinBox()
        self.lora_scale.setRange(0.0, 4.0)
        self.lora_scale.setSingleStep(0.25)
        self.lora_scale.setToolTip(NO_ADAPTER_TIP)
        self.lora_scale.setEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.model, 1)
        layout.addWidget(QLabel("LoRA ×"))
        layout.addWidget(self.lora_scale)
        self.model.addItem("The chat's model (none loaded)", None)
        self.model.currentIndexChanged.connect(self._on_model_changed)
        self.lora_scale.valueChanged.connect(self.changed)

    def set_models(
        self,
        chat: ModelChoice | None,
        installed: list[Path],
        options: ModelSettings | None = None,
    ) -> None:
        """The chat's model as loaded now, and the other chat models there are; the choice is
        kept when it is still there. ``options``: the loading settings another model opens
        with when the chat has none loaded."""
        chosen = self.model.currentData()
        self._options = options or ModelSettings()
        before = self._chat.lora_key if self._chat is not None else None
        self._chat = chat
        self.model.blockSignals(True)
        self.model.clear()
        name = chat.identity if chat is not None else "none loaded"
        self.model.addItem(f"The chat's model ({name})", None)
        for path in installed:
            if chat is None or path != chat.path:
                self.model.addItem(path.stem, str(path))
        index = self.model.findData(chosen) if chosen is not None else 0
        self.model.setCurrentIndex(max(index, 0))
        self.model.blockSignals(False)
        if chat is not None and chat.lora_key != before:
            # The chat's adapter or its scale changed: start from what it uses now.
            self.lora_scale.blockSignals(True)
            self.lora_scale.setValue(chat.options.lora_scale if chat.options.lora_path else 1.0)
            self.lora_scale.blockSignals(False)
        self._on_model_changed()

    def select(self, path: str) -> None:
        index = self.model.findData(path)
        if index >= 0:
            self.model.setCurrentIndex(index)

    @Slot()
    def _on_model_changed(self) -> None:
        adapter = self._chat is not None and bool(self._chat.options.lora_path)
        on_chat_model = self.model.currentData() is None
        self.lora_scale.setEnabled(adapter and on_chat_model)
        if not adapter:
            self.lora_scale.setToolTip(NO_ADAPTER_TIP)
        elif not on_chat_model:
            self.lora_scale.setToolTip("The adapter is made for the chat's model, not this one.")
        else:
            self.lora_scale.setToolTip(
                "The scale the chat model's adapter is applied at: 0 is the model without it."
            )
        self.changed.emit()

    def choice(self) -> ModelChoice | None:
        """What the run should load; None when it runs on the chat's model as loaded (or
        there is none)."""
        path = self.model.currentData()
        chat = self._chat
        if path is None:
            if chat is None or not chat.options.lora_path:
                return None
            if round(self.lora_scale.value(), 2) == round(chat.options.lora_scale, 2):
                return None
            return chat.with_lora_scale(self.lora_scale.value())
        if chat is None:
            return ModelChoice(Path(path), replace(self._options, lora_path=""))
        return chat.on_model(Path(path))


class ModelsWatcher(QObject):
    """Reads the chat's model as loaded and the installed chat models, in the background,
    whenever its window is shown or comes back to the front (the chat's model may have been
    switched in the main window meanwhile); ``read`` carries both."""

    read = Signal(object)  # tuple[ModelChoice | None, list[Path], ModelSettings]

    def __init__(
        self,
        window: QWidget,
        engine: ChatEngine,
        paths: AppPaths,
        tasks: Tasks,
        loading: Callable[[], ModelSettings] = ModelSettings,
    ):
        """``loading``: the user's model loading settings, for a model the chat has not
        loaded."""
        super().__init__(window)
        self._loading = loading
        self._window = window
        self._engine = engine
        self._paths = paths
        self._tasks = tasks
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if watched is self._window and (
            kind == QEvent.Type.Show
            or (kind == QEvent.Type.ActivationChange and self._window.isActiveWindow())
        ):
            self.refresh()
        return False

    def refresh(self) -> None:
        chat = chat_choice(self._engine)
        loaded = chat.path if chat is not None else None
        folder, cache = self._paths.models, self._paths.cache
        options = self._loading()
        self._tasks.run(
            "models",
            lambda _context: (
                chat,
                installed_chat_models(folder, known_model_files(cache, (), loaded)),
                options,
            ),
            done=self._on_read,
        )

    @Slot(object)
    def _on_read(self, models: object) -> None:
        self.read.emit(models)
