"""The private Textual method `ui/widgets/steady.py` overrides is still the one it was tested on.

The steady mixins replace `_size_updated` (Widget's and ScrollView's) to skip layout passes
that change nothing. A new Textual may rename it, change its arguments or what it does; then
the mixins silently stop working (streaming stalls come back) or break layout. This test
fails first, loudly: re-read the new method, re-check the mixins, re-run
`benchmarks/bench_streaming.py`, then update the digests below and the pin in pyproject.toml.
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap

import pytest
from textual.scroll_view import ScrollView
from textual.widget import Widget

# sha256 of each method's source, first 16 hex digits, as of Textual 8.2.8.
TESTED = {
    "Widget._size_updated": "9353851bdac2955b",
    "ScrollView._size_updated": "e8627feeeef443a8",
}
PARAMETERS = ["self", "size", "virtual_size", "container_size", "layout"]


def _digest(method: object) -> str:
    source = textwrap.dedent(inspect.getsource(method))  # type: ignore[arg-type]
    return hashlib.sha256(source.encode()).hexdigest()[:16]


@pytest.mark.parametrize("owner", [Widget, ScrollView], ids=lambda cls: cls.__name__)
def test_the_overridden_private_method_is_unchanged(owner: type[Widget]) -> None:
    name = f"{owner.__name__}._size_updated"
    method = owner.__dict__.get("_size_updated")
    assert method is not None, f"Textual no longer defines {name}: ui/widgets/steady.py is dead"
    assert list(inspect.signature(method).parameters) == PARAMETERS, (
        f"{name} takes different arguments now: update ui/widgets/steady.py"
    )
    assert _digest(method) == TESTED[name], (
        f"{name} changed in this Textual: re-check ui/widgets/steady.py against it, "
        "re-run benchmarks/bench_streaming.py, then update the digest here and the pin"
    )
