"""Following the call log while the dashboard is open: calls logged by any process.

The proxy, `ask` in a shell, `import claude-code --follow` and the status line's logger
write to the same database. Once a second (the screen's tick) this part asks the store's
watch what changed (`store/watch.py`: one `PRAGMA data_version`, which reads no table, when
nothing did), in a worker. When something did, it reads the new and settled calls, what
they wrote to and read from the cache (for the ledger), why they missed, the observed
groups they belong to and the shown group's totals, and posts it all as one
`CallsFollowed`. A poll still running when the next tick comes is not doubled: the tick is
skipped. It draws nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.widget import Widget

from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.messages import CallsFollowed
from promptcache_tui.ui.services import services

if TYPE_CHECKING:
    from promptcache_tui.store.watch import CallWatch

OBSERVED_KINDS = ("proxy", "claude-code")


class Follow(Widget):
    """Polls the store's watch, and reports what other processes logged."""

    DEFAULT_CSS = """
    Follow { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.log_watch: CallWatch | None = None
        self.polls = 0  # polls done (for tests and benchmarks)
        self._polling = False
        self._problem: str | None = None  # the last failure shown (said once, not each second)

    def start(self, watch: CallWatch) -> None:
        """Follow from this watch on (made before the dashboard first read the log)."""
        if self.log_watch is None:
            self.log_watch = watch

    def tick(self, shown_group: str | None) -> None:
        """Once a second: poll, unless the last poll is still running."""
        if self.log_watch is None or self._polling or not services(self).ready:
            return
        self._polling = True
        self.poll(self.log_watch, shown_group)

    @work(group="follow", exit_on_error=False)
    async def poll(self, watch: CallWatch, shown_group: str | None) -> None:
        """What changed since the last poll, with what the screen needs to show it."""
        app = services(self)
        try:
            store = app.require_store()
            changes = await watch.poll()
            self.polls += 1
            if not changes:
                return
            records = [*changes.added, *changes.settled]
            missed = [r.id for r in records if r.cache_miss_reason and r.id is not None]
            misses = await store.observed.misses(missed) if missed else {}
            done = [r.id for r in records if r.status == "ok" and r.id is not None]
            events = await store.calls.events_of_calls(done) if done else []
            keys = sorted({r.session for r in records if r.session and r.kind in OBSERVED_KINDS})
            groups = []
            totals = None
            if keys:
                now = await app.current_time()
                groups = await store.observed.groups(
                    now, keys=keys, limit=len(keys), resolve=app.cache_id
                )
                if shown_group in keys:
                    from promptcache_tui.store import CallFilter

                    totals = await store.calls.totals(CallFilter(session=shown_group))
            self._problem = None
            self.post_message(
                CallsFollowed(
                    changes.added, changes.settled, events, misses, groups, shown_group, totals
                )
            )
        except Exception as exc:
            problem = one_line(exc)
            if problem != self._problem:  # once, not every second
                self._problem = problem
                self.notify(problem, title="Cannot follow the call log", severity="warning")
        finally:
            self._polling = False
