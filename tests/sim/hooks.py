"""A small client for the simulator's `/_sim/*` test hooks."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

API_KEY = "test-key"  # any key works; the simulator only checks that one is sent


class SimHooks:
    """The `/_sim/*` test hooks, over plain HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one hook request and return its JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def advance(self, seconds: float) -> Any:
        """Jump the simulated clock forward."""
        return self.call("POST", "/_sim/advance", {"seconds": seconds})

    def fault(self, **body: Any) -> Any:
        """Queue a fault for the next requests."""
        return self.call("POST", "/_sim/faults", body)

    def state(self) -> Any:
        """Clock, live entries and pending faults."""
        return self.call("GET", "/_sim/state")
