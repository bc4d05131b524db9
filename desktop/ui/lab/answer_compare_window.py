"""Compare answers: one question answered side by side from two to four settings or models,
each answer streaming into its column with its speed, its log-probability and perplexity.

The sides run one after another on the chat's engine (or on an engine of their own for another
model or LoRA scale, closed after), between chat answers, never during one; nothing of the
conversation is sent, so the sides differ only by what they are set to.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import EngineError
from desktop.core.lab.answer_compare import MAX_SIDES, AnswerSide, ComparedAnswer, answer_from
from desktop.core.lab.variant_models import (
    ModelChoice,
    chat_choice,
    is_chat_model,
)
from desktop.core.llm.engine import ChatEngine
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import GenerationSettings, ModelSettings
from desktop.ui.tasks import Task, TaskContext, Tasks
from desktop.ui.widgets.model_picker import ModelPicker, ModelsWatcher

GEOMETRY = "compare_answers/geometry"
LANE = "compare-answers"
NAMES = "ABCD"
WAITING = "Waiting for its turn…"
WRITING = "Writing…"


def _stream(context: TaskContext, index: int, text: str) -> None:
    context.report(("text", index, text))


class SidePanel(QGroupBox):
    """One side: its model and sampling, and the answer it wrote."""

    def __init__(self, name: str, params: GenerationSettings, parent: QWidget | None = None):
        super().__init__(name, parent)
        self.picker = ModelPicker()
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(params.temperature)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.0, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(params.top_p)
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        # A comparison is read twice: a fixed seed lets the same side write the same again.
        self.seed.setValue(max(params.seed, 0))
        self.answer = QPlainTextEdit()
        self.answer.setReadOnly(True)
        self.answer.setPlaceholderText("The answer appears here.")
        self.facts = QLabel()
        self.facts.setObjectName("progressLabel")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Model", self.picker)
        sampling = QHBoxLayout()
        sampling.addWidget(self.temperature)
        sampling.addWidget(QLabel("Top-p"))
        sampling.addWidget(self.top_p)
        form.addRow("Temperature", sampling)
        form.addRow("Seed", self.seed)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.answer, 1)
        layout.addWidget(self.facts)

    def side(self, base: GenerationSettings, chat: ModelChoice | None) -> AnswerSide:
        params = dataclasses.replace(
            base,
            temperature=round(self.temperature.value(), 2),
            top_p=round(self.top_p.value(), 2),
            seed=self.seed.value(),
        )
        # Fixed now: the chat's model may change while the sides run.
        return AnswerSide(self.picker.choice() or chat, params)

    def clear(self) -> None:
        self.answer.setPlainText("")
        self.facts.setText(WAITING)

    def show_answer(self, answer: ComparedAnswer) -> None:
        self.answer.setPlainText(answer.text)
        self.facts.setText(f"{answer.model} · {answer.settings}\n{answer.facts()}")


class CompareAnswersWindow(QWidget):
    def __init__(
        self,
        parent: QWidget,
        engine: ChatEngine,
        paths: AppPaths,
        generation: Callable[[], GenerationSettings],
        loading: Callable[[], ModelSettings] = ModelSettings,
    ) -> None:
        """``generation`` and ``loading``: the chat's settings, the sides' starting point."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare answers — Folio")
        self.setObjectName("compareAnswersWindow")
        self._engine = engine
        self._generation = generation
        self._tasks = Tasks(self)
        self._task: Task[Any] | None = None
        self._cancel = threading.Event()
        self._installed: list[Path] = []
        self._options = ModelSettings()
        self.question = QPlainTextEdit()
        self.question.setPlaceholderText("A question or prompt to answer from each side…")
        self.question.setMaximumHeight(90)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("sendButton")
        self.compare_button.setToolTip("Answer from every side, one after another (Ctrl+Return).")
        self.stop_button = QPushButton("Stop")
        self.add_button = QPushButton("Add a side")
        self.status = QLabel(
            "Each side answers the question alone, without the conversation. Change a side's "
            "model, LoRA scale, temperature or seed, and press Compare."
        )
        self.status.setObjectName("progressLabel")
        self.status.setWordWrap(True)
        base = generation()
        second = dataclasses.replace(base, temperature=0.0 if base.temperature else 0.8)
        self.sides: list[SidePanel] = [SidePanel("A", base), SidePanel("B", second)]
        self._build()
        self.compare_button.clicked.connect(self._on_compare)
        self.stop_button.clicked.connect(self._on_stop)
        self.add_button.clicked.connect(self._on_add_side)
        QShortcut(QKeySequence("Ctrl+Return"), self, self._on_compare)
        self.models = ModelsWatcher(self, engine, paths, self._tasks, loading)
        self.models.read.connect(self._on_models_read)
        self._update_buttons()
        geometry = QSettings().value(GEOMETRY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 680)

    def _build(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.status, 1)
        self._columns = QHBoxLayout()
        for panel in self.sides:
            self._columns.addWidget(panel, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addLayout(buttons)
        layout.addLayout(self._columns, 1)

    @property
    def running(self) -> bool:
        # Until the outcome is shown (the task's end and its outcome are a signal apart).
        return self._task is not None

    def ask(self, question: str) -> None:
        """Open with ``question`` (the composer's text) unless one is already written."""
        if question.strip() and not self.question.toPlainText().strip():
            self.question.setPlainText(question.strip())

    def _update_buttons(self) -> None:
        running = self.running
        self.compare_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.add_button.setEnabled(not running and len(self.sides) < MAX_SIDES)

    # -- the models to choose from --------------------------------------------------------------

    @Slot(object)
    def _on_models_read(self, models: tuple[ModelChoice | None, list[Path], ModelSettings]) -> None:
        chat, self._installed, self._options = models
        for panel in self.sides:
            panel.picker.set_models(chat, self._installed, self._options)

    @Slot()
    def _on_add_side(self) -> None:
        if len(self.sides) >= MAX_SIDES or self.running:
            return
        panel = SidePanel(NAMES[len(self.sides)], self._generation())
        panel.picker.set_models(chat_choice(self._engine), self._installed, self._options)
        self.sides.append(panel)
        self._columns.addWidget(panel, 1)
        self._update_buttons()

    # -- answering ------------------------------------------------------------------------------

    @Slot()
    def _on_compare(self) -> None:
        question = self.question.toPlainText().strip()
        if self.running:
            return
        if not question:
            self.status.setText("Write the question to compare the answers to.")
            return
        chat = chat_choice(self._engine)
        base = self._generation()
        sides = [panel.side(base, chat) for panel in self.sides]
        if any(side.model is None for side in sides) and self._engine.info is None:
            self.status.setText("Load a chat model first, or choose a model for every side.")
            return
        for panel in self.sides:
            panel.clear()
        self.status.setText("Answering from side A…")
        # A stop of its own rather than the task's: a task cancelled before it starts never
        # reports back, and the window would wait for it.
        cancel = threading.Event()
        self._cancel = cancel
        self._task = self._tasks.run(
            LANE,
            lambda context: self._work(context, question, sides, cancel),
            done=self._on_done,
            failed=self._on_failed,
            progress=self._on_progress,
        )
        self._update_buttons()

    def _work(
        self,
        context: TaskContext,
        question: str,
        sides: list[AnswerSide],
        cancel: threading.Event,
    ) -> bool:
        """Every side in turn; a side that cannot run says why and the next one goes on."""
        for index, side in enumerate(sides):
            if cancel.is_set():
                return False
            loading = ""
            if side.model is not None and not is_chat_model(side.model, self._engine):
                loading = side.model.identity
            context.report(("start", index, loading))
            streamed = functools.partial(_stream, context, index)
            try:
                answer = answer_from(question, side, self._engine, cancel, streamed)
            except EngineError as exc:
                context.report(("error", index, str(exc)))
                continue
            context.report(("done", index, answer))
        return not cancel.is_set()

    @Slot(object)
    def _on_progress(self, update: object) -> None:
        if not isinstance(update, tuple) or len(update) != 3:
            return
        kind, index, value = update
        panel = self.sides[index]
        if kind == "start":
            panel.facts.setText(f"Loading {value}…" if value else WRITING)
            self.status.setText(f"Answering from side {NAMES[index]}…")
        elif kind == "text" and isinstance(value, str):
            if panel.facts.text() != WRITING:
                panel.facts.setText(WRITING)
            panel.answer.moveCursor(panel.answer.textCursor().MoveOperation.End)
            panel.answer.insertPlainText(value)
        elif kind == "error":
            panel.facts.setText(f"This side could not answer: {value}")
        elif kind == "done" and isinstance(value, ComparedAnswer):
            panel.show_answer(value)

    @Slot(object)
    def _on_done(self, finished: bool) -> None:
        self._task = None
        for panel in self.sides:
            if panel.facts.text() in (WAITING, WRITING):
                panel.facts.setText("Not answered: the comparison was stopped first.")
        self.status.setText(
            "Compared. Change a side and press Compare again."
            if finished
            else "Stopped; the sides that finished are shown."
        )
        self._update_buttons()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        self._task = None
        self.status.setText(
            f"The comparison stopped on an unexpected error ({type(error).__name__}); the "
            "details are in the log."
        )
        self._update_buttons()

    @Slot()
    def _on_stop(self) -> None:
        if self._task is not None:
            self._cancel.set()
            self.status.setText("Stopping after this token…")

    def shutdown(self) -> None:
        self._cancel.set()
        self._tasks.shutdown(wait=True)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        QSettings().setValue(GEOMETRY, self.saveGeometry())
        super().closeEvent(event)
