"""The Prompt lab window: one prompt over every row of a file, in the background, with the
counts, the scores and the confusion matrix as the results come in.

The run itself is core's ``BatchRunner`` on the chat engine's model; it goes on a lane of its
own, and every item reaches the model between chat answers, never during one. Closing the
window leaves it running; pausing or quitting Folio stops it after the current item. The results
so far are on disk, so the same run continues later from where it stopped, also after a
restart.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import EngineError
from desktop.core.lab.batch import BatchRunner, BatchSpec, Progress, RunControl, RunOutcome
from desktop.core.lab.compare import describe_settings
from desktop.core.lab.datasets import count_rows
from desktop.core.lab.reports import RunSummary, export_csv, joined_results, summarise
from desktop.core.lab.variant_models import (
    ModelChoice,
    engine_for,
    is_chat_model,
)
from desktop.core.llm.engine import ChatEngine
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import ModelSettings
from desktop.ui.errors import show_error
from desktop.ui.lab.charts import ConfusionGrid, LabelBars
from desktop.ui.lab.form import LabForm
from desktop.ui.lab.results_table import ResultRow, ResultsTableModel
from desktop.ui.lab.variants import VariantsBar
from desktop.ui.tasks import Task, TaskContext, Tasks
from desktop.ui.widgets.model_picker import ModelsWatcher

GEOMETRY = "lab/geometry"
CHOOSE = "Choose a data file, write the prompt, and press Run."
READY = "Ready: press Run to answer every row, or keep the form as a variant to compare."
LANE = "lab"


class _Started:
    """The first thing a run reports: its runner, and how much a checkpoint already holds."""

    def __init__(self, runner: BatchRunner, rows: list[ResultRow]) -> None:
        self.runner = runner
        self.rows = rows


def result_row(
    runner: BatchRunner,
    row: int,
    inputs: dict[str, str],
    result: dict[str, Any],
    time_s: float | None,
) -> ResultRow:
    reference = runner.spec.reference_column
    label = result.get("label")
    correct = None
    if reference is not None and runner.spec.labels and not result.get("error"):
        correct = label == inputs.get(reference, "").strip()
    return ResultRow(
        row=row,
        inputs=inputs,
        output=str(result.get("output", "")),
        label=label,
        probability=result.get("probability"),
        error=result.get("error"),
        time_s=time_s,
        correct=correct,
        tokens=int(result.get("tokens", 0) or 0),
        prompt_tokens=result.get("prompt_tokens"),
    )


class LabWindow(QWidget):
    def __init__(
        self,
        parent: QWidget,
        engine: ChatEngine,
        paths: AppPaths,
        loading: Callable[[], ModelSettings] = ModelSettings,
    ) -> None:
        """``loading``: the user's model loading settings, for another model run here."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Prompt lab — Folio")
        self.setObjectName("labWindow")
        self._engine = engine
        self._runs = paths.lab_runs
        self._tasks = Tasks(self)
        self._task: Task[Any] | None = None
        self._control: RunControl | None = None
        self._runner: BatchRunner | None = None
        # Whether the run going on reads the chat's own model (not one loaded for it).
        self._on_chat_model = True

        self.form = LabForm(paths.data / "lab" / "pasted", self)
        self.variants = VariantsBar(
            engine, self._runs, self.form.spec, self.form.model_choice, self._tasks, self
        )
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("sendButton")
        self.pause_button = QPushButton("Pause")
        self.restart_button = QPushButton("Start over")
        self.restart_button.setToolTip("Forget this run's results and run every row again.")
        self.export_button = QPushButton("Export CSV…")
        self.mistake_button = QPushButton("Next mistake")
        self.mistake_button.setToolTip("Select the next row whose answer is not the reference.")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.status = QLabel(CHOOSE)
        self.status.setObjectName("progressLabel")
        self.status.setWordWrap(True)

        self.settings_line = QLabel()
        self.settings_line.setObjectName("progressLabel")
        self.settings_line.setWordWrap(True)
        self.settings_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = ResultsTableModel()
        self.table = QTableView()
        self.table.setObjectName("documentTable")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)

        self.sentence = QLabel()
        self.sentence.setObjectName("paneTitle")
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scores = QLabel()
        self.scores.setWordWrap(True)
        self.scores.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bars = LabelBars()
        self.confusion = ConfusionGrid()
        self.confusion.hide()

        self._build()
        self._connect()
        self.form.restore()
        self._update_buttons()
        self._show_last_run()
        self.models = ModelsWatcher(self, engine, paths, self._tasks, loading)
        self.models.read.connect(self._on_models_read)
        geometry = QSettings().value(GEOMETRY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 760)

    def _build(self) -> None:
        run_buttons = QHBoxLayout()
        for button in (self.run_button, self.pause_button, self.restart_button):
            run_buttons.addWidget(button)
        run_buttons.addStretch(1)
        left = QWidget()
        left.setMinimumWidth(380)
        left.setMaximumWidth(520)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 8, 0)
        left_layout.addWidget(self.form)
        left_layout.addLayout(run_buttons)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.status)
        left_layout.addWidget(self.variants)
        left_layout.addStretch(1)

        table_buttons = QHBoxLayout()
        table_buttons.addStretch(1)
        table_buttons.addWidget(self.mistake_button)
        table_buttons.addWidget(self.export_button)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.settings_line)
        results_layout.addWidget(self.table, 1)
        results_layout.addLayout(table_buttons)

        figures = QVBoxLayout()
        figures.addWidget(self.sentence)
        figures.addWidget(self.scores)
        figures.addStretch(1)
        charts = QVBoxLayout()
        charts.addWidget(self.bars)
        charts.addWidget(self.confusion, 1)
        summary = QWidget()
        summary_layout = QHBoxLayout(summary)
        summary_layout.setContentsMargins(0, 4, 0, 0)
        summary_layout.addLayout(figures, 1)
        summary_layout.addLayout(charts, 1)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(results)
        right.addWidget(summary)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        layout = QHBoxLayout(self)
        layout.addWidget(left)
        layout.addWidget(right, 1)

    def _connect(self) -> None:
        self.form.changed.connect(self._on_form_changed)
        self.run_button.clicked.connect(self._on_run)
        self.pause_button.clicked.connect(self._on_pause)
        self.restart_button.clicked.connect(self._on_restart)
        self.export_button.clicked.connect(self._on_export)
        self.mistake_button.clicked.connect(self._on_next_mistake)
        self.variants.status_changed.connect(self.status.setText)
        self.variants.running_changed.connect(self._on_variants_running)

    # -- state ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        # Until its outcome is shown, not only until its work ends: the two are a queued
        # signal apart, and a run is over for the user when its figures are up.
        return self._task is not None or self.variants.running

    @Slot(bool)
    def _on_variants_running(self, _running: bool) -> None:
        self._update_buttons()

    def switch_refusal(self) -> str:
        """Why the chat model may not change now ("" when it may)."""
        if self.running and self._uses_chat_engine():
            return (
                "The prompt lab is running a batch on this model. Pause it in the Prompt lab "
                "window first; it continues from where it stopped."
            )
        return ""

    def _uses_chat_engine(self) -> bool:
        """A run on a model of its own does not hold the chat's model."""
        return self.variants.running or self._on_chat_model

    # -- the models to choose from --------------------------------------------------------------

    @Slot(object)
    def _on_models_read(self, models: tuple[ModelChoice | None, list[Path], ModelSettings]) -> None:
        self.form.set_models(*models)

    def _update_buttons(self) -> None:
        running = self.running
        ready = not self.form.problem.text()
        self.run_button.setEnabled(ready and not running)
        self.pause_button.setEnabled(running)
        self.restart_button.setEnabled(ready and not running)
        self.export_button.setEnabled(self._runner is not None and not running)
        self.mistake_button.setEnabled(self.model.mistakes > 0)
        self.form.setEnabled(not running)
        self.variants.set_enabled_for(ready, running)
        self.pause_button.setEnabled(running)

    @Slot(str)
    def _on_form_changed(self, problem: str) -> None:
        self._update_buttons()
        if self.running:
            return
        shown = self._runner
        if shown is not None and shown.spec.data != self.form.data:
            # The table was another file's: it goes, and this file's last run (if any) shows.
            self._runner = None
            self._clear_results()
            self.status.setText(CHOOSE)
            self._show_last_run()
        if self.status.text() in (READY, CHOOSE):
            self.status.setText(CHOOSE if problem else READY)

    def _clear_results(self) -> None:
        self.model.reset([])
        self.settings_line.setText("")
        self.bars.set_counts({})
        self.confusion.hide()
        self.sentence.setText("")
        self.scores.setText("")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)

    # -- the last run, after a restart ----------------------------------------------------------

    def _show_last_run(self) -> None:
        """The results of the run the form describes, if it was started before (and perhaps
        stopped when Folio quit), shown without running anything."""
        if self._engine.info is None:
            return
        try:
            spec = self.form.spec()
        except EngineError:
            return
        self._tasks.run(LANE, lambda _context: self._read_last(spec), done=self._on_last_read)

    def _read_last(self, spec: BatchSpec) -> tuple[_Started, RunSummary, int] | None:
        runner = BatchRunner(spec, self._engine, self._runs)
        if runner.completed() == 0:
            return None
        rows = [
            result_row(runner, joined.row, joined.inputs, joined.result, joined.time_s)
            for joined in joined_results(runner)
        ]
        total = count_rows(spec.data, runner.dataset)
        return _Started(runner, rows), summarise(runner, noun="rows"), total

    @Slot(object)
    def _on_last_read(self, last: tuple[_Started, RunSummary, int] | None) -> None:
        if last is None or self.running:
            return
        started, summary, total = last
        self._on_progress(started)
        self.model.flush()
        self._show_summary(summary)
        done = len(started.rows)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if done < total:
            self.status.setText(
                f"{done:,} of {total:,} rows were done before. Press Run to continue."
            )
        else:
            self.status.setText(f"The last run: {done:,} of {total:,} rows.")
        self._update_buttons()

    # -- running --------------------------------------------------------------------------------

    @Slot()
    def _on_run(self) -> None:
        self._start(fresh=False)

    @Slot()
    def _on_restart(self) -> None:
        self._start(fresh=True)

    def _start(self, fresh: bool) -> None:
        choice = self.form.model_choice()
        if self._engine.info is None and choice is None:
            show_error(self, "Load a chat model first: the lab runs the prompt on it.")
            return
        try:
            spec = self.form.spec()
        except EngineError as exc:
            show_error(self, str(exc))
            return
        self.form.save()
        control = RunControl()
        self._control = control
        self._on_chat_model = choice is None or is_chat_model(choice, self._engine)
        self._clear_results()
        self.status.setText("Reading the file and the prompt…")
        self.progress.setRange(0, 0)
        self._task = self._tasks.run(
            LANE,
            lambda context: self._work(context, spec, choice, control, fresh),
            done=self._on_finished,
            failed=self._on_failed,
            progress=self._on_progress,
        )
        self._update_buttons()

    def _work(
        self,
        context: TaskContext,
        spec: BatchSpec,
        choice: ModelChoice | None,
        control: RunControl,
        fresh: bool,
    ) -> tuple[RunOutcome, RunSummary, BatchRunner]:
        if choice is not None:
            context.report(f"Loading {choice.identity} for this run (the chat keeps its model)…")
        with engine_for(choice, self._engine) as engine:
            runner = BatchRunner(spec, engine, self._runs)
            if fresh and runner.folder.exists():
                shutil.rmtree(runner.folder)
            done_before = [
                result_row(runner, joined.row, joined.inputs, joined.result, joined.time_s)
                for joined in joined_results(runner)
            ]
            context.report(_Started(runner, done_before))
            outcome = runner.run(control, context.report)
        return outcome, summarise(runner, noun="rows"), runner

    @Slot(object)
    def _on_progress(self, update: object) -> None:
        if isinstance(update, str):
            self.status.setText(update)
            return
        if isinstance(update, _Started):
            self._runner = update.runner
            self.settings_line.setText(
                describe_settings(update.runner.spec, update.runner.model_name)
            )
            columns = list(update.runner.dataset.columns)
            self.model.reset(columns)
            self._fit_columns(columns, update.runner.spec.mode == "free")
            self.model.add(update.rows)
            if update.rows:
                self.status.setText(f"Continuing after {len(update.rows):,} rows done before…")
            self._show_counts()
            return
        if not isinstance(update, Progress) or self._runner is None:
            return
        if update.latest is not None:
            latest = update.latest
            self.model.add(
                [
                    result_row(
                        self._runner,
                        latest.row,
                        dict(latest.inputs),
                        latest.record(),
                        latest.time_s,
                    )
                ]
            )
        self.progress.setRange(0, max(update.total, 1))
        self.progress.setValue(update.done)
        left = ""
        if update.seconds_left is not None:
            left = f" · about {_duration(update.seconds_left)} left"
        self.status.setText(
            f"Row {update.done:,} of {update.total:,} · {update.items_per_s:.2f} rows/s{left}"
        )
        self._show_counts()

    def _fit_columns(self, columns: list[str], free: bool) -> None:
        """The longest input wide, the figures narrow; the answer only where it is free."""
        header = self.table.horizontalHeader()
        # An earlier run over other columns may have hidden another index.
        for column in range(self.model.columnCount()):
            self.table.setColumnHidden(column, False)
        header.resizeSection(0, 48)
        for index, _name in enumerate(columns, start=1):
            header.resizeSection(index, 280 if index == 1 else 100)
        answer = len(columns) + 1
        self.table.setColumnHidden(answer, not free)
        for offset, width in ((1, 240), (2, 110), (3, 90), (4, 60), (5, 80), (6, 70)):
            header.resizeSection(len(columns) + offset, width)

    def _show_counts(self) -> None:
        if self._runner is None:
            return
        counts = self.model.label_counts
        self.bars.set_counts({label: counts.get(label, 0) for label in self._runner.spec.labels})
        self.mistake_button.setEnabled(self.model.mistakes > 0)

    @Slot(object)
    def _on_finished(self, outcome: tuple[RunOutcome, RunSummary, BatchRunner]) -> None:
        result, summary, runner = outcome
        self._runner = runner
        self._task = None
        self.model.flush()
        self.progress.setRange(0, max(result.total, 1))
        self.progress.setValue(result.done)
        self._show_summary(summary)
        where = f"{result.done:,} of {result.total:,} rows"
        if result.state == "finished":
            speed = f", {result.items_per_s:.2f} rows/s" if result.items_per_s else ""
            self.status.setText(f"Done: {where} with {result.model}{speed}.")
        else:
            self.status.setText(f"Paused at {where}. Press Run to continue from there.")
        self._update_buttons()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        self._task = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        message = (
            str(error)
            if isinstance(error, EngineError)
            else (
                f"The run stopped on an unexpected error ({type(error).__name__}); the rows done "
                "so far are kept. The details are in the log."
            )
        )
        self.status.setText(message)
        show_error(self, message)
        self._update_buttons()

    def _show_summary(self, summary: RunSummary) -> None:
        self.sentence.setText(summary.sentence)
        self.bars.set_counts(summary.counts)
        lines: list[str] = []
        report = summary.classification
        if report is not None:
            lines.append(f"Accuracy {report.accuracy:.1%} ({report.correct:,} of {report.items:,})")
            for scores in report.per_label:
                lines.append(
                    f"{scores.label}: precision {scores.precision:.2f} · recall "
                    f"{scores.recall:.2f} · F1 {scores.f1:.2f} · {scores.support:,} in the "
                    "reference"
                )
            self.confusion.set_matrix(report.labels, report.columns, report.confusion)
            self.confusion.show()
        if summary.text is not None:
            text = summary.text
            lines.append(
                f"ROUGE-1 F1 {text.rouge1.f1:.3f} · ROUGE-2 F1 {text.rouge2.f1:.3f} · "
                f"ROUGE-L F1 {text.rouge_l.f1:.3f} · exact match {text.exact_match_rate:.1%}"
            )
        if summary.errors:
            lines.append(f"{summary.errors:,} rows could not be run: hover them for why.")
        self.scores.setText("\n".join(lines))

    @Slot()
    def _on_pause(self) -> None:
        for control in (self._control, self.variants.control):
            if control is not None:
                control.pause.set()
            self.status.setText("Pausing after this row…")

    # -- results --------------------------------------------------------------------------------

    @Slot()
    def _on_export(self) -> None:
        runner = self._runner
        if runner is None:
            return
        default = str(runner.spec.data.with_name(runner.spec.data.stem + "-results.csv"))
        name, _ = QFileDialog.getSaveFileName(self, "Export the results", default, "CSV (*.csv)")
        if not name:
            return
        self._tasks.run(
            LANE,
            lambda _context: export_csv(runner, Path(name)),
            done=self._on_exported,
            failed=self._on_failed,
        )

    @Slot(object)
    def _on_exported(self, rows: int) -> None:
        self.status.setText(f"Exported {rows:,} rows.")

    @Slot()
    def _on_next_mistake(self) -> None:
        mistakes = self.model.disagreements()
        if not mistakes:
            return
        current = self.table.currentIndex().row()
        following = next((row for row in mistakes if row > current), mistakes[0])
        self.table.selectRow(following)
        self.table.scrollTo(self.model.index(following, 0))

    # -- closing --------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Quitting Folio: the run stops after its current row, which is kept."""
        for control in (self._control, self.variants.control):
            if control is not None:
                control.pause.set()
        self.form.save()
        self._tasks.shutdown(wait=True)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        QSettings().setValue(GEOMETRY, self.saveGeometry())
        self.form.save()
        event.accept()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
