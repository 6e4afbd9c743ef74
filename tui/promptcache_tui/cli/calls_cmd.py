"""`promptcache-tui ask` and `promptcache-tui warm`: one call each, streamed and logged."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field

import click

from promptcache_tui.calls.service import CallService, ReaderGone
from promptcache_tui.cli.main import global_options, settings_from
from promptcache_tui.cli.output import emit_json, money, percent, silence_stdout
from promptcache_tui.cli.signals import Interrupted, run_interruptible
from promptcache_tui.config import Settings
from promptcache_tui.core.catalog import load_catalog
from promptcache_tui.core.errors import UserError
from promptcache_tui.core.records import CallRecord
from promptcache_tui.core.sanitize import one_line, safe_message, terminal_safe
from promptcache_tui.store import Store

TEXT_OR_JSON = click.Choice(["text", "json"])


def summary_line(record: CallRecord) -> str:
    """One line: the usage, cost and cache outcome of a call (outside text made safe)."""
    u = record.usage
    cost = record.cost
    writes = f"write {u.cache_creation_5m_tokens:,} (5m)"
    if u.cache_creation_1h_tokens:
        writes += f" + {u.cache_creation_1h_tokens:,} (1h)"
    parts = [
        one_line(record.model),
        writes,
        f"read {u.cache_read_input_tokens:,}",
        f"input {u.input_tokens:,}",
        f"output {u.output_tokens:,}",
        f"cost {money(cost.cost_usd)} (uncached {money(cost.uncached_cost_usd)}, "
        f"saved {money(cost.saved_usd)})",
        f"hit {percent(u.hit_rate)}",
    ]
    if record.cache_miss_reason:
        parts.append(f"miss: {one_line(record.cache_miss_reason)}")
    if record.status == "interrupted":
        parts.append("INTERRUPTED")
    elif record.status != "ok":
        parts.append("FAILED")
    return " | ".join(parts)


class _StdoutSink:
    """Streams answer text to stdout, control characters made visible; a closed pipe
    (`ask ... | head -c 100`) stops the call as interrupted instead of failing it."""

    def __init__(self) -> None:
        self.wrote = False
        self.closed = False

    def __call__(self, text: str) -> None:
        try:
            sys.stdout.write(terminal_safe(text))
            sys.stdout.flush()
        except BrokenPipeError:
            self.closed = True
            silence_stdout()
            raise ReaderGone("stdout was closed before the answer ended") from None
        self.wrote = True


@dataclass
class _Outcome:
    """What one call command ended with: its record (once begun) and how stdout fared."""

    record: CallRecord | None = None
    sink: _StdoutSink = field(default_factory=_StdoutSink)


async def _one_call(
    settings: Settings,
    name: str,
    prompt: str | None,
    kind: str,
    model: str | None,
    outcome: _Outcome,
    stream_text: bool,
) -> CallRecord:
    from promptcache_tui.sim.state import StateError

    catalog = load_catalog(settings.data_dir)
    async with await Store.open(settings.db_path) as store:
        ctx = await store.contexts.require(name)
        service = CallService(settings, store, catalog)
        try:
            outcome.record = await service.run(
                ctx,
                prompt,
                kind=kind,
                model=model or settings.model,
                on_text=outcome.sink if stream_text else None,
                on_begin=lambda rec: setattr(outcome, "record", rec),
            )
            return outcome.record
        except StateError as exc:  # the offline simulator's state file is unusable
            raise UserError(str(exc)) from exc
        finally:
            await service.close()


def _run(
    settings: Settings,
    name: str,
    prompt: str | None,
    kind: str,
    model: str | None,
    stream_text: bool,
) -> tuple[CallRecord, _Outcome]:
    outcome = _Outcome()
    try:
        record = run_interruptible(
            _one_call(settings, name, prompt, kind, model, outcome, stream_text)
        )
    except Interrupted as exc:
        if outcome.sink.wrote:
            with contextlib.suppress(OSError):
                sys.stdout.write("\n")  # end the streamed answer's line
                sys.stdout.flush()
        rec = outcome.record
        if rec is not None and rec.id is not None:
            raise Interrupted(exc.signum, f"call {rec.id} logged as {rec.status}") from None
        raise
    return record, outcome


def _finish(record: CallRecord, outcome: _Outcome, fmt: str, *, answer: bool) -> None:
    failed = record.status == "error"
    if fmt == "json":
        row = record.public()
        if answer:
            row["answer"] = record.answer
        emit_json(row)
    elif not failed:
        if answer and outcome.sink.wrote and not outcome.sink.closed:
            click.echo("")  # end the streamed answer's line
        click.echo(summary_line(record), err=True)
    # Interrupted here means the reader closed our stdout: what it asked for, not a failure.
    if failed:
        # One line on stderr; the usage the API had reported (if any) is in the log.
        if answer and outcome.sink.wrote and not outcome.sink.closed:
            click.echo("")
        message = safe_message(record.error or "the call failed")
        click.echo(f"promptcache-tui: error: {message}", err=True)
        sys.exit(1)


@click.command()
@click.argument("name")
@click.argument("prompt")
@click.option(
    "--format",
    "fmt",
    type=TEXT_OR_JSON,
    default="text",
    show_default=True,
    help="text: stream the answer, usage on stderr; json: the logged call record.",
)
@click.option("--model", default=None, help="Model for this call (default: the context's).")
@global_options
@click.pass_context
def ask(ctx: click.Context, name: str, prompt: str, fmt: str, model: str | None) -> None:
    """Ask PROMPT against context NAME (one call, logged as kind ask)."""
    if not prompt.strip():
        raise click.BadParameter("is empty", param_hint="PROMPT")
    settings = settings_from(ctx)
    record, outcome = _run(settings, name, prompt, "ask", model, fmt == "text")
    _finish(record, outcome, fmt, answer=True)


@click.command()
@click.argument("name")
@click.option("--format", "fmt", type=TEXT_OR_JSON, default="text", show_default=True)
@click.option("--model", default=None, help="Model to warm (default: the context's).")
@global_options
@click.pass_context
def warm(ctx: click.Context, name: str, fmt: str, model: str | None) -> None:
    """Pre-warm NAME's breakpoints with a prefill-only call (logged as kind warm)."""
    settings = settings_from(ctx)
    record, outcome = _run(settings, name, None, "warm", model, False)
    _finish(record, outcome, fmt, answer=False)
