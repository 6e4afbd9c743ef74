"""Checking `keys.toml`'s remaps before they apply: unknown binding ids, and keys that the
chat input needs for typing (`app.quit = "a"` would quit on every "a")."""

from __future__ import annotations

import importlib
import pkgutil

from textual.binding import Binding
from textual.keys import key_to_character

# The chat input lives on the main screen: app-wide and main-screen bindings must not take
# a key that types a character there. Other screens (editor, history) use letters freely.
_BESIDE_THE_INPUT = ("app.", "main.")


def takes_a_printable_key(keys: str) -> str | None:
    """The first key in a binding's key list that types a character, else None."""
    for key in (k.strip() for k in keys.split(",")):
        character = key_to_character(key)
        if character is not None and character.isprintable():
            return key
    return None


def check_keymap(
    keymap: dict[str, str], known: set[str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Split remaps into those to apply and one line per refused one.

    Refused: a binding id not in `known` (when given), and an app or main-screen binding
    mapped to a printable key.
    """
    valid: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in sorted(keymap.items()):
        if known is not None and binding_id not in known:
            problems.append(f"unknown binding id {binding_id!r} (ignored)")
            continue
        printable = takes_a_printable_key(keys)
        if printable is not None and binding_id.startswith(_BESIDE_THE_INPUT):
            problems.append(
                f"{binding_id} = {keys!r} would take {printable!r} from the chat input (ignored)"
            )
            continue
        valid[binding_id] = keys
    return valid, problems


def known_binding_ids() -> set[str]:
    """Every binding id of the app's screens and widgets (imports them: not before the
    first frame)."""
    import promptcache_tui.ui as ui

    ids: set[str] = set()
    for package in ("screens", "widgets"):
        module = importlib.import_module(f"{ui.__name__}.{package}")
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{module.__name__}.{info.name}")
    from promptcache_tui.ui.app import PromptCacheApp

    seen: set[type] = set()
    pending: list[type] = [PromptCacheApp, *_dom_classes()]
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for binding in getattr(cls, "BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def _dom_classes() -> list[type]:
    from textual.dom import DOMNode

    out: list[type] = []
    pending = list(DOMNode.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("promptcache_tui."):
            out.append(cls)
    return out
