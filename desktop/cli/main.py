"""The ``folio`` command line: one parser, one module per command.

Bad input ends with exit code 2 and one line on stderr, never a traceback; Ctrl+C ends with
130; a closed output pipe ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from desktop import __version__
from desktop.cli import ask, bench, config, documents, models
from desktop.cli.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    CliParser,
    CommandError,
    UsageError,
)
from desktop.core.logs import setup_logging
from desktop.core.paths import AppPaths, app_paths

Command = Callable[[argparse.Namespace, AppPaths], int]

# Each command by the name it is typed with.
COMMANDS: dict[str, Command] = {
    "ask": ask.run,
    "index": documents.run,
    "library": documents.run,
    "search": documents.run,
    "eval": documents.run,
    "config": config.run,
    "models": models.run,
    "bench": bench.run,
}


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(
        prog="folio",
        description="Folio: chat with local language models, offline. "
        "Run without arguments to open the window.",
    )
    parser.add_argument("--version", action="version", version=f"folio {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    for module in (ask, documents, config, models, bench):
        module.add_parser(commands)
    return parser


def run_cli(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(list(argv))
        if args.command is None:
            build_parser().print_help()
            return 0
        paths = app_paths().ensure()
        setup_logging(paths.log_file)
        return COMMANDS[args.command](args, paths)
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
