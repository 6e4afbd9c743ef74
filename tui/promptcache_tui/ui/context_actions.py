"""Everything done to a context as a whole: create, edit, rename, duplicate, delete, demo.

Each asks first (the editor, a name, a yes or no), then runs in a worker through the store,
and ends as `ContextSaved` posted to the screen that asked, which reloads the list and
selects the result. Errors are notices; nothing here draws.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any, TypeVar

from promptcache_tui.ui.messages import ContextSaved
from promptcache_tui.ui.services import services
from promptcache_tui.ui.store_work import run_store_op

if TYPE_CHECKING:
    from textual.message import Message
    from textual.screen import Screen

    from promptcache_tui.core.context import Context
    from promptcache_tui.store import Store

GROUP = "context-op"
T = TypeVar("T")


class ContextActions:
    """Context actions for one screen (`host`), which receives their `ContextSaved`."""

    def __init__(self, host: Screen[Any]) -> None:
        self.host = host

    def new(self, taken: Collection[str]) -> None:
        """Open the editor for a new context: name, files, system text, model."""
        self._editor(None, taken)

    def edit(self, ctx: Context, taken: Collection[str]) -> None:
        """Open the editor on a context's blocks and breakpoints."""
        self._editor(ctx, set(taken) - {ctx.name})

    def _editor(self, ctx: Context | None, taken: Collection[str]) -> None:
        from promptcache_tui.ui.screens.context_editor import ContextEditorScreen

        app = services(self.host)

        def saved(result: Context | None) -> None:
            if result is not None:
                verb = "Saved" if ctx is not None else "Created"
                self.host.post_message(ContextSaved(result.id, f"{verb} {result.name}."))

        self.host.app.push_screen(
            ContextEditorScreen(
                ctx, app.require_catalog(), default_model=app.default_model, taken=taken
            ),
            saved,
        )

    def rename(self, ctx: Context, taken: Collection[str]) -> None:
        """Ask for a new name, then store it (the call history follows it)."""
        from promptcache_tui.ui.screens.name_dialog import NameDialog

        def named(name: str | None) -> None:
            if name and name != ctx.name:
                self._run(
                    lambda store: store.contexts.save(ctx.with_changes(name=name)),
                    "Cannot rename",
                    lambda saved: ContextSaved(saved.id, f"Renamed {ctx.name} to {name}."),
                )

        others = set(taken) - {ctx.name}
        self.host.app.push_screen(NameDialog(f"Rename {ctx.name}", ctx.name, taken=others), named)

    def duplicate(self, ctx: Context, taken: Collection[str]) -> None:
        """Ask for a name (suggesting NAME-copy), then copy the blocks and breakpoints."""
        from promptcache_tui.core.context import unused_name
        from promptcache_tui.ui.screens.name_dialog import NameDialog

        def named(name: str | None) -> None:
            if name:
                self._run(
                    lambda store: store.contexts.duplicate(ctx.name, name),
                    "Cannot duplicate",
                    lambda copy: ContextSaved(copy.id, f"Duplicated {ctx.name} as {name}."),
                )

        suggestion = unused_name(f"{ctx.name}-copy", taken, sep="")
        self.host.app.push_screen(
            NameDialog(f"Duplicate {ctx.name} as", suggestion, taken=set(taken)), named
        )

    def delete(self, ctx: Context) -> None:
        """Ask, then delete the context (its logged calls stay in the history)."""
        from promptcache_tui.ui.screens.confirm import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(
                    lambda store: store.contexts.delete(ctx.name),
                    "Cannot delete",
                    lambda _: ContextSaved(None, f"Deleted {ctx.name}."),
                )

        self.host.app.push_screen(
            ConfirmDialog(
                f"Delete {ctx.name}?",
                "Its blocks, breakpoints and conversations are deleted. Its logged calls stay "
                "in the history.",
                yes="Delete",
            ),
            answered,
        )

    def demo(self) -> None:
        """Add the demo context (a public-domain book with two breakpoints)."""
        model = services(self.host).settings.model

        async def add(store: Store) -> Context:
            from promptcache_tui.core.context import unused_name
            from promptcache_tui.ui.demo import DEMO_NAME, demo_context

            taken = {summary.name for summary in await store.contexts.list()}
            name = unused_name(DEMO_NAME, taken)
            return await store.contexts.add(demo_context(model, name=name))

        self._run(
            add,
            "Cannot create the demo context",
            lambda ctx: ContextSaved(
                ctx.id, f"Created {ctx.name}: ask it something, then ask again to read the cache."
            ),
        )

    def _run(
        self,
        op: Callable[[Store], Awaitable[T]],
        failure: str,
        done: Callable[[T], Message | None],
    ) -> None:
        run_store_op(self.host, op, failure=failure, done=done, group=GROUP)
