"""The ``folio`` command line: one parser, one module per command.

Bad input ends with exit code 2 and one line on stderr, never a traceback; Ctrl+C ends with
130; a closed output pipe ends quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from desktop import __version__
from desktop.cli import parsers
from desktop.cli.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    CliParser,
    CommandError,
    UsageError,
)
from desktop.core.logs import setup_logging
from desktop.core.paths import app_paths

# The module that runs each command, by the name it is typed with. Imported when the command
# runs, not before: the window's engine, numpy and the HTTP stack cost a third of a second to
# import, which ``folio --help`` or ``folio config show`` should not wait for.
COMMANDS: dict[str, str] = {
    "ask": "desktop.cli.ask",
    "index": "desktop.cli.documents",
    "library": "desktop.cli.documents",
    "search": "desktop.cli.documents",
    "eval": "desktop.cli.documents",
    "config": "desktop.cli.config",
    "models": "desktop.cli.models",
    "bench": "desktop.cli.bench",
    "self-test": "desktop.cli.selftest",
}


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(
        prog="folio",
        description="Folio: chat with local language models, offline. "
        "Run without arguments to open the window.",
    )
    parser.add_argument("--version", action="version", version=f"folio {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    parsers.add_ask(commands)
    parsers.add_documents(commands)
    parsers.add_config(commands)
    parsers.add_models(commands)
    parsers.add_bench(commands)
    parsers.add_self_test(commands)
    return parser


def run_cli(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(list(argv))
        if args.command is None:
            build_parser().print_help()
            return 0
        paths = app_paths().ensure()
        setup_logging(paths.log_file)
        command = importlib.import_module(COMMANDS[args.command])
        code: int = command.run(args, paths)
        return code
    except UsageError as exc:
        print(f"folio: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CommandError as exc:
        print(f"folio: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (“folio config show | head”): the output was not wanted, which
        # is no error; stdout is pointed at /dev/null so the exit flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
