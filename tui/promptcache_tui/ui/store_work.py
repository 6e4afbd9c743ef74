"""Run a store operation in a worker; its result comes back as a message, its error as a
notice. The one copy of what every screen did by hand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.services import StillStarting, services

if TYPE_CHECKING:
    from textual.message import Message
    from textual.widget import Widget
    from textual.worker import Worker

    from promptcache_tui.store import Store

T = TypeVar("T")


def run_store_op(
    node: Widget,
    op: Callable[[Store], Awaitable[T]],
    *,
    failure: str,
    done: Callable[[T], Message | None] | None = None,
    failed: Callable[[str], Message | None] | None = None,
    group: str,
    exclusive: bool = True,
) -> Worker[None]:
    """Run `op(store)` in a worker of `node` (in `group`). On success `done(result)` makes the
    message posted to `node` (None: nothing); on failure a notice titled `failure` says why
    in one line, and `failed(error)` may make a message too. The worker never touches a
    widget."""

    async def job() -> None:
        try:
            result = await op(services(node).require_store())
        except StillStarting as exc:
            node.notify(str(exc), severity="warning")
            _post(failed, str(exc))
            return
        except Exception as exc:
            error = one_line(exc)
            node.notify(error, title=failure, severity="error", timeout=10)
            _post(failed, error)
            return
        _post(done, result)

    def _post(make: Callable[[Any], Message | None] | None, value: Any) -> None:
        message = make(value) if make is not None else None
        if message is not None:
            node.post_message(message)

    return node.run_worker(job(), name=group, group=group, exclusive=exclusive, exit_on_error=False)
