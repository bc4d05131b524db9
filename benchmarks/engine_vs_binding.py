"""Decode speed of Folio's chat engine against a bare llama-cpp-python loop.

Same model file, same threads, same context, same prompt and sampling; runs interleaved
(A B A B ...) and reports medians and the ratio, because shared machines drift. Folio's figure
includes everything the chat pays for: prompt rendering and fitting, per-token cancel checks, stop
sequence scanning and UTF-8-safe detokenisation.

    python -m benchmarks.engine_vs_binding [--model PATH] [--rounds 5] [--tokens 128]
                                           [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

from desktop.core.engine import (
    ChatEngine,
    ChatRequest,
    LoadOptions,
    SamplingParams,
    default_threads,
)
from desktop.core.models import starter_model_path

QUESTION = "Write a long story about a lighthouse keeper and a storm."


def folio_rate(engine: ChatEngine, tokens: int) -> float:
    params = SamplingParams(temperature=0.8, max_tokens=tokens, seed=1234)
    result = engine.generate(
        ChatRequest(QUESTION, system_prompt="You are a storyteller.", params=params),
        threading.Event(),
    ).result()
    return result.tokens_per_s


def bare_rate(llama: object, prompt_tokens: list[int], tokens: int) -> float:
    llama.set_seed(1234)  # type: ignore[attr-defined]
    generator = llama.generate(  # type: ignore[attr-defined]
        prompt_tokens, temp=0.8, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1
    )
    produced = 0
    first = 0.0
    for _token in generator:
        if produced == 0:
            first = time.perf_counter()
        produced += 1
        if produced >= tokens:
            break
    generator.close()
    elapsed = time.perf_counter() - first
    # The first token's time belongs to prefill in both measurements.
    return (produced - 1) / elapsed if elapsed > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="0: Folio's default")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    model = args.model or starter_model_path()
    if model is None:
        print("no model: pass --model", file=sys.stderr)
        return 2
    threads = args.threads or default_threads()
    n_ctx = 2048

    from llama_cpp import Llama

    engine = ChatEngine()
    engine.load(model, LoadOptions(context_length=n_ctx, threads=threads)).result()
    llama = Llama(
        str(model), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False
    )
    template_prompt = (
        "<|im_start|>system\nYou are a storyteller.<|im_end|>\n"
        f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
    )
    prompt_tokens = llama.tokenize(template_prompt.encode(), add_bos=False, special=True)

    folio: list[float] = []
    bare: list[float] = []
    try:
        folio_rate(engine, 8)  # warm-up both
        bare_rate(llama, prompt_tokens, 8)
        for _ in range(args.rounds):
            folio.append(folio_rate(engine, args.tokens))
            bare.append(bare_rate(llama, prompt_tokens, args.tokens))
    finally:
        engine.close()
        llama.close()
    figures = {
        "folio_tokens_per_s": round(statistics.median(folio), 2),
        "bare_binding_tokens_per_s": round(statistics.median(bare), 2),
        "rounds": args.rounds,
        "tokens_per_round": args.tokens,
        "threads": threads,
        "n_ctx": n_ctx,
        "model": model.name,
    }
    ratio = figures["folio_tokens_per_s"] / figures["bare_binding_tokens_per_s"]
    report = {
        "benchmark": "engine_vs_binding",
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "figures": figures,
        "ratios": {"folio_vs_bare_binding_decode": round(ratio, 3)},
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"Folio engine: {figures['folio_tokens_per_s']} tokens/s, bare llama-cpp-python: "
            f"{figures['bare_binding_tokens_per_s']} tokens/s (median of {args.rounds}, "
            f"{threads} thread(s)); ratio {ratio:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
