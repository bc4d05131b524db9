"""The test guards themselves: a guard that cannot fail protects nothing."""

from __future__ import annotations

import socket

import pytest


def test_connecting_outside_this_machine_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="attempted"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_a_raw_connect_outside_this_machine_fails_the_test() -> None:
    with socket.socket() as raw, pytest.raises(AssertionError, match="network access attempted"):
        raw.connect(("192.0.2.1", 80))


def test_looking_up_a_remote_name_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="name lookup attempted"):
        socket.getaddrinfo("example.org", 443)


def test_loopback_stays_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()
