"""The command palette offers every bound action of the current screen and of the app.

Entries come from the bindings themselves (the screen's, those of its widgets that set
`PALETTE = True`, and the app's), so a new binding is in the palette with no extra code,
and a remapped key shows as remapped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    """One action as the palette lists it."""

    title: str
    key: str
    action: str
    node: App[object] | Widget


def _bindings_of(node: App[object] | Widget) -> Iterator[Binding]:
    for binding in Binding.make_bindings(getattr(type(node), "BINDINGS", [])):
        if binding.description and binding.id:
            yield binding


def palette_entries(provider: Provider) -> list[PaletteEntry]:
    """The entries for the screen the palette was opened from."""
    screen = provider.screen
    app = provider.app
    keymap: dict[str, str] = getattr(app, "_keymap", {}) or {}
    nodes: list[App[object] | Widget] = [screen]
    nodes += [w for w in screen.query("*") if getattr(type(w), "PALETTE", False)]
    nodes.append(app)
    entries: list[PaletteEntry] = []
    seen: set[str] = set()
    for node in nodes:
        for binding in _bindings_of(node):
            if binding.action in seen:
                continue
            seen.add(binding.action)
            remapped = keymap.get(binding.id or "")
            shown = binding.with_key(remapped) if remapped else binding
            key = app.get_key_display(shown)
            entries.append(PaletteEntry(binding.description, key, binding.action, node))
    return entries


class ActionCommands(Provider):
    """Every bound action, searchable by its description."""

    async def _run(self, entry: PaletteEntry) -> None:
        # Actions named "screen.x" or "app.x" resolve from the node that owns the binding.
        await entry.node.run_action(entry.action)

    def _hits(self) -> list[tuple[str, str, PaletteEntry]]:
        return [(entry.title, f"{entry.key}", entry) for entry in palette_entries(self)]

    async def discover(self) -> Hits:
        """All entries, before anything is typed."""
        for title, key, entry in self._hits():
            yield DiscoveryHit(title, partial(self._run, entry), help=f"key: {key}")

    async def search(self, query: str) -> Hits:
        """Entries whose title matches what is typed."""
        matcher = self.matcher(query)
        for title, key, entry in self._hits():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._run, entry),
                    text=title,
                    help=f"key: {key}",
                )
