"""``folio batch``: one prompt over every row of a data file, with the window's engine; the
counts, the scores against a reference column, and a results file that a rerun resumes."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
from typing import Any

from desktop.cli.errors import UsageError
from desktop.cli.options import chosen_model_path, settings_from
from desktop.core.errors import EngineError
from desktop.core.formatting import terminal_text
from desktop.core.lab.batch import BatchRunner, BatchSpec, Progress, RunControl
from desktop.core.lab.reports import export_csv, summarise
from desktop.core.lab.templates import PromptTemplate, parse_labels, read_examples
from desktop.core.llm.engine import ChatEngine
from desktop.core.paths import AppPaths


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    settings = settings_from(args, paths.settings_file)
    spec = _spec(args, settings.generation)
    model_path = chosen_model_path(settings)
    engine = ChatEngine()
    control = RunControl()
    try:
        info = engine.load(model_path, settings.model).result()
        if info.lora_problem:
            raise UsageError(info.lora_problem)
        runner = BatchRunner(spec, engine, paths.lab_runs)
        if args.fresh and runner.folder.exists():
            shutil.rmtree(runner.folder)
        resumed = runner.completed()
        if resumed and not args.json:
            print(f"Resuming: {resumed:,} rows were done before.", file=sys.stderr)
        limit = args.limit
        reporter = _Reporter(args.json, limit, control)
        outcome = runner.run(control, reporter.on_progress)
        reporter.finish()
        summary = summarise(runner, noun="rows")
        exported = export_csv(runner, args.export) if args.export is not None else None
    except EngineError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        control.cancel.set()
        print("\nStopped; run the same command again to continue.", file=sys.stderr)
        raise
    finally:
        engine.close()

    if args.json:
        reply: dict[str, Any] = {
            **summary.to_json(),
            "state": outcome.state,
            "done": outcome.done,
            "total": outcome.total,
            "items_per_s": round(outcome.items_per_s, 3),
            "model": outcome.model,
            "mode": spec.mode,
            "results_path": str(runner.folder / "results.jsonl"),
        }
        if exported is not None:
            reply["export_path"] = str(args.export)
        print(json.dumps(reply, ensure_ascii=False))
        return 0
    print(summary.sentence)
    if summary.classification is not None:
        report = summary.classification
        print(f"Accuracy {report.accuracy:.3f} ({report.correct:,} of {report.items:,})")
        for scores in report.per_label:
            print(
                f"  {terminal_text(scores.label)}: precision {scores.precision:.3f}, "
                f"recall {scores.recall:.3f}, F1 {scores.f1:.3f} ({scores.support:,} in the "
                "reference)"
            )
        print(_confusion_text(report.columns, report.labels, report.confusion))
    if summary.text is not None:
        text = summary.text
        print(
            f"ROUGE-1 F1 {text.rouge1.f1:.3f}, ROUGE-2 F1 {text.rouge2.f1:.3f}, "
            f"ROUGE-L F1 {text.rouge_l.f1:.3f}, exact match {text.exact_match_rate:.3f}"
        )
    if summary.errors:
        print(f"{summary.errors:,} rows could not be run; their reasons are in the results.")
    state = {"finished": "finished", "paused": "stopped", "cancelled": "stopped"}[outcome.state]
    print(
        f"{outcome.done:,} of {outcome.total:,} rows {state}, {outcome.items_per_s:.2f} rows/s "
        f"with {outcome.model}. Results: {runner.folder / 'results.jsonl'}"
    )
    if exported is not None:
        print(f"Exported {exported:,} rows to {args.export}")
    return 0


def _spec(args: argparse.Namespace, generation: Any) -> BatchSpec:
    try:
        template = PromptTemplate.parse(_unescaped(args.template))
        labels = parse_labels(args.labels) if args.labels.strip() else ()
        examples: tuple[Any, ...] = ()
        if args.examples is not None:
            examples = tuple(read_examples(args.examples, template, args.reference or "label"))
        return BatchSpec(
            data=args.data.expanduser(),
            template=template.text,
            mode=args.mode,
            labels=labels,
            # The chat's system prompt is for conversations; a batch has one only when asked.
            system_prompt=_unescaped(args.system_prompt or ""),
            examples=examples,
            reference_column=args.reference,
            # A batch is a measurement: greedy and seeded unless asked otherwise.
            temperature=args.temperature if args.temperature is not None else 0.0,
            top_k=generation.top_k,
            top_p=generation.top_p,
            min_p=generation.min_p,
            seed=args.seed if args.seed is not None and args.seed >= 0 else 0,
            max_tokens=args.max_tokens if args.max_tokens is not None else 32,
            calibrate=not args.no_calibration,
            prompt_style=args.prompt_style,
        )
    except EngineError as exc:
        raise UsageError(str(exc)) from None


def _unescaped(text: str) -> str:
    """``\\n`` and ``\\t`` typed in a shell's quotes as a line break and a tab."""
    return text.replace("\\n", "\n").replace("\\t", "\t")


class _Reporter:
    """Progress on stderr (one rewritten line on a terminal), and the --limit stop."""

    def __init__(self, quiet: bool, limit: int | None, control: RunControl) -> None:
        self._quiet = quiet or not sys.stderr.isatty()
        self._limit = limit
        self._control = control
        self._count = 0
        self._lock = threading.Lock()

    def on_progress(self, progress: Progress) -> None:
        self._count += 1
        if self._limit is not None and self._count >= self._limit:
            self._control.pause.set()
        if self._quiet:
            return
        left = f", about {progress.seconds_left:.0f} s left" if progress.seconds_left else ""
        sys.stderr.write(
            f"\rrow {progress.done:,} of {progress.total:,}, "
            f"{progress.items_per_s:.2f} rows/s{left}   "
        )
        sys.stderr.flush()

    def finish(self) -> None:
        if not self._quiet and self._count:
            sys.stderr.write("\n")


def _confusion_text(
    columns: tuple[str, ...], labels: tuple[str, ...], confusion: tuple[tuple[int, ...], ...]
) -> str:
    width = max(len(name) for name in (*columns, "reference")) + 2
    lines = ["Confusion (rows: reference, columns: answer)"]
    lines.append(" " * width + "".join(name.rjust(width) for name in columns))
    for label, counts in zip(labels, confusion, strict=True):
        lines.append(label.ljust(width) + "".join(str(count).rjust(width) for count in counts))
    return "\n".join(lines)
