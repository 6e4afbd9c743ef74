"""The SDK is primed at start-up with a canned stream: offline, no key, no network."""

from __future__ import annotations

import socket

import pytest

from promptcache_tui.calls.prime import prime_sdk


def test_priming_parses_a_canned_stream_without_any_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("priming opened a connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert prime_sdk() == "ok"
