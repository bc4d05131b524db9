"""The ``folio`` command line: one parser, one module per command.

Bad input ends with exit code 2 and one line on stderr, never a traceback; Ctrl+C ends with
130; a closed output pipe ends quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import signal
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
from desktop.core.paths import AppPaths, app_paths

# The module that runs each command, by the name it is typed with. Imported when the command
# runs, not before: the window's engine, numpy and the HTTP stack cost a third of a second to
# import, which ``folio --help`` or ``folio config show`` should not wait for.
COMMANDS: dict[str, str] = {
    "ask": "desktop.cli.ask",
    "batch": "desktop.cli.batch",
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
    parsers.add_batch(commands)
    parsers.add_documents(commands)
    parsers.add_config(commands)
    parsers.add_models(commands)
    parsers.add_bench(commands)
    parsers.add_self_test(commands)
    return parser


def _stop_like_ctrl_c(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_cli(argv: Sequence[str]) -> int:
    # A closed terminal (SIGHUP) or a plain kill (SIGTERM) stops a command as Ctrl+C does:
    # the index run queues what it had started, and its reader process ends with it.
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop_like_ctrl_c)
    try:
        args = build_parser().parse_args(list(argv))
        if args.command is None:
            build_parser().print_help()
            return 0
        paths = app_paths()
        # A read-only data folder: reading commands still work, writing ones say why.
        with contextlib.suppress(OSError):
            paths.ensure()
        setup_logging(paths.log_file, fall_back_to_stderr=False)
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
    except Exception as exc:  # never a traceback: one line, and the details in the log
        logging.getLogger("desktop.cli").exception("folio %s failed", " ".join(argv))
        print(f"folio: error: {failure_message(exc, app_paths())}", file=sys.stderr)
        return EXIT_FAILED


def failure_message(error: BaseException, paths: AppPaths) -> str:
    """What went wrong, for a failure no command foresaw: a full disk or a folder that cannot
    be written says so and what to do; anything else is named, with where its details are."""
    text = str(error)
    errno_value = getattr(error, "errno", None)
    if errno_value == errno.ENOSPC or "disk is full" in text or "No space left" in text:
        return (
            f"the disk holding {paths.data} is full; free some space and run the command "
            "again (nothing already saved was lost)"
        )
    if errno_value in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly database" in text:
        return (
            f"Folio cannot write to {paths.data}: {getattr(error, 'strerror', None) or text}; "
            "check that the folder is writable"
        )
    return (
        f"something unexpected went wrong ({type(error).__name__}: {text}); the details are "
        f"in {paths.log_file}"
    )
