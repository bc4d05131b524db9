"""The prompt lab's form: the data file, the prompt, the examples, the labels and how the
answer is read; it checks itself as it is edited and builds the run's spec."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.core.errors import EngineError
from desktop.core.lab.batch import AnswerMode, BatchSpec
from desktop.core.lab.datasets import DatasetInfo, describe_encoding, inspect_dataset
from desktop.core.lab.pasted import save_pasted_lines
from desktop.core.lab.templates import (
    EXAMPLE_ARROW,
    PromptTemplate,
    check_example_labels,
    parse_example_lines,
    parse_labels,
)
from desktop.core.lab.variant_models import ModelChoice
from desktop.core.settings.schema import ModelSettings
from desktop.ui.widgets.model_picker import ModelPicker

DEFAULT_TEMPLATE = "Review: {text}\nSentiment:"
DEFAULT_INSTRUCTIONS = (
    "Classify the following review as having either a positive or negative sentiment."
)
MODES: tuple[tuple[AnswerMode, str], ...] = (
    ("likelihood", "The likeliest label, with its probability"),
    ("constrained", "The model writes a label and nothing else"),
    ("free", "The model writes freely; the first label it names counts"),
)
NO_REFERENCE = "(none)"
_KEY = "lab/form/"


class LabForm(QWidget):
    """Emits ``changed`` with the problem to fix ("" when the spec can be built)."""

    changed = Signal(str)

    def __init__(self, pasted: Path, parent: QWidget | None = None) -> None:
        """``pasted``: the folder where pasted lines are kept as a file, to run and resume."""
        super().__init__(parent)
        self._pasted = pasted
        self._data: Path | None = None
        self._info: DatasetInfo | None = None
        self._wanted_model = ""
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.file_label = QLabel("No file chosen: a CSV, TSV or JSONL file with a header row.")
        self.file_label.setWordWrap(True)
        self.file_label.setObjectName("progressLabel")
        choose = QPushButton("Choose file…")
        choose.clicked.connect(self._on_choose_file)
        paste = QPushButton("Paste lines…")
        paste.setToolTip("Type or paste the items, one per line, instead of choosing a file.")
        paste.clicked.connect(self._on_paste)
        row = QHBoxLayout()
        row.addWidget(choose)
        row.addWidget(paste)
        row.addWidget(self.file_label, 1)
        layout.addRow("Data", row)

        self.instructions = QPlainTextEdit(DEFAULT_INSTRUCTIONS)
        self.instructions.setFixedHeight(self.fontMetrics().height() * 3 + 12)
        self.instructions.setToolTip("Written once, before the examples and every row.")
        layout.addRow("Instructions", self.instructions)
        self.template = QPlainTextEdit(DEFAULT_TEMPLATE)
        self.template.setFixedHeight(self.fontMetrics().height() * 4 + 12)
        self.template.setToolTip(
            "The prompt for each row. {column} is replaced by that column's value; {{ and }} "
            "are braces."
        )
        layout.addRow("Prompt per row", self.template)
        self.examples = QPlainTextEdit()
        self.examples.setPlaceholderText(
            f"Optional, one per line: The pasta was lovely {EXAMPLE_ARROW} positive"
        )
        self.examples.setFixedHeight(self.fontMetrics().height() * 5 + 12)
        layout.addRow("Examples", self.examples)
        self.labels = QLineEdit("positive, negative")
        self.labels.setToolTip("The answers allowed, separated by commas.")
        layout.addRow("Labels", self.labels)
        self.mode = QComboBox()
        for mode, title in MODES:
            self.mode.addItem(title, mode)
        layout.addRow("Answer", self.mode)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setToolTip(
            "0 always takes the likeliest token (a measurement); higher values sample, from the "
            "seed below, so a run can still be repeated exactly."
        )
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        sampling = QHBoxLayout()
        sampling.addWidget(self.temperature)
        sampling.addWidget(QLabel("Seed"))
        sampling.addWidget(self.seed)
        layout.addRow("Temperature", sampling)
        self.model_picker = ModelPicker()
        layout.addRow("Model", self.model_picker)
        self.reference = QComboBox()
        self.reference.addItem(NO_REFERENCE)
        self.reference.setToolTip("The column with the right answer, to score the run.")
        layout.addRow("Right answer in", self.reference)
        self.problem = QLabel()
        self.problem.setObjectName("editNotice")
        self.problem.setWordWrap(True)
        layout.addRow(self.problem)

        for editor in (self.template, self.examples):
            editor.textChanged.connect(self._on_edited)

        self.instructions.textChanged.connect(self._on_edited)
        self.labels.textChanged.connect(self._on_edited)
        self.mode.currentIndexChanged.connect(self._on_edited)
        self.temperature.valueChanged.connect(self._on_edited)
        self.seed.valueChanged.connect(self._on_edited)
        self.model_picker.changed.connect(self._on_edited)
        self.reference.currentIndexChanged.connect(self._on_edited)

    # -- the file -------------------------------------------------------------------------------

    @Slot()
    def _on_choose_file(self) -> None:
        start = str(self._data.parent) if self._data else str(Path.home())
        name, _ = QFileDialog.getOpenFileName(
            self, "Choose the data", start, "Data (*.csv *.tsv *.tab *.jsonl *.ndjson *.txt)"
        )
        if name:
            self.set_data(Path(name))

    def set_data(self, path: Path) -> None:
        try:
            info = inspect_dataset(path)
        except EngineError as exc:
            self._data, self._info = None, None
            self.file_label.setText(str(exc))
            self._on_edited()
            return
        self._data, self._info = path, info
        encoding = describe_encoding(info.encoding)
        self.file_label.setText(
            f"{path.name} · columns {', '.join(info.columns)} · {info.format.upper()}, {encoding}"
        )
        self.file_label.setToolTip(str(path))
        chosen = self.reference.currentText()
        self.reference.blockSignals(True)
        self.reference.clear()
        self.reference.addItem(NO_REFERENCE)
        self.reference.addItems(list(info.columns))
        guess = chosen if chosen in info.columns else ("label" if "label" in info.columns else "")
        if guess:
            self.reference.setCurrentText(guess)
        self.reference.blockSignals(False)
        self._on_edited()

    @Slot()
    def _on_paste(self) -> None:
        text, accepted = QInputDialog.getMultiLineText(
            self, "Paste lines", "One item per line (each becomes a row with the column text):"
        )
        if not accepted or not text.strip():
            return
        try:
            path = save_pasted_lines(text, self._pasted)
        except (EngineError, OSError) as exc:
            self.file_label.setText(f"The lines could not be kept: {exc}")
            return
        self.set_data(path)

    @property
    def data(self) -> Path | None:
        return self._data

    # -- checking and building ------------------------------------------------------------------

    @Slot()
    def _on_edited(self) -> None:
        # Scoring the labels draws no token: temperature and seed change nothing then.
        sampled = self.mode.currentData() != "likelihood"
        self.temperature.setEnabled(sampled)
        self.seed.setEnabled(sampled)
        try:
            self.spec()
            problem = ""
        except EngineError as exc:
            problem = str(exc)
        self.problem.setText(problem)
        self.changed.emit(problem)

    def spec(self) -> BatchSpec:
        """The run the form describes; EngineError says what to fix."""
        if self._data is None or self._info is None:
            raise EngineError("Choose a data file to run the prompt over.")
        template = PromptTemplate.parse(self.template.toPlainText())
        reference = self.reference.currentText()
        reference_column = None if reference in ("", NO_REFERENCE) else reference
        template.check_columns(
            self._info.columns, source=self._data.name, answer_column=reference_column
        )
        mode: AnswerMode = self.mode.currentData()
        labels = parse_labels(self.labels.text()) if self.labels.text().strip() else ()
        examples = parse_example_lines(self.examples.toPlainText(), template)
        if labels:
            check_example_labels(examples, labels)
        return BatchSpec(
            data=self._data,
            template=template.text,
            mode=mode,
            labels=labels,
            system_prompt=self.instructions.toPlainText().strip(),
            examples=examples,
            reference_column=reference_column,
            temperature=round(self.temperature.value(), 2),
            seed=self.seed.value(),
        )

    def model_choice(self) -> ModelChoice | None:
        """The model the run loads; None for the chat's model as it is."""
        return self.model_picker.choice()

    def set_models(
        self, chat: ModelChoice | None, installed: list[Path], options: ModelSettings
    ) -> None:
        self.model_picker.set_models(chat, installed, options)
        if self._wanted_model:
            self.model_picker.select(self._wanted_model)
            self._wanted_model = ""

    # -- remembered between sessions ------------------------------------------------------------

    def save(self) -> None:
        store = QSettings()
        store.setValue(_KEY + "data", str(self._data) if self._data else "")
        store.setValue(_KEY + "template", self.template.toPlainText())
        store.setValue(_KEY + "instructions", self.instructions.toPlainText())
        store.setValue(_KEY + "examples", self.examples.toPlainText())
        store.setValue(_KEY + "labels", self.labels.text())
        store.setValue(_KEY + "mode", self.mode.currentData())
        store.setValue(_KEY + "reference", self.reference.currentText())
        store.setValue(_KEY + "temperature", self.temperature.value())
        store.setValue(_KEY + "seed", self.seed.value())
        store.setValue(_KEY + "model", self.model_picker.model.currentData() or "")

    def restore(self) -> None:
        store = QSettings()
        editors = (
            ("template", self.template),
            ("examples", self.examples),
            ("instructions", self.instructions),
        )
        for key, editor in editors:
            value = store.value(_KEY + key)
            if isinstance(value, str):
                editor.setPlainText(value)
        labels = store.value(_KEY + "labels")
        if isinstance(labels, str):
            self.labels.setText(labels)
        temperature = store.value(_KEY + "temperature", 0.0, float)
        seed = store.value(_KEY + "seed", 0, int)
        self.temperature.setValue(temperature if isinstance(temperature, float) else 0.0)
        self.seed.setValue(seed if isinstance(seed, int) else 0)
        model = store.value(_KEY + "model")
        # Chosen once the installed models are known (they are read in the background).
        self._wanted_model = model if isinstance(model, str) else ""
        mode = self.mode.findData(store.value(_KEY + "mode"))
        if mode >= 0:
            self.mode.setCurrentIndex(mode)
        data = store.value(_KEY + "data")
        if isinstance(data, str) and data and Path(data).is_file():
            self.set_data(Path(data))
            reference = store.value(_KEY + "reference")
            if isinstance(reference, str) and self.reference.findText(reference) >= 0:
                self.reference.setCurrentText(reference)
        self._on_edited()
