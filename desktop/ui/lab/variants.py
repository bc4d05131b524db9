"""The lab's variants: the form kept as variant A, B, C or D, and all of them run over the same
rows and compared side by side (each variant is a run of its own, so it resumes and is reused
when it was run before)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.core.errors import EngineError
from desktop.core.lab.batch import BatchRunner, BatchSpec, Progress, RunControl
from desktop.core.lab.compare import (
    MAX_VARIANTS,
    VARIANT_NAMES,
    ComparedRow,
    VariantResult,
    check_comparable,
    compared_rows,
    describe_spec,
    variant_result,
)
from desktop.core.lab.variant_models import (
    ModelChoice,
    chat_choice,
    engine_for,
    is_chat_model,
)
from desktop.core.llm.engine import ChatEngine
from desktop.ui.errors import show_error
from desktop.ui.lab.compare_window import CompareWindow
from desktop.ui.tasks import Task, TaskContext, Tasks

LANE = "lab"


class _Reporter:
    """Hands a variant's progress to the GUI thread with the variant's name."""

    def __init__(self, context: TaskContext, name: str) -> None:
        self._context = context
        self._name = name

    def __call__(self, progress: Progress) -> None:
        self._context.report((self._name, progress))


class VariantsBar(QWidget):
    """``status_changed`` carries what the comparison is doing, for the lab's status line."""

    status_changed = Signal(str)
    running_changed = Signal(bool)

    def __init__(
        self,
        engine: ChatEngine,
        runs: Path,
        current_spec: Callable[[], BatchSpec],
        current_model: Callable[[], ModelChoice | None],
        tasks: Tasks,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._runs = runs
        self._current_spec = current_spec
        self._current_model = current_model
        self._tasks = tasks
        self._task: Task[Any] | None = None
        self.control: RunControl | None = None
        self.specs: list[BatchSpec] = []
        # The model each variant runs on, fixed when it is kept (the chat's may change after).
        self.models: list[ModelChoice] = []
        self.keep_button = QPushButton("Keep as variant A")
        self.keep_button.setToolTip("Keep the form as it is, to compare it with other variants.")
        self.compare_button = QPushButton("Compare")
        self.clear_button = QPushButton("Clear")
        self.listing = QLabel("Variants: none yet. Keep the form as A, change it, keep it as B.")
        self.listing.setObjectName("progressLabel")
        self.listing.setWordWrap(True)
        self.compare_window: CompareWindow | None = None
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.listing)
        self.keep_button.clicked.connect(self._on_keep)
        self.compare_button.clicked.connect(self._on_compare)
        self.clear_button.clicked.connect(self._on_clear)
        self._update()

    @property
    def running(self) -> bool:
        # Until the outcome is shown (the task's end and its outcome are a signal apart).
        return self._task is not None

    def set_enabled_for(self, form_ready: bool, busy: bool) -> None:
        self.keep_button.setEnabled(form_ready and not busy and len(self.specs) < MAX_VARIANTS)
        self.compare_button.setEnabled(len(self.specs) >= 2 and not busy)
        self.clear_button.setEnabled(bool(self.specs) and not busy)

    def _update(self) -> None:
        if self.specs:
            several = len({model.identity for model in self.models}) > 1
            lines = [
                f"{VARIANT_NAMES[index]}: {describe_spec(spec)}"
                + (f" — on {model.identity}" if several else "")
                for index, (spec, model) in enumerate(zip(self.specs, self.models, strict=True))
            ]
            self.listing.setText("\n".join(lines))
        next_name = VARIANT_NAMES[min(len(self.specs), MAX_VARIANTS - 1)]
        self.keep_button.setText(f"Keep as variant {next_name}")
        self.set_enabled_for(True, self.running)

    @Slot()
    def _on_keep(self) -> None:
        try:
            spec = self._current_spec()
            check_comparable([*self.specs, spec] if self.specs else [spec, spec])
        except EngineError as exc:
            show_error(self, str(exc))
            return
        model = self._current_model() or chat_choice(self._engine)
        if model is None:
            show_error(self, "Load a chat model first: the variants run on it.")
            return
        if (spec, model.key) in ((s, m.key) for s, m in zip(self.specs, self.models, strict=True)):
            show_error(
                self,
                "This variant is already kept: change the prompt, the settings or the model to "
                "make another.",
            )
            return
        self.specs.append(spec)
        self.models.append(model)
        self._update()

    @Slot()
    def _on_clear(self) -> None:
        self.specs = []
        self.models = []
        self.listing.setText("Variants: none yet. Keep the form as A, change it, keep it as B.")
        self._update()

    @Slot()
    def _on_compare(self) -> None:
        variants = list(zip(self.specs, self.models, strict=True))
        control = RunControl()
        self.control = control
        self.status_changed.emit("Comparing: starting variant A…")
        self._task = self._tasks.run(
            LANE,
            lambda context: self._work(context, variants, control),
            done=self._on_compared,
            failed=self._on_failed,
            progress=self._on_progress,
        )
        self.running_changed.emit(True)
        self._update()

    def _work(
        self,
        context: TaskContext,
        variants: list[tuple[BatchSpec, ModelChoice]],
        control: RunControl,
    ) -> tuple[list[VariantResult], list[ComparedRow]] | None:
        runners = []
        for index, (spec, model) in enumerate(variants):
            name = VARIANT_NAMES[index]
            if not is_chat_model(model, self._engine):
                context.report(f"Comparing: loading {model.identity} for variant {name}…")
            # Each variant's model is open only for its own rows; the chat keeps its own.
            with engine_for(model, self._engine) as engine:
                runner = BatchRunner(spec, engine, self._runs)
                outcome = runner.run(control, _Reporter(context, name))
            if outcome.state != "finished":
                return None
            runners.append(runner)
        results = [
            variant_result(VARIANT_NAMES[index], runner) for index, runner in enumerate(runners)
        ]
        return results, list(compared_rows(runners))

    @Slot(object)
    def _on_progress(self, update: object) -> None:
        if isinstance(update, str):
            self.status_changed.emit(update)
        elif isinstance(update, tuple) and isinstance(update[1], Progress):
            name, progress = update
            self.status_changed.emit(
                f"Comparing: variant {name}, row {progress.done:,} of {progress.total:,} · "
                f"{progress.items_per_s:.2f} rows/s"
            )

    @Slot(object)
    def _on_compared(self, outcome: tuple[list[VariantResult], list[ComparedRow]] | None) -> None:
        self._task = None
        self.running_changed.emit(False)
        self._update()
        if outcome is None:
            self.status_changed.emit("Comparison paused; press Compare to continue it.")
            return
        results, rows = outcome
        self.status_changed.emit(f"Compared {len(results)} variants over {len(rows):,} rows.")
        if self.compare_window is None:
            self.compare_window = CompareWindow(self)
        self.compare_window.show_comparison(results, rows)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        self._task = None
        self.running_changed.emit(False)
        self._update()
        message = (
            str(error)
            if isinstance(error, EngineError)
            else (
                f"The comparison stopped on an unexpected error ({type(error).__name__}); the rows "
                "done so far are kept."
            )
        )
        self.status_changed.emit(message)
        show_error(self, message)
