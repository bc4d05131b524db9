"""``folio ask``: one question, the answer streamed to stdout, with the window's engine and
settings; ``--docs`` answers from the library and lists the sources it cites."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from typing import Any

from desktop.cli.documents import open_library
from desktop.cli.errors import UsageError
from desktop.cli.options import chosen_model_path, settings_from
from desktop.core.chat.evidence import Attribution, attribute
from desktop.core.chat.rag import (
    NOT_FROM_DOCUMENTS,
    NOT_IN_LIBRARY,
    REPETITION_NOTICE,
    GroundedQuestion,
    Source,
    SourceRef,
    evidence_source,
    ground_in_library,
    listing_order,
    not_indexed_notice,
    quote_to_meta,
    source_budget,
)
from desktop.core.chat.scope import ScopeMode
from desktop.core.documents.relevance import describe
from desktop.core.errors import EngineError
from desktop.core.formatting import terminal_text
from desktop.core.llm.engine import ChatEngine, ChatRequest, ModelInfo
from desktop.core.llm.inspection import summary_lines
from desktop.core.llm.probabilities import TokenProbabilities, score_sequence
from desktop.core.llm.prompting import QuestionTooLongError
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import GenerationSettings, Settings


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    settings = settings_from(args, paths.settings_file)
    question = args.question
    if not question.strip():
        raise UsageError("the question is empty")
    mode = ScopeMode(args.docs)
    model_path = chosen_model_path(settings)

    engine = ChatEngine()
    cancel = threading.Event()
    try:
        info = engine.load(model_path, settings.model).result()
        if info.lora_problem:
            raise UsageError(info.lora_problem)
        params = settings.generation
        if not 0 <= args.logprobs <= 20:
            raise UsageError("--logprobs takes a number of alternatives from 0 to 20")
        request = ChatRequest(
            question=question,
            system_prompt=params.system_prompt,
            params=params,
            logprobs=args.logprobs,
        )
        grounded = None
        if mode is not ScopeMode.OFF:
            grounded = _ground(question, settings, engine, info, paths)
            if grounded.relevant:
                request = ChatRequest(
                    question=grounded.prompt,
                    system_prompt=grounded.system_prompt,
                    params=params,
                    logprobs=args.logprobs,
                )
            elif mode is ScopeMode.ALL:
                return _print_not_in_library(info.name, grounded, args.json)
            elif not args.json:
                print(f"({NOT_FROM_DOCUMENTS})", flush=True)
        if grounded is not None and grounded.relevant and grounded.quotes and not args.json:
            print(_quotes_text(grounded), flush=True)
        stream = engine.stream(request, cancel)
        try:
            for piece in stream:
                if not args.json:
                    sys.stdout.write(piece)
                    sys.stdout.flush()
        except KeyboardInterrupt:
            cancel.set()
            raise
        result = stream.result
        assert result is not None
    except (EngineError, QuestionTooLongError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        engine.close()

    from_documents = grounded is not None and grounded.relevant
    sources = grounded.sources if grounded is not None and from_documents else ()
    attribution = attribute(result.text.strip(), [evidence_source(s) for s in sources])
    if args.json:
        reply: dict[str, Any] = {
            "answer": result.text.strip(),
            "model": info.name,
            "timings": {
                "ttft_s": round(result.ttft_s, 4),
                "tokens": result.completion_tokens,
                "tokens_per_s": round(result.tokens_per_s, 2),
            },
            "finish_reason": result.finish_reason,
            "seed": result.seed,
        }
        if args.show_prompt and result.prompt is not None:
            reply["prompt"] = result.prompt.to_json()
        if args.logprobs:
            reply["logprobs"] = [step.to_json() for step in result.probabilities]
            overall = score_sequence(result.probabilities)
            reply["total_logprob"] = round(overall.total_logprob, 4)
            reply["perplexity"] = round(overall.perplexity, 4)
        if grounded is not None:
            reply["grounded"] = from_documents
            reply["best_relevance"] = round(grounded.best_relevance, 4)
            reply["quotes"] = [quote_to_meta(quote) for quote in grounded.quotes]
            reply["citations"] = _citations_json(attribution, sources)
        print(json.dumps(reply, ensure_ascii=False))
    else:
        print(flush=True)
        if args.logprobs:
            print(probabilities_table(result.probabilities))
        if args.show_prompt and result.prompt is not None:
            print()
            print("\n".join(summary_lines(result.prompt)))
            print("─" * 40)
            # Line by line: its line breaks are the prompt's own; anything else unsafe escaped.
            print("\n".join(terminal_text(line) for line in result.prompt.text.split("\n")))
            print("─" * 40)
        if result.finish_reason == "repetition":
            print(f"({REPETITION_NOTICE})")
        if sources:
            print("\nSources (relevance 0-1):")
            cited = [*attribution.written, *attribution.matched]
            order = listing_order([SourceRef.from_source(s) for s in sources], cited)
            for ref in order:
                score = describe(ref.relevance or 0.0)
                how = _cited_how(ref.number, attribution)
                print(f"[{ref.number}] {ref.file}, {ref.page_text} · {score}{how}")
    if not info.has_chat_template:
        print(
            f"folio: note: {info.name} has no chat template; it was prompted as a plain "
            "transcript, so answers may ramble.",
            file=sys.stderr,
        )
    return 0


def probabilities_table(steps: Sequence[TokenProbabilities]) -> str:
    """Each answer token with its probability and rank, and the alternatives the model ranked
    highest there; the sampler's kept words are marked *."""
    lines = ["", "Token probabilities (* kept by the sampler):"]
    for step in steps:
        alternatives = ", ".join(
            f"{terminal_text(repr(item.text))} {item.probability:.0%}{'*' if item.kept else ''}"
            for item in step.top
        )
        lines.append(
            f"  {terminal_text(repr(step.text)):<16} {step.probability:6.1%}  rank {step.rank:<3} "
            f"{alternatives}"
        )
    score = score_sequence(steps)
    lines.append(
        f"Total log-probability {score.total_logprob:.2f} over {score.tokens} tokens, "
        f"perplexity {score.perplexity:.2f}"
    )
    return "\n".join(lines)


def _quotes_text(grounded: GroundedQuestion) -> str:
    by_number = {source.number: source for source in grounded.sources}
    lines = ["From your documents:"]
    for quote in grounded.quotes:
        source = by_number.get(quote.source)
        where = f"{source.label}" if source is not None else ""
        lines.append(f"  “{quote.text}” [{quote.source}] {where}")
        if quote.table:
            lines.append(f"      ({quote.table})")
    return "\n".join(lines) + "\n"


def _cited_how(number: int, attribution: Attribution) -> str:
    if number in attribution.written:
        return " · cited by the model"
    if number in attribution.matched:
        return f" · matched by Folio ({attribution.reasons.get(number, '')})"
    return ""


def _ground(
    question: str, settings: Settings, engine: ChatEngine, info: ModelInfo, paths: AppPaths
) -> GroundedQuestion:
    """Search the library and number the passages that fit beside the question."""
    generation: GenerationSettings = settings.generation
    budget = source_budget(
        info.context_length, generation.max_tokens, engine.count_tokens(generation.system_prompt)
    )
    with open_library(paths) as library:
        grounded = ground_in_library(
            library,
            question,
            documents=None,
            system_prompt=generation.system_prompt,
            count_tokens=engine.count_tokens,
            token_budget=budget,
            sources_wanted=settings.documents.results_per_question,
            threshold=settings.documents.relevance_threshold,
        )
    if grounded.not_indexed:
        print(f"folio: note: {not_indexed_notice(grounded.not_indexed)}", file=sys.stderr)
    return grounded


def _citations_json(attribution: Attribution, sources: Sequence[Source]) -> list[dict[str, Any]]:
    cited = [*attribution.written, *attribution.matched]
    order = listing_order([SourceRef.from_source(source) for source in sources], cited)
    return [
        {
            "n": ref.number,
            "file": ref.path.name,
            "page_start": ref.page_start,
            "page_end": ref.page_end,
            "relevance": round(ref.relevance or 0.0, 4),
            "cited": ref.number in cited,
            "cited_by": (
                "model"
                if ref.number in attribution.written
                else "folio"
                if ref.number in attribution.matched
                else None
            ),
        }
        for ref in order
    ]


def _print_not_in_library(model: str, grounded: GroundedQuestion, as_json: bool) -> int:
    if as_json:
        print(
            json.dumps(
                {
                    "answer": NOT_IN_LIBRARY,
                    "model": model,
                    "grounded": False,
                    "best_relevance": round(grounded.best_relevance, 4),
                    "quotes": [],
                    "citations": [],
                }
            )
        )
    else:
        print(NOT_IN_LIBRARY)
        print("(Ask again with --docs auto or without --docs to have the model answer alone.)")
    return 0
