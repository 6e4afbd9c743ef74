"""Everything done to observed traffic: list the groups, load one, rename it, save a call's
prefix as a context.

Like `context_actions.py`: each asks first where it must (a name, a breakpoint), runs in a
worker through the store, and ends as a message posted to the screen that asked
(`GroupsLoaded`, `GroupLoaded`, `GroupRenamed`, or `ContextSaved` for the new context,
which the screen then selects). Errors are notices; nothing here draws.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from promptcache_tui.ui.messages import (
    ContextSaved,
    GroupLoaded,
    GroupRenamed,
    GroupsLoaded,
    SaveReady,
)
from promptcache_tui.ui.services import services
from promptcache_tui.ui.store_work import run_store_op

if TYPE_CHECKING:
    from textual.screen import Screen

    from promptcache_tui.store import Store
    from promptcache_tui.store.observed import ObservedGroup

GROUP_LIMIT = 40  # observed groups in the sidebar: the most recently active
CALL_ROWS = 50  # a group's calls loaded into the usage panel


def _count(items: Collection[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


class ObservedActions:
    """Observed-traffic actions for one screen (`host`), which receives their messages."""

    def __init__(self, host: Screen[Any]) -> None:
        self.host = host

    def load_groups(self, keys: Collection[str] | None = None) -> None:
        """The sidebar's groups (all of them, or just these, e.g. one renamed)."""
        app = services(self.host)
        wanted = sorted(keys) if keys is not None else None

        async def listed(store: Store) -> list[ObservedGroup]:
            now = await app.current_time()
            limit = len(wanted) if wanted else GROUP_LIMIT
            return await store.observed.groups(
                now, keys=wanted, limit=max(limit, 1), resolve=app.cache_id
            )

        run_store_op(
            self.host,
            listed,
            failure="Cannot list the observed traffic",
            done=lambda groups: GroupsLoaded(groups, complete=wanted is None),
            group="observed-groups",
            exclusive=False,
        )

    def select(self, key: str) -> None:
        """Load a group: its caches, its recent calls and why they missed, its totals."""
        app = services(self.host)

        async def load(store: Store) -> GroupLoaded | None:
            from promptcache_tui.store import CallFilter

            now = await app.current_time()
            found = await store.observed.groups(now, keys=[key], limit=1, resolve=app.cache_id)
            if not found:
                self.host.notify("That group is no longer in the log.", severity="warning")
                return None
            records = await store.calls.history(CallFilter(session=key), limit=CALL_ROWS)
            missed = [r.id for r in records if r.cache_miss_reason and r.id is not None]
            misses = await store.observed.misses(missed) if missed else {}
            totals = await store.calls.totals(CallFilter(session=key))
            return GroupLoaded(found[0], records, misses, totals)

        run_store_op(
            self.host, load, failure="Cannot load the group", done=lambda m: m, group="select"
        )

    def rename(self, group: ObservedGroup) -> None:
        """Ask for a new name (any text on one line), then store it."""
        from promptcache_tui.core.sanitize import one_line
        from promptcache_tui.ui.screens.name_dialog import NameDialog

        def check(name: str) -> str | None:
            return None if name.strip() else "a group name cannot be empty"

        def named(name: str | None) -> None:
            if name and name != group.name:
                run_store_op(
                    self.host,
                    lambda store: store.observed.rename_group(group.key, name),
                    failure="Cannot rename the group",
                    done=lambda key: GroupRenamed(key, f"Renamed the group to {name}."),
                    group="observed-op",
                )

        self.host.app.push_screen(
            NameDialog(
                f"Rename {one_line(group.name)}",
                group.name,
                check=check,
                placeholder="any name, on one line",
            ),
            named,
        )

    def prepare_save(self, group: ObservedGroup, call_id: int | None) -> None:
        """Find the call to save (the highlighted one if it kept its prompt, else the
        group's latest that did) and its breakpoints' labels, then ask (`SaveReady`)."""
        from promptcache_tui.core.context import name_from

        async def prepare(store: Store) -> SaveReady | None:
            # With content: a tool's label is its name. A call kept as hashes only
            # (--no-content) cannot be copied: then the group's latest that can.
            nodes = await store.observed.prompt(call_id) if call_id else None
            whole = nodes is not None and all(n.content is not None for n in nodes)
            chosen = call_id if whole else None
            if chosen is None:
                chosen = await store.observed.latest_with_prompt(group.key)
                nodes = await store.observed.prompt(chosen) if chosen else None
            record = await store.calls.get(chosen) if chosen is not None else None
            if record is None or nodes is None:
                self.host.notify(
                    "No recent call of this group kept its prompt's content (recorded "
                    "with --no-content?): nothing to save.",
                    severity="warning",
                )
                return None
            labels = {n.prefix_hash: n.label for n in nodes}
            return SaveReady(
                group,
                record,
                [labels.get(b.prefix_hash, "?") for b in record.breakpoints],
                name_from(group.name, f"call-{record.id}"),
            )

        run_store_op(
            self.host,
            prepare,
            failure="Cannot read the call",
            done=lambda m: m,
            group="observed-op",
        )

    def save(self, ready: SaveReady, taken: Collection[str]) -> None:
        """Ask for a name and a breakpoint, then copy the call's prefix into a context."""
        from promptcache_tui.core.context import unused_name
        from promptcache_tui.ui.screens.save_context import SaveContextDialog

        record = ready.record
        assert record.id is not None
        call_id = record.id

        def chosen(answer: tuple[str, int | None] | None) -> None:
            if answer is None:
                return
            name, breakpoint = answer
            run_store_op(
                self.host,
                lambda store: store.observed.save_as_context(call_id, name, breakpoint=breakpoint),
                failure="Cannot save as a context",
                done=lambda ctx: ContextSaved(
                    ctx.id,
                    f"Saved call {call_id}'s prefix as {ctx.name}: {_count(ctx.blocks, 'block')}"
                    f", {_count(ctx.breakpoints, 'breakpoint')}. Chat with it, edit it (f2), "
                    "plan its TTL (f9).",
                    chat=True,
                ),
                group="observed-op",
            )

        self.host.app.push_screen(
            SaveContextDialog(
                record,
                ready.labels,
                unused_name(ready.suggestion, taken),
                taken=set(taken),
            ),
            chosen,
        )
