"""One setting's editor, chosen by its declaration: a slider and a spin box for a number in a
range, a list for a choice, a file chooser for a model file, a text box for text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from desktop.core.settings.schema import FieldSpec

# Integer ranges wider than this get a spin box alone: a slider over 16,000 values (answer
# length) or two billion (seed) cannot be set to a chosen value.
SLIDER_MAX_STEPS = 5000


def _decimals(spec: FieldSpec) -> int:
    span = (spec.maximum or 0) - (spec.minimum or 0)
    return 2 if span <= 5 else 1


class FieldEditor(QWidget):
    """One setting: an editor whose raw value the schema validates."""

    changed = Signal()

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._slider: QSlider | None = None
        self._spin: QSpinBox | QDoubleSpinBox | None = None
        self._random: QCheckBox | None = None
        self._combo: QComboBox | None = None
        self._line: QLineEdit | None = None
        self._text: QPlainTextEdit | None = None
        self._loaded: Any = spec.default
        default = spec.default
        if isinstance(default, tuple):
            self._text = QPlainTextEdit()
            self._text.setPlaceholderText("One per line")
            self._text.setFixedHeight(64)
            self._text.textChanged.connect(self._on_edited)
            layout.addWidget(self._text)
        elif isinstance(default, str) and spec.choices:
            self._combo = QComboBox()
            titles = spec.choice_titles or spec.choices
            for value, title in zip(spec.choices, titles, strict=True):
                self._combo.addItem(title, value)
            self._combo.currentIndexChanged.connect(self._on_edited)
            layout.addWidget(self._combo)
            layout.addStretch(1)
        elif isinstance(default, str) and spec.file_filter:
            self._line = QLineEdit()
            self._line.setPlaceholderText(spec.empty_title[:1].upper() + spec.empty_title[1:])
            self._line.setClearButtonEnabled(True)
            self._line.textChanged.connect(self._on_edited)
            browse = QPushButton("Choose…")
            browse.clicked.connect(self._on_browse)
            layout.addWidget(self._line, 1)
            layout.addWidget(browse)
        elif isinstance(default, str):
            self._text = QPlainTextEdit()
            self._text.setFixedHeight(72)
            self._text.textChanged.connect(self._on_edited)
            layout.addWidget(self._text)
        else:
            self._build_number(layout)

    def _build_number(self, layout: QHBoxLayout) -> None:
        spec = self.spec
        low = spec.minimum if spec.minimum is not None else -1e9
        high = spec.maximum if spec.maximum is not None else 1e9
        spin: QSpinBox | QDoubleSpinBox
        if isinstance(spec.default, int):
            spin = QSpinBox()
            spin.setRange(int(low), int(high))
            scale = 1
        else:
            spin = QDoubleSpinBox()
            decimals = _decimals(spec)
            spin.setDecimals(decimals)
            spin.setSingleStep(10**-decimals)
            spin.setRange(low, high)
            scale = 10**decimals
        if spec.unit:
            spin.setSuffix(f" {spec.unit}")
        if spec.minimum_title:
            spin.setSpecialValueText(spec.minimum_title)
        # One width for every spin box, so the sliders beside them line up.
        spin.setFixedWidth(150)
        spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._spin = spin
        steps = (high - low) * scale
        if spec.minimum_title and steps > SLIDER_MAX_STEPS:
            # A minimum with a meaning of its own, on a range too wide for a slider (the seed's
            # "Random each time"): a check box says it, the spin box holds the other values.
            self._random = QCheckBox(spec.minimum_title)
            self._random.toggled.connect(self._on_random_toggled)
            spin.setRange(int(low) + 1, int(high))
            # Every value the spin box holds now is an ordinary one.
            spin.setSpecialValueText("")
            layout.addWidget(self._random)
            layout.addWidget(spin)
            layout.addStretch(1)
        elif steps <= SLIDER_MAX_STEPS:
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(round(low * scale), round(high * scale))
            slider.setPageStep(max(1, round(steps / 10)))
            slider.valueChanged.connect(self._on_slider_moved)
            self._slider = slider
            self._scale = scale
            layout.addWidget(slider, 1)
            layout.addWidget(spin)
        else:
            layout.addWidget(spin)
            layout.addStretch(1)
        spin.valueChanged.connect(self._on_spin_changed)

    # -- values ---------------------------------------------------------------------------------

    def value(self) -> Any:
        """The raw value; the schema decides whether it is valid."""
        if self._random is not None and self._random.isChecked():
            return self.spec.minimum
        if self._spin is not None:
            shown = self._spin.value()
            # A value set more finely than the spin box shows (0.025 by hand, in the file)
            # stays exact until the user moves it.
            loaded = self._loaded
            spin = self._spin
            if (
                isinstance(spin, QDoubleSpinBox)
                and isinstance(loaded, float)
                and round(loaded, spin.decimals()) == shown
            ):
                return loaded
            return shown
        if self._combo is not None:
            return self._combo.currentData()
        if self._line is not None:
            text = self._line.text().strip()
            # Absolute, so the window and the CLI (started elsewhere) mean the same file.
            return str(Path(text).expanduser().absolute()) if text else ""
        assert self._text is not None
        text = self._text.toPlainText()
        if isinstance(self.spec.default, tuple):
            return [line for line in text.split("\n") if line.strip()]
        return text

    def set_value(self, value: Any) -> None:
        self._loaded = value
        if self._spin is not None:
            if self._random is not None:
                random = value == self.spec.minimum
                self._random.setChecked(random)
                self._spin.setEnabled(not random)
                if random:
                    return
            self._spin.setValue(value)
            self._sync_slider()
        elif self._combo is not None:
            index = self._combo.findData(value)
            self._combo.setCurrentIndex(max(index, 0))
        elif self._line is not None:
            self._line.setText(str(value))
        elif self._text is not None:
            text = "\n".join(value) if isinstance(value, tuple | list) else str(value)
            if text != self._text.toPlainText():
                self._text.setPlainText(text)

    def editor_widgets(self) -> list[QWidget]:
        """The widgets a person edits this setting with (slider first, where there is one)."""
        found = (self._slider, self._random, self._spin, self._combo, self._line, self._text)
        return [widget for widget in found if widget is not None]

    def focus_editor(self) -> None:
        widget = self._spin or self._combo or self._line or self._text
        if widget is not None:
            widget.setFocus()

    # -- slots ----------------------------------------------------------------------------------

    def _sync_slider(self) -> None:
        if self._slider is not None and self._spin is not None:
            self._slider.blockSignals(True)
            self._slider.setValue(round(self._spin.value() * self._scale))
            self._slider.blockSignals(False)

    @Slot(int)
    def _on_slider_moved(self, position: int) -> None:
        spin = self._spin
        if isinstance(spin, QSpinBox):
            spin.setValue(position)
        elif spin is not None:
            spin.setValue(position / self._scale)

    @Slot()
    def _on_spin_changed(self) -> None:
        self._sync_slider()
        self.changed.emit()

    @Slot(bool)
    def _on_random_toggled(self, random: bool) -> None:
        assert self._spin is not None
        self._spin.setEnabled(not random)
        self.changed.emit()

    @Slot()
    def _on_edited(self) -> None:
        self.changed.emit()

    @Slot()
    def _on_browse(self) -> None:
        assert self._line is not None
        current = self._line.text().strip()
        start = str(Path(current).parent) if current else ""
        path, _ = QFileDialog.getOpenFileName(self, self.spec.title, start, self.spec.file_filter)
        if path:
            self._line.setText(path)
