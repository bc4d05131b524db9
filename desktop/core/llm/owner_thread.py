"""The one rule both llama.cpp users share: a ``Llama`` is touched by exactly one thread.

The chat engine and the embedder each own a one-worker executor (the shape Anki uses for its
collection). Their public methods may be called from any thread and only submit work to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class OwnerThread(ABC):
    def __init__(self, thread_name: str, closed_error: Exception) -> None:
        """``closed_error`` is raised for work submitted after ``close()``."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._closed_error = closed_error
        self._closed = False

    def close(self) -> None:
        """Free the model and stop the owner thread; running work is awaited, not killed."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._unload)
        self._executor.shutdown(wait=True)

    def _submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._closed:
            raise self._closed_error
        return self._executor.submit(function, *args)

    @abstractmethod
    def _unload(self) -> None:
        """Free the model; runs on the owner thread."""
