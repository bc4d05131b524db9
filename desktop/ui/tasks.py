"""The one way the window runs work off the GUI thread (the shape of Anki's ``QueryOp``).

A task is a callable run on a *lane*: a queue named after the resource it works on (the library,
the models folder, a download), whose tasks run one after another on a thread of their own, so
work on one resource never races. The thread exists only while its lane has work. The task's
result or error, and any progress it reports, come back to callables on the GUI thread.

Worker threads never hold what belongs to the window: the callables to call back are kept here,
on the GUI thread, under the task's number, and a worker only sends that number with what
happened. The work itself goes back with its outcome, so that the last reference to a window
object it used is never dropped on a worker thread (Qt objects must die on their own thread).

Cancelling is cooperative: a task is handed a ``TaskContext`` whose ``cancelled`` event it
checks between pages, chunks or batches. Work already running elsewhere, on an engine's owner
thread, is followed the same way (``follow``), and a ``Channel`` carries what such work streams.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")
Done = Callable[[T], None]
Failed = Callable[[BaseException], None]
Progress = Callable[[Any], None]


class _Kind(Enum):
    PROGRESS = "progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class _Callbacks:
    done: Done[Any] | None
    failed: Failed | None
    progress: Progress | None


class _Relay(QObject):
    """Lives in the GUI thread; workers emit, Qt queues, the owner's slot runs there.

    What is sent travels in a list (the parcel) that the GUI thread empties: a worker keeps no
    reference of its own to it once sent.
    """

    delivered = Signal(int, object, object)  # task, kind, parcel: [value, and what to release]

    def send(self, task: int, kind: _Kind, parcel: list[Any]) -> None:
        try:
            self.delivered.emit(task, kind, parcel)
        except RuntimeError:
            # The window that asked for the work has been destroyed; nobody awaits the answer.
            log.debug("a task finished after the window that started it was closed")


class TaskContext:
    """What a task sees of the window: whether it should stop, and how to say how far it got."""

    def __init__(self, relay: _Relay, task: int) -> None:
        self.cancelled = threading.Event()
        self._relay = relay
        self._task = task

    def is_cancelled(self) -> bool:
        return self.cancelled.is_set()

    def report(self, progress: object) -> None:
        """Hand ``progress`` to the task's progress callable on the GUI thread."""
        if not self.cancelled.is_set():
            self._relay.send(self._task, _Kind.PROGRESS, [progress])


@dataclass(eq=False)
class Task(Generic[T]):
    """A task handed to a lane, and the way to ask it to stop. ``future`` is done once the
    task has ended and its outcome is on its way to the GUI thread (which alone gets it)."""

    future: Future[None]
    context: TaskContext

    def cancel(self) -> None:
        """Ask the task to stop; one that has not started yet never runs."""
        self.context.cancelled.set()
        self.future.cancel()

    @property
    def running(self) -> bool:
        return not self.future.done()


class Channel:
    """Carries what work on another thread streams (an answer's text) to a GUI callable."""

    def __init__(self, relay: _Relay, task: int) -> None:
        self._relay = relay
        self._task = task

    def __call__(self, value: object) -> None:
        self._relay.send(self._task, _Kind.PROGRESS, [value])


@dataclass
class _Lane:
    """Tasks that run one after another on a thread that lives only while there are some."""

    name: str
    waiting: deque[Callable[[], None]] = field(default_factory=deque)
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, job: Callable[[], None]) -> None:
        with self.lock:
            self.waiting.append(job)
            if self.thread is None:
                self.thread = threading.Thread(target=self._drain, name=f"folio-{self.name}")
                self.thread.start()

    def _drain(self) -> None:
        try:
            while True:
                with self.lock:
                    if not self.waiting:
                        return
                    job = self.waiting.popleft()
                job()
                del job
        finally:
            # Also when a job escapes with an error: the next task starts a thread again.
            with self.lock:
                self.thread = None
                if self.waiting:
                    self.thread = threading.Thread(target=self._drain, name=f"folio-{self.name}")
                    self.thread.start()

    def join(self) -> None:
        with self.lock:
            thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()


class Tasks(QObject):
    """Runs callables off the GUI thread and brings their outcome back to it."""

    def __init__(self, parent: QObject) -> None:
        # A parent is required: this object must be deleted with, and on the thread of, the
        # window part it serves, never by a worker letting go of it.
        super().__init__(parent)
        self._relay = _Relay(self)
        self._relay.delivered.connect(self._on_delivered)
        self._numbers = itertools.count(1)
        self._callbacks: dict[int, _Callbacks] = {}
        self._tasks: dict[int, Task[Any]] = {}
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._closed = False

    def run(
        self,
        lane: str,
        work: Callable[[TaskContext], T],
        *,
        done: Done[T] | None = None,
        failed: Failed | None = None,
        progress: Progress | None = None,
    ) -> Task[T]:
        """Run ``work`` on ``lane``, after the tasks already queued there."""
        number = next(self._numbers)
        context = TaskContext(self._relay, number)
        future: Future[None] = Future()
        task: Task[T] = Task(future, context)
        if self._closed:
            future.cancel()
            return task
        self._callbacks[number] = _Callbacks(done, failed, progress)
        with self._lock:
            self._tasks[number] = task
        self._lane(lane).put(_Job(self._relay, number, work, context, future))
        return task

    def follow(
        self,
        future: Future[T],
        *,
        done: Done[T] | None = None,
        failed: Failed | None = None,
        progress: Progress | None = None,
    ) -> Channel:
        """Bring the outcome of work already running elsewhere (an engine's owner thread)
        back to the GUI thread; the channel returned carries what it streams to ``progress``."""
        number = next(self._numbers)
        self._callbacks[number] = _Callbacks(done, failed, progress)
        future.add_done_callback(functools.partial(_report_outcome, self._relay, number))
        return Channel(self._relay, number)

    def channel(self, progress: Progress) -> tuple[int, Channel]:
        """A channel to ``progress`` before the work it serves has started; ``follow_number``
        then ties that work's outcome to it."""
        number = next(self._numbers)
        self._callbacks[number] = _Callbacks(None, None, progress)
        return number, Channel(self._relay, number)

    def follow_number(
        self,
        number: int,
        future: Future[T],
        *,
        done: Done[T] | None = None,
        failed: Failed | None = None,
    ) -> None:
        callbacks = self._callbacks.get(number)
        if callbacks is None:
            return
        callbacks.done, callbacks.failed = done, failed
        future.add_done_callback(functools.partial(_report_outcome, self._relay, number))

    def is_busy(self, lane: str) -> bool:
        with self._lock:
            running = self._lanes.get(lane)
        return running is not None and running.thread is not None

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work, ask every task to stop, and (with ``wait``) wait for the lanes to
        empty. What tasks still send afterwards is dropped."""
        self._closed = True
        with self._lock:
            tasks = list(self._tasks.values())
            lanes = list(self._lanes.values())
        for task in tasks:
            task.cancel()
        if wait:
            for lane in lanes:
                lane.join()

    def _lane(self, name: str) -> _Lane:
        with self._lock:
            lane = self._lanes.get(name)
            if lane is None:
                lane = self._lanes[name] = _Lane(name)
            return lane

    @Slot(int, object, object)
    def _on_delivered(self, number: int, kind: _Kind, parcel: list[Any]) -> None:
        value = parcel[0] if parcel else None
        # The value and the work the task ran, let go of here, on the GUI thread.
        parcel.clear()
        if self._closed:
            if kind is not _Kind.PROGRESS:
                self._callbacks.pop(number, None)
            return
        if kind is _Kind.PROGRESS:
            callbacks = self._callbacks.get(number)
            if callbacks is not None and callbacks.progress is not None:
                callbacks.progress(value)
            return
        callbacks = self._callbacks.pop(number, None)
        with self._lock:
            self._tasks.pop(number, None)
        if callbacks is None or kind is _Kind.CANCELLED:
            return
        if kind is _Kind.DONE:
            if callbacks.done is not None:
                callbacks.done(value)
        elif callbacks.failed is not None:
            assert isinstance(value, BaseException)
            callbacks.failed(value)
        else:
            log.error("a background task failed", exc_info=value)


class _Job:
    """A task as its lane runs it: the work, then its outcome sent to the GUI thread.

    The outcome goes to the GUI thread before the future is marked done, so that a task waiting
    on this one (``Task.future``) is answered after it; the future itself carries nothing.
    """

    def __init__(
        self,
        relay: _Relay,
        number: int,
        work: Callable[[TaskContext], Any],
        context: TaskContext,
        future: Future[None],
    ) -> None:
        self._relay = relay
        self._number = number
        self._parcel: list[Any] = [None, work]
        self._context = context
        self._future = future

    def __call__(self) -> None:
        parcel, self._parcel = self._parcel, []
        future = self._future
        if not future.set_running_or_notify_cancel():
            self._relay.send(self._number, _Kind.CANCELLED, parcel)
            return
        kind = _Kind.DONE
        try:
            parcel[0] = parcel[1](self._context)
        except BaseException as error:
            parcel[0] = error
            kind = _Kind.FAILED
            del error
        self._relay.send(self._number, kind, parcel)
        del parcel
        future.set_result(None)


def _report_outcome(relay: _Relay, number: int, finished: Future[Any]) -> None:
    if finished.cancelled():
        relay.send(number, _Kind.CANCELLED, [])
        return
    error = finished.exception()
    if error is None:
        relay.send(number, _Kind.DONE, [finished.result()])
    else:
        relay.send(number, _Kind.FAILED, [error])
