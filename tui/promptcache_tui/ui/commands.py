"""Every bound action of a screen, for the command palette and the help screen.

Entries come from the bindings themselves (the screen's, its widgets', and the app's), so a
new binding is in the palette and in help with no extra code, and a remapped key shows as
remapped. Each says what it does: the binding's tooltip, else its action's docstring.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class BindingEntry:
    """One action as the palette and help list it."""

    title: str  # what the footer calls it
    key: str  # the key as displayed (remapped keys included)
    action: str
    node: App[object] | Widget
    help: str  # what it does, in a sentence
    id: str  # the binding id (for keys.toml)

    @property
    def where(self) -> str:
        """The screen, widget or app the key works in."""
        return "app" if isinstance(self.node, App) else type(self.node).__name__


class HasScreen(Protocol):
    """Where the entries come from: a screen in an app (a palette provider is one)."""

    @property
    def screen(self) -> Screen[object]: ...

    @property
    def app(self) -> App[object]: ...


def _bindings_of(node: App[object] | Widget) -> Iterator[Binding]:
    for binding in Binding.make_bindings(getattr(type(node), "BINDINGS", [])):
        if binding.description and binding.id:
            yield binding


def _what_it_does(binding: Binding, node: App[object] | Widget) -> str:
    if binding.tooltip:
        return binding.tooltip
    name = binding.action.split("(", 1)[0]
    target: object = node
    if "." in name:
        namespace, name = name.split(".", 1)
        target = node.app if namespace == "app" else node.screen if namespace == "screen" else node
    doc = inspect.getdoc(getattr(target, f"action_{name}", None)) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ") or binding.description


def binding_entries(screen: Screen[object], app: App[object]) -> list[BindingEntry]:
    """The entries for one screen: its own bindings, then its widgets', then the app's."""
    keymap: dict[str, str] = getattr(app, "_keymap", {}) or {}
    nodes: list[App[object] | Widget] = [screen, *screen.query("*"), app]
    entries: list[BindingEntry] = []
    seen: set[str] = set()
    for node in nodes:
        for binding in _bindings_of(node):
            if binding.id in seen or binding.action in seen:
                continue
            seen.update((binding.id or "", binding.action))
            remapped = keymap.get(binding.id or "")
            shown = binding.with_key(remapped) if remapped else binding
            entries.append(
                BindingEntry(
                    binding.description,
                    app.get_key_display(shown),
                    binding.action,
                    node,
                    _what_it_does(binding, node),
                    binding.id or "",
                )
            )
    return entries


def palette_entries(source: HasScreen) -> list[BindingEntry]:
    """The entries for the screen the palette was opened from."""
    return binding_entries(source.screen, source.app)


class ActionCommands(Provider):
    """Every bound action, searchable by name, each saying what it does and its key."""

    async def _run(self, entry: BindingEntry) -> None:
        # Actions named "screen.x" or "app.x" resolve from the node that owns the binding.
        await entry.node.run_action(entry.action)

    def _hits(self) -> list[tuple[str, str, BindingEntry]]:
        return [
            (entry.title, f"{entry.help} · {entry.key}", entry) for entry in palette_entries(self)
        ]

    async def discover(self) -> Hits:
        """All entries, before anything is typed."""
        for title, help_text, entry in self._hits():
            yield DiscoveryHit(title, partial(self._run, entry), help=help_text)

    async def search(self, query: str) -> Hits:
        """Entries whose name or description matches what is typed."""
        matcher = self.matcher(query)
        for title, help_text, entry in self._hits():
            score = max(matcher.match(title), matcher.match(entry.help) * 0.5)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._run, entry),
                    text=title,
                    help=help_text,
                )
