"""The errors a person can act on, shared by every area of the core.

``str(error)`` is the message to show: what happened and what to do. The window, the CLI and the
tests tell these apart from bugs, which are logged with their traceback instead.
"""

from __future__ import annotations


class EngineError(Exception):
    """Something the user can act on; ``str(error)`` is the message to show."""


class ModelLoadError(EngineError):
    """A model file cannot be used or loaded; the message names the file and says why."""


class NoModelError(EngineError):
    def __init__(self) -> None:
        super().__init__("No model is loaded yet. Open a GGUF model file first.")
