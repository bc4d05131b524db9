"""How a command says that the input was wrong, and the exit codes every command shares."""

from __future__ import annotations

import argparse
from typing import NoReturn

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
# A benchmark whose reference cannot run here: no ratio against nothing.
EXIT_REFERENCE_UNAVAILABLE = 4
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


class CommandError(Exception):
    """The command could not do its work for another reason than the input: exit code 1."""


class CliParser(argparse.ArgumentParser):
    """argparse, with its errors reported the CLI's way (one line, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see “{self.prog} --help”)")
