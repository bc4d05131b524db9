"""The same rows through two to four variants of a run (another prompt, examples or none,
another answer mode or temperature), side by side: each variant's scores and speed, and the rows
where they answer differently."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.core.errors import EngineError
from desktop.core.lab.batch import BatchRunner, BatchSpec
from desktop.core.lab.reports import RunSummary, joined_results, summarise

MAX_VARIANTS = 4
VARIANT_NAMES = "ABCD"


def describe_spec(spec: BatchSpec) -> str:
    """A variant in a few words: how the answer is read, the examples, the prompt's start."""
    mode = {"likelihood": "likeliest label", "constrained": "constrained", "free": "free text"}
    examples = f"{len(spec.examples)} examples" if spec.examples else "no examples"
    first = " ".join(spec.template.split())
    prompt = first if len(first) <= 40 else first[:39] + "…"
    temperature = f", temperature {spec.temperature:g}" if spec.temperature else ""
    return f"{mode[spec.mode]}, {examples}{temperature}: “{prompt}”"


def describe_settings(spec: BatchSpec, model: str) -> str:
    """The model and the settings a run's answers came from, seed included, in one line."""
    parts = [f"Run on {model}"]
    if spec.mode == "likelihood":
        # Scoring reads probabilities; no token is drawn, so no sampling setting applies.
        parts.append("labels scored by likelihood (no sampling)")
    else:
        parts += [spec.chain.describe(), f"up to {spec.max_tokens} tokens"]
    parts.append(f"seed {spec.seed}")
    return " · ".join(parts)


def check_comparable(specs: Sequence[BatchSpec]) -> None:
    """Variants compare the same rows against the same reference; EngineError says what
    differs."""
    if not 2 <= len(specs) <= MAX_VARIANTS:
        raise EngineError(f"Compare two to {MAX_VARIANTS} variants (there are {len(specs)}).")
    first = specs[0]
    for spec in specs[1:]:
        if spec.data != first.data:
            raise EngineError(
                f"The variants must run over the same file: {first.data.name} and "
                f"{spec.data.name} differ. Choose one file for all of them."
            )
        if spec.reference_column != first.reference_column:
            raise EngineError("The variants must score against the same reference column.")


@dataclass(frozen=True)
class VariantResult:
    name: str
    description: str
    model: str
    summary: RunSummary
    items_per_s: float
    done: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "model": self.model,
            "items_per_s": round(self.items_per_s, 3),
            "done": self.done,
            **self.summary.to_json(),
        }


def variant_result(name: str, runner: BatchRunner) -> VariantResult:
    timings = runner.stored_timings()
    seconds = sum(timings.values())
    return VariantResult(
        name=name,
        description=describe_spec(runner.spec),
        model=runner.model_name,
        summary=summarise(runner, noun="rows"),
        items_per_s=len(timings) / seconds if seconds > 0 else 0.0,
        done=runner.completed(),
    )


@dataclass(frozen=True)
class ComparedRow:
    row: int
    inputs: dict[str, str]
    reference: str | None
    # Each variant's label (or free answer), None where it has no result for the row yet.
    answers: tuple[str | None, ...]

    @property
    def agree(self) -> bool:
        given = [answer for answer in self.answers if answer is not None]
        return len(set(given)) <= 1


def compared_rows(runners: Sequence[BatchRunner]) -> Iterator[ComparedRow]:
    """Every row of the first variant's data with each variant's answer, streamed."""
    streams = [joined_results(runner) for runner in runners]
    reference = runners[0].spec.reference_column
    heads = [next(stream, None) for stream in streams]
    while any(head is not None for head in heads):
        row = min(head.row for head in heads if head is not None)
        inputs: dict[str, str] = {}
        answers: list[str | None] = []
        for index, head in enumerate(heads):
            if head is not None and head.row == row:
                inputs = head.inputs
                result = head.result
                answers.append(result.get("label") or result.get("output") or None)
                heads[index] = next(streams[index], None)
            else:
                answers.append(None)
        yield ComparedRow(
            row,
            inputs,
            inputs.get(reference, "").strip() if reference else None,
            tuple(answers),
        )
