"""The batch runner: every row of a data file through one prompt, in the background, resumable.

A run is named by what decides its results (the file's bytes, the prompt, the labels, the mode,
the model and the sampling settings), so starting the same run again continues it from its
checkpoint: each item's result is appended to ``results.jsonl`` as soon as it is known. The
results hold nothing that varies between two runs of the same thing (times are kept apart in
``timings.jsonl``), so the same file, prompt, model and seed give byte-identical results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from desktop.core.errors import EngineError
from desktop.core.lab.datasets import DatasetInfo, Row, count_rows, inspect_dataset, read_rows
from desktop.core.lab.item_prompts import (
    CONTENT_FREE_VALUES,
    LabelTrie,
    PromptPlan,
    PromptStyle,
    answer_sequences,
    calibrated,
    combine_variants,
    first_token_bias,
    label_distribution,
    label_variants,
    match_label,
)
from desktop.core.lab.templates import Example, PromptTemplate
from desktop.core.llm.engine import ChatEngine
from desktop.core.llm.probabilities import ChainSettings
from desktop.core.llm.scoring import ItemTooLongError, PrefixScorer

log = logging.getLogger(__name__)

AnswerMode = Literal["free", "constrained", "likelihood"]
ANSWER_MODES: tuple[AnswerMode, ...] = ("free", "constrained", "likelihood")
RunState = Literal["finished", "paused", "cancelled"]


class ModelChangedError(EngineError):
    """The chat model was switched while a run was going; the run stops where it was."""


@dataclass(frozen=True)
class BatchSpec:
    """Everything that decides a run's results."""

    data: Path
    template: str
    mode: AnswerMode = "likelihood"
    labels: tuple[str, ...] = ()
    system_prompt: str = ""
    examples: tuple[Example, ...] = ()
    reference_column: str | None = None
    temperature: float = 0.0
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    seed: int = 0
    max_tokens: int = 32
    # Likelihood mode: divide out what the prompt alone makes the model favour.
    calibrate: bool = True
    # None: a completion for choosing a label, the model's chat template for free answers.
    prompt_style: PromptStyle | None = None

    @property
    def style(self) -> PromptStyle:
        if self.prompt_style is not None:
            return self.prompt_style
        return "chat" if self.mode == "free" else "completion"

    def __post_init__(self) -> None:
        if self.mode not in ANSWER_MODES:
            raise EngineError(
                f"Unknown answer mode “{self.mode}”: use free, constrained or likelihood."
            )
        if self.mode != "free" and len(self.labels) < 2:
            raise EngineError(
                f"The {self.mode} mode chooses among labels: give at least two (for example "
                "--labels positive,negative)."
            )

    @property
    def chain(self) -> ChainSettings:
        return ChainSettings(self.temperature, self.top_k, self.top_p, self.min_p)

    def describe(self) -> dict[str, Any]:
        settings = dataclasses.asdict(self)
        settings["data"] = str(self.data)
        settings["examples"] = [
            {"values": dict(example.values), "label": example.label} for example in self.examples
        ]
        return settings


@dataclass(frozen=True)
class ItemResult:
    row: int
    inputs: Mapping[str, str]
    output: str
    label: str | None
    # The chosen label's probability among the labels (likelihood), or the answer's own.
    probability: float | None
    scores: Mapping[str, float]
    # The tokens written: a label scored by likelihood counts as one.
    tokens: int
    error: str | None = None
    time_s: float = 0.0
    # The whole prompt the item was answered from, shared instructions and examples included.
    prompt_tokens: int = 0

    def record(self) -> dict[str, Any]:
        """The deterministic part, as stored: no time."""
        return {
            "row": self.row,
            "output": self.output,
            "label": self.label,
            "probability": None if self.probability is None else round(self.probability, 6),
            "scores": {label: round(score, 6) for label, score in self.scores.items()},
            "tokens": self.tokens,
            "prompt_tokens": self.prompt_tokens,
            "error": self.error,
        }


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    items_per_s: float
    seconds_left: float | None
    latest: ItemResult | None


@dataclass
class RunControl:
    """Pause and cancel, set from any thread and looked at between items."""

    pause: threading.Event = field(default_factory=threading.Event)
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class RunOutcome:
    state: RunState
    folder: Path
    done: int
    total: int
    # Items per second in this session of the run (what was resumed is not counted).
    items_per_s: float
    model: str


METHOD_VERSION = 2


def run_id(spec: BatchSpec, model_file: Path, model_identity: str = "") -> str:
    digest = hashlib.sha256()
    with spec.data.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    stat = model_file.stat()
    identity = {
        # Raised when the same spec would answer differently (2: constrained calibrated).
        "method": METHOD_VERSION,
        "data_sha256": digest.hexdigest(),
        "spec": {**spec.describe(), "data": spec.data.name},
        "model": [model_file.name, stat.st_size, model_identity],
    }
    encoded = json.dumps(identity, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:16]


class BatchRunner:
    """Runs one spec on the engine's loaded model, writing its checkpoint under ``runs``."""

    def __init__(self, spec: BatchSpec, engine: ChatEngine, runs: Path) -> None:
        info = engine.info
        if info is None:
            raise EngineError("No model is loaded: load a chat model before running a batch.")
        self.spec = spec
        self.engine = engine
        self.model_name = info.identity
        self.dataset: DatasetInfo = inspect_dataset(spec.data)
        self.template = PromptTemplate.parse(spec.template)
        self.template.check_columns(self.dataset.columns)
        if spec.reference_column is not None and spec.reference_column not in self.dataset.columns:
            raise EngineError(
                f"The reference column “{spec.reference_column}” is not in "
                f"{spec.data.name} (its columns are {', '.join(self.dataset.columns)})."
            )
        self.plan = PromptPlan(self.template, spec.system_prompt, spec.examples, spec.style)
        self.folder = runs / run_id(spec, info.path, info.identity)
        self._results = self.folder / "results.jsonl"
        self._timings = self.folder / "timings.jsonl"
        self._prior: list[float] | None = None

    # -- the checkpoint -------------------------------------------------------------------------

    def completed(self) -> int:
        """How many items the checkpoint holds, after dropping a line a kill left half written."""
        if not self._results.exists():
            return 0
        data = self._results.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data):
            with self._results.open("r+b") as results:
                results.truncate(len(whole))
        return whole.count(b"\n")

    def stored_results(self) -> Iterator[dict[str, Any]]:
        if not self._results.exists():
            return
        with self._results.open(encoding="utf-8") as results:
            for line in results:
                if line.endswith("\n"):
                    yield json.loads(line)

    def stored_timings(self) -> dict[int, float]:
        timings: dict[int, float] = {}
        if self._timings.exists():
            for line in self._timings.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    timings[int(entry["row"])] = float(entry["time_s"])
                except (ValueError, KeyError, TypeError):
                    continue
        return timings

    def _write_spec(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        spec_file = self.folder / "spec.json"
        if not spec_file.exists():
            document = {"spec": self.spec.describe(), "model": self.model_name}
            temporary = spec_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False), "utf-8")
            temporary.replace(spec_file)

    # -- running --------------------------------------------------------------------------------

    def run(
        self,
        control: RunControl | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> RunOutcome:
        control = control or RunControl()
        self._write_spec()
        total = count_rows(self.spec.data, self.dataset)
        done = self.completed()
        started = time.perf_counter()
        this_session = 0
        state: RunState = "finished"
        with (
            self._results.open("a", encoding="utf-8", newline="\n") as results,
            self._timings.open("a", encoding="utf-8", newline="\n") as timings,
        ):
            for row in read_rows(self.spec.data, self.dataset, start=done):
                if control.cancel.is_set():
                    state = "cancelled"
                    break
                if control.pause.is_set():
                    state = "paused"
                    break
                result = self._run_item(row)
                results.write(json.dumps(result.record(), ensure_ascii=False) + "\n")
                results.flush()
                timings.write(json.dumps({"row": row.number, "time_s": round(result.time_s, 4)}))
                timings.write("\n")
                done += 1
                this_session += 1
                if on_progress is not None:
                    elapsed = time.perf_counter() - started
                    rate = this_session / elapsed if elapsed > 0 else 0.0
                    left = (total - done) / rate if rate > 0 else None
                    on_progress(Progress(done, total, rate, left, result))
        elapsed = time.perf_counter() - started
        return RunOutcome(
            state=state,
            folder=self.folder,
            done=done,
            total=total,
            items_per_s=this_session / elapsed if elapsed > 0 and this_session else 0.0,
            model=self.model_name,
        )

    def _run_item(self, row: Row) -> ItemResult:
        started = time.perf_counter()
        inputs = dict(row.values)
        if row.problem is not None:
            return ItemResult(row.number, inputs, "", None, None, {}, 0, row.problem)
        try:
            result = self.engine.run_on_model(lambda scorer: self._score(scorer, row)).result()
        except ItemTooLongError as exc:
            result = ItemResult(row.number, inputs, "", None, None, {}, 0, str(exc))
        return dataclasses.replace(result, time_s=time.perf_counter() - started)

    def _score(self, scorer: PrefixScorer, row: Row) -> ItemResult:
        if scorer.model_name != self.model_name:
            raise ModelChangedError(
                f"The chat model changed from {self.model_name} to {scorer.model_name} during "
                "the run. It stopped where it was; load the first model again to continue."
            )
        scorer.prime(self.plan.shared_prefix_tokens(scorer))
        values = dict(row.values)
        prompt = self.plan.prompt_text(scorer, values)
        prompt_tokens = scorer.tokenize(prompt)
        spec = self.spec
        spellings = [label_variants(label) for label in spec.labels]
        flat = [variant for variants in spellings for variant in variants]
        sequences = answer_sequences(scorer, prompt, prompt_tokens, flat)
        owners = [index for index, variants in enumerate(spellings) for _ in variants]
        room = max((len(sequence) for sequence in sequences), default=0) + 1
        if spec.mode == "free":
            room = spec.max_tokens
        # Read before the item: measuring the prior reads other inputs after the shared prefix.
        prior = (
            self._content_free_prior(scorer)
            if spec.calibrate and spec.mode == "constrained"
            else None
        )
        position, logits = scorer.read_item(prompt_tokens, room)
        if spec.mode == "likelihood":
            scores = self._label_scores(scorer, position, logits, sequences, owners)
            if spec.calibrate:
                scores = calibrated(scores, self._content_free_prior(scorer))
            best = int(np.argmax(scores))
            return ItemResult(
                row.number,
                values,
                spec.labels[best],
                spec.labels[best],
                label_distribution(scores)[best],
                dict(zip(spec.labels, scores, strict=True)),
                1,
                prompt_tokens=len(prompt_tokens),
            )
        rng = np.random.default_rng([spec.seed, row.number])
        if spec.mode == "constrained":
            trie = LabelTrie(sequences, scorer.end_tokens())
            bias = first_token_bias(sequences, owners, prior) if prior is not None else None
            decoded = scorer.decode(
                position,
                logits,
                room + 1,
                spec.chain,
                rng,
                allowed=trie.allowed,
                first_bias=bias,
            )
            spelled = trie.label_of(decoded.tokens, flat)
            chosen = spec.labels[owners[flat.index(spelled)]] if spelled is not None else None
            return ItemResult(
                row.number,
                values,
                chosen or decoded.text,
                chosen,
                math.exp(decoded.logprob),
                {},
                len(decoded.tokens),
                prompt_tokens=len(prompt_tokens),
            )
        decoded = scorer.decode(
            position,
            logits,
            spec.max_tokens,
            spec.chain,
            rng,
            stop_strings=self.plan.prompt_format(scorer).stop_strings,
        )
        text = decoded.text.strip()
        named = match_label(text, spec.labels) if spec.labels else None
        return ItemResult(
            row.number,
            values,
            text,
            named,
            None,
            {},
            len(decoded.tokens),
            prompt_tokens=len(prompt_tokens),
        )

    def _label_scores(
        self,
        scorer: PrefixScorer,
        position: int,
        logits: Any,
        sequences: list[list[int]],
        owners: list[int],
    ) -> list[float]:
        """Each label's log-probability as the answer, summed over its spellings."""
        flat_scores = scorer.sequence_logprobs(position, logits, sequences)
        by_label: list[list[float]] = [[] for _ in self.spec.labels]
        for owner, score in zip(owners, flat_scores, strict=True):
            by_label[owner].append(score)
        return [combine_variants(scores) for scores in by_label]

    def _content_free_prior(self, scorer: PrefixScorer) -> list[float]:
        """The label distribution the prompt gives inputs with no content, averaged."""
        if self._prior is None:
            totals = [0.0] * len(self.spec.labels)
            for filler in CONTENT_FREE_VALUES:
                values = dict.fromkeys(self.dataset.columns, filler)
                prompt = self.plan.prompt_text(scorer, values)
                tokens = scorer.tokenize(prompt)
                spellings = [label_variants(label) for label in self.spec.labels]
                flat = [variant for variants in spellings for variant in variants]
                owners = [index for index, variants in enumerate(spellings) for _ in variants]
                sequences = answer_sequences(scorer, prompt, tokens, flat)
                position, logits = scorer.read_item(tokens, 8)
                distribution = label_distribution(
                    self._label_scores(scorer, position, logits, sequences, owners)
                )
                totals = [total + p for total, p in zip(totals, distribution, strict=True)]
            self._prior = [total / len(CONTENT_FREE_VALUES) for total in totals]
            log.info("content-free label prior: %s", self._prior)
        return self._prior
