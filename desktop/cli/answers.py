"""``folio eval QA.jsonl --answers``: answer-level figures beside page recall.

Each question is asked with documents, as ``folio ask --docs all`` would (greedy decoding, the
settings' model and answer length); the report says how often the answer and the quoted
evidence contain the reference, and how often a question the library cannot answer is declined.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from dataclasses import replace
from typing import Any

from desktop.cli.errors import UsageError
from desktop.cli.options import chosen_model_path, settings_from
from desktop.core.chat.answer_eval import (
    AnswerCheck,
    AnswerFileError,
    evaluate_answers,
    read_answer_questions,
)
from desktop.core.chat.rag import source_budget
from desktop.core.documents.evaluation import evaluate_questions
from desktop.core.documents.library import Library
from desktop.core.errors import EngineError
from desktop.core.llm.engine import ChatEngine, ChatRequest
from desktop.core.paths import AppPaths


def evaluate_answers_command(library: Library, args: argparse.Namespace, paths: AppPaths) -> int:
    try:
        questions = read_answer_questions(args.qa_file)
    except AnswerFileError as error:
        raise UsageError(str(error)) from None
    settings = settings_from(args, paths.settings_file)
    if args.sources is not None:
        if args.sources < 1:
            raise UsageError("--sources must be at least 1")
        settings = settings.with_values({"results_per_question": args.sources})
    generation = replace(settings.generation, temperature=0.0, seed=0)
    settings = replace(settings, generation=generation)
    engine = ChatEngine()
    try:
        info = engine.load(chosen_model_path(settings), settings.model).result()

        def ask(prompt: str, system_prompt: str) -> tuple[str, int]:
            request = ChatRequest(question=prompt, system_prompt=system_prompt, params=generation)
            result = engine.generate(request, threading.Event()).result()
            return result.text, result.prompt_tokens

        def report_progress(check: AnswerCheck) -> None:
            if not args.json:
                mark = (
                    "declined"
                    if check.declined
                    else (
                        "answer ✓"
                        if check.answer_contains
                        else "quote ✓"
                        if check.quote_contains
                        else "—"
                    )
                )
                print(f"  {mark:<9} {check.question[:80]}", file=sys.stderr, flush=True)

        budget = source_budget(
            info.context_length,
            generation.max_tokens,
            engine.count_tokens(generation.system_prompt),
        )
        answers = evaluate_answers(
            library,
            ask,
            engine.count_tokens,
            budget,
            questions,
            settings,
            on_checked=report_progress,
        )
    except EngineError as error:
        raise UsageError(str(error)) from None
    finally:
        engine.close()
    located = [q for q in questions if q.get("answerable", True) and "file" in q and "pages" in q]
    report: dict[str, Any] = {
        "answers": answers
        | {"model": info.name, "sources_per_question": settings.documents.results_per_question},
        "retrieval": evaluate_questions(library, located) if located else None,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    figures = report["answers"]
    print(
        f"answers   n={figures['n']:<3} answer contains reference "
        f"{figures['answer_contains_reference']:.3f}"
        f" · quoted evidence {figures['quote_contains_reference']:.3f}"
        f" · either {figures['either_contains_reference']:.3f}"
        f" · declined {figures['declined_answerable']:.3f}"
    )
    if figures["unanswerable"]:
        print(
            f"unanswerable n={figures['unanswerable']:<3} declined "
            f"{figures['refusal_rate_unanswerable']:.3f}"
        )
    retrieval = report["retrieval"]
    if retrieval is not None:
        overall = retrieval["overall"]
        print(
            f"retrieval n={overall['n']:<3} "
            + " ".join(f"R@{k}={overall[f'recall@{k}']:.3f}" for k in (1, 3, 5, 10))
            + f" MRR@10={overall['mrr@10']:.3f}"
        )
    return 0
