"""The Models window's LoRA adapter row: the adapter on the chat model and its scale, chosen,
changed or removed here as in Settings ▸ Model loading (the same two settings), with what the
model made of it: applied, or refused and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QLabel,
)

from desktop.core.errors import ModelLoadError
from desktop.core.models.checks import check_lora_file
from desktop.ui.models.controls import button, fact_label, set_tone


@dataclass(frozen=True)
class LoraState:
    """The settings' adapter and scale, and the chat model as loaded with them."""

    path: str
    scale: float
    model: str | None
    architecture: str | None
    applied: str
    applied_scale: float
    problem: str
    loading: bool = False


class LoraBox(QFrame):
    """``lora_chosen`` carries the adapter's path ("" for none) and its scale."""

    lora_chosen = Signal(str, float)

    def __init__(self, state: Callable[[], LoraState]) -> None:
        super().__init__()
        self.setObjectName("modelDetails")
        self._state = state
        self._path = ""
        title = QLabel("LoRA adapter on the chat model")
        title.setObjectName("sectionTitle")
        self.adapter = fact_label("none")
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.0, 4.0)
        self.scale.setSingleStep(0.25)
        self.scale.setToolTip(
            "How strongly the adapter changes the model: 0 is the model as it is, 1 the adapter "
            "as trained."
        )
        self.choose_button = button("Choose adapter…", "A GGUF LoRA adapter for the chat model.")
        self.remove_button = button("Remove", "Use the chat model without an adapter.")
        self.apply_button = button("Apply", "Reload the chat model with this adapter and scale.")
        self.status = QLabel()
        self.status.setObjectName("progressLabel")
        self.status.setWordWrap(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.addWidget(title, 0, 0, 1, 2)
        grid.addWidget(self.adapter, 1, 0)
        grid.addWidget(QLabel("Scale"), 1, 1)
        grid.addWidget(self.scale, 1, 2)
        grid.addWidget(self.choose_button, 1, 3)
        grid.addWidget(self.remove_button, 1, 4)
        grid.addWidget(self.apply_button, 1, 5)
        grid.addWidget(self.status, 2, 0, 1, 6)
        grid.setColumnStretch(0, 1)
        self.choose_button.clicked.connect(self._on_choose)
        self.remove_button.clicked.connect(self._on_remove)
        self.apply_button.clicked.connect(self._on_apply)
        self.scale.valueChanged.connect(self._on_edited)
        self.refresh()

    def refresh(self) -> None:
        """Show the settings' adapter and what the loaded model made of it."""
        state = self._state()
        self._path = state.path
        self.scale.blockSignals(True)
        self.scale.setValue(state.scale)
        self.scale.blockSignals(False)
        self.adapter.setText(Path(state.path).name if state.path else "none")
        set_tone(self.status, "error" if state.problem and not state.loading else "")
        self.status.setText(_status(state))
        self._update_buttons()

    def _update_buttons(self) -> None:
        state = self._state()
        changed = self._path != state.path or round(self.scale.value(), 2) != round(state.scale, 2)
        self.apply_button.setEnabled(changed)
        self.remove_button.setEnabled(bool(self._path))
        self.scale.setEnabled(bool(self._path))

    @Slot()
    def _on_edited(self) -> None:
        self._update_buttons()

    @Slot()
    def _on_choose(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(
            self, "Choose a LoRA adapter", str(Path.home()), "GGUF LoRA adapters (*.gguf)"
        )
        if chosen:
            self.choose(Path(chosen))

    def choose(self, path: Path) -> None:
        """Check ``path`` is an adapter for the chat model before it is offered to apply."""
        state = self._state()
        try:
            check_lora_file(path, state.architecture)
        except ModelLoadError as exc:
            set_tone(self.status, "error")
            self.status.setText(str(exc))
            return
        self._path = str(path)
        self.adapter.setText(path.name)
        set_tone(self.status, "")
        self.status.setText("Press Apply to reload the chat model with it.")
        self._update_buttons()

    @Slot()
    def _on_remove(self) -> None:
        self._path = ""
        self.adapter.setText("none")
        self._on_apply()

    @Slot()
    def _on_apply(self) -> None:
        self.apply_button.setEnabled(False)
        self.lora_chosen.emit(self._path, round(self.scale.value(), 2))


def _status(state: LoraState) -> str:
    """What the loaded model made of the adapter the settings ask for."""
    if state.loading:
        return "Reloading the chat model…"
    if state.model is None:
        return "No chat model is loaded; the adapter applies when one is."
    if state.problem:
        return f"Refused: {state.problem} {state.model} works without it."
    wanted = Path(state.path).stem if state.path else ""
    if wanted != state.applied or (wanted and state.scale != state.applied_scale):
        return (
            "Saved; the chat model takes it when it reloads (after the answer being written, "
            "or once the prompt lab's batch is paused)."
        )
    if state.applied:
        return f"Applied to {state.model} at ×{state.applied_scale:g}."
    return (
        f"{state.model} runs without an adapter. Choose one trained for it to specialise it "
        "cheaply."
    )
