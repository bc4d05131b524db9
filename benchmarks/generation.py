"""Generation: Folio's chat engine against llama.cpp's own ``llama-bench``, same model and threads.

Folio's figures come through the path the chat uses: the prompt rendered with the model's
template and fitted to the context, tokenised, prefilled, then every answer token sampled
(Folio's default sampling, penalties included), detokenised, scanned for stop texts and
streamed to a reader. The reference is ``llama-bench`` built from the llama.cpp source that
llama-cpp-python compiles (``benchmarks/llama_bench.py``), run on the same GGUF with the same
thread count and batch size: ``pp`` for prefill, ``tg`` for decode. Rounds alternate (llama-bench,
Folio, llama-bench, Folio …) and the figures are medians.

    python -m benchmarks.generation [--rounds 5] [--model PATH ...] [--json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.common import BenchResult, Goal, ReferenceUnavailableError, median, print_result
from benchmarks.llama_bench import llama_bench_path, run_llama_bench
from desktop.core.llm.engine import ChatEngine, ChatRequest, GenerationResult
from desktop.core.models.starter import starter_model_path, templateless_model_path
from desktop.core.platform import default_threads
from desktop.core.settings.schema import GenerationSettings, ModelSettings

RATIO_GOAL = 0.95
PROBABILITIES_GOAL = 0.9
PROMPT_TOKENS = 512
ANSWER_TOKENS = 128
CONTEXT = 2048
STORY = "Write a long story about a lighthouse keeper, a storm and a ship that lost its way."
# Filler for the prefill prompt: ordinary prose, so tokenisation is like a real question's.
FILLER = (
    "The harbour master kept a ledger of every ship that passed the point, its cargo, its "
    "crew and the weather it met. "
)


def models(cache: Path) -> list[Path]:
    """The starter chat model, and Gemma 3 270M (262k-word vocabulary) when installed."""
    found = [path for path in (starter_model_path(), templateless_model_path(cache)) if path]
    if not found:
        raise ReferenceUnavailableError("no chat model installed to benchmark")
    return found


def long_question(engine: ChatEngine, tokens: int) -> str:
    """A question whose whole prompt (template included) is close to ``tokens`` tokens."""
    per_filler = engine.count_tokens(FILLER)
    question = FILLER * max(1, (tokens - 40) // per_filler) + "Summarise the ledger."
    return question


def folio_run(
    engine: ChatEngine, question: str, max_tokens: int, seed: int = 1234, logprobs: int = 0
) -> GenerationResult:
    params = replace(GenerationSettings(), max_tokens=max_tokens, seed=seed)
    request = ChatRequest(question, params=params, logprobs=logprobs)
    stream = engine.stream(request, threading.Event())
    for _text in stream:
        pass
    assert stream.result is not None
    return stream.result


def folio_decode(engine: ChatEngine, tokens: int, logprobs: int = 0) -> tuple[float, int]:
    """Decode rate over at least ``tokens`` answer tokens, and how many were decoded.

    A base model without a chat template (Gemma 3 270M here) ends its turn after a sentence or
    two, so its answers to several seeds are pooled: each answer's tokens after its first over
    the time they took, as the engine reports it.
    """
    decoded = 0
    seconds = 0.0
    for seed in range(1234, 1234 + 16):
        result = folio_run(engine, STORY, tokens - decoded, seed, logprobs)
        if result.completion_tokens > 1 and result.tokens_per_s > 0:
            decoded += result.completion_tokens - 1
            seconds += (result.completion_tokens - 1) / result.tokens_per_s
        if decoded >= tokens - 1:
            break
    return (decoded / seconds if seconds else 0.0), decoded + 1


def bench_model(binary: Path, model: Path, rounds: int, threads: int) -> dict[str, Any]:
    engine = ChatEngine()
    try:
        options = ModelSettings(context_length=CONTEXT, threads=threads, batch_size=PROMPT_TOKENS)
        engine.load(model, options).result()
        question = long_question(engine, PROMPT_TOKENS)
        warm = folio_run(engine, question, 1)
        prompt_tokens = warm.prompt_tokens
        folio_run(engine, STORY, 16)
        folio_prefill: list[float] = []
        folio_decode_rates: list[float] = []
        # Show probabilities on: five alternatives per token, read from each position's logits.
        probability_decode_rates: list[float] = []
        reference_prefill: list[float] = []
        reference_decode: list[float] = []
        answered: list[int] = []
        for _ in range(rounds):
            rows = run_llama_bench(
                binary,
                model,
                threads=threads,
                prompt_tokens=prompt_tokens,
                generated_tokens=ANSWER_TOKENS,
                batch_size=PROMPT_TOKENS,
                repetitions=1,
            )
            reference_prefill += [r.tokens_per_s for r in rows if r.prompt_tokens]
            reference_decode += [r.tokens_per_s for r in rows if r.generated_tokens]
            prefill = folio_run(engine, question, 1)
            folio_prefill.append(prefill.prompt_tokens / prefill.ttft_s)
            rate, decoded = folio_decode(engine, ANSWER_TOKENS)
            folio_decode_rates.append(rate)
            answered.append(decoded)
            probability_decode_rates.append(folio_decode(engine, ANSWER_TOKENS, logprobs=5)[0])
    finally:
        engine.close()
    return {
        "model": model.name,
        "prompt_tokens": prompt_tokens,
        "answer_tokens": int(median(answered)),
        "folio_prefill_tokens_per_s": round(median(folio_prefill), 1),
        "llama_bench_prefill_tokens_per_s": round(median(reference_prefill), 1),
        "folio_decode_tokens_per_s": round(median(folio_decode_rates), 1),
        "llama_bench_decode_tokens_per_s": round(median(reference_decode), 1),
        "prefill_ratio": median(folio_prefill) / median(reference_prefill),
        "decode_ratio": median(folio_decode_rates) / median(reference_decode),
        "folio_decode_with_probabilities_tokens_per_s": round(median(probability_decode_rates), 1),
        "probabilities_decode_ratio": median(probability_decode_rates) / median(folio_decode_rates),
    }


def run(rounds: int = 5, model_paths: list[Path] | None = None) -> BenchResult:
    binary = llama_bench_path()
    threads = default_threads()
    with tempfile.TemporaryDirectory() as scratch:
        chosen = model_paths or models(Path(scratch))
        per_model = [bench_model(binary, model, rounds, threads) for model in chosen]
    result = BenchResult("generation")
    result.figures = {
        "threads": threads,
        "context": CONTEXT,
        "batch_size": PROMPT_TOKENS,
        "rounds": rounds,
        "models": per_model,
    }
    # The goal holds for the weakest model: the ratios are the minimum over them.
    decode = min(m["decode_ratio"] for m in per_model)
    prefill = min(m["prefill_ratio"] for m in per_model)
    result.ratios = {"decode_vs_llama_bench": decode, "prefill_vs_llama_bench": prefill}
    for m in per_model:
        stem = Path(m["model"]).stem
        result.ratios[f"decode_vs_llama_bench[{stem}]"] = m["decode_ratio"]
        result.ratios[f"prefill_vs_llama_bench[{stem}]"] = m["prefill_ratio"]
    with_probabilities = min(m["probabilities_decode_ratio"] for m in per_model)
    result.ratios["decode_with_probabilities_vs_without"] = with_probabilities
    result.goals = {
        "decode_with_probabilities_vs_without": Goal(PROBABILITIES_GOAL, with_probabilities),
        "decode_vs_llama_bench": Goal(RATIO_GOAL, decode),
        "prefill_vs_llama_bench": Goal(RATIO_GOAL, prefill),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", type=Path, action="append", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return print_result("generation", lambda: run(args.rounds, args.model), args.json)


if __name__ == "__main__":
    sys.exit(main())
