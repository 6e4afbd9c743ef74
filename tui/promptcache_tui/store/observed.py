"""Observed traffic in the store: prompts by content, groups, miss explanations, imports.

Prompts are stored by content (migration 8): each distinct block once in `prompt_contents`,
each distinct prefix once in `prompt_prefixes` (a tree: a node is its parent prefix plus one
block), and a proxied call names only the last node of its prompt (`calls.prompt_leaf`).
Existence is prefix-closed (a node is only ever written with all its ancestors, in one
transaction), so the new part of a prompt is found with a binary search, not a lookup per
block.

The dashboard's API (read by the TUI, written by the proxy and the importer):
`groups(now)` lists the observed groups with their cache countdowns; `rename_group`;
`prompt(call_id)` gives a call's blocks back; `miss(call_id)` why it missed;
`save_as_context(call_id, name)` copies its prefix into a named context.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from promptcache_tui.core.context import Context
from promptcache_tui.core.miss import CallBlock, CallMark, CallShape, MissExplanation
from promptcache_tui.core.observed import (
    SECTIONS,
    ObservedRequest,
    SaveError,
    StoredBlock,
    block_label,
    context_from_prefix,
)
from promptcache_tui.core.records import CallRecord, parse_iso
from promptcache_tui.core.sanitize import REDACTED
from promptcache_tui.core.ttl import EntryState, SessionCaches, SessionEvent, TTLLedger
from promptcache_tui.store.calls import CallLog
from promptcache_tui.store.contexts import ContextRepo
from promptcache_tui.store.database import Database, now_iso
from promptcache_tui.store.errors import StoreError
from promptcache_tui.store.rows import (
    ENSURE_GROUP,
    SAVE_MISS,
    group_name,
    group_row,
    miss_row,
)

OBSERVED_KINDS = ("proxy", "claude-code")
_KNOWN = 4_000  # hashes remembered as stored, per kind (bounded: RSS stays flat)
_SESSION_EVENTS = 200  # recent calls read to work out a session's cache
_CHAIN = """WITH RECURSIVE chain(hash, parent, content, depth, section, message_index,
        block_index, role, tokens) AS (
        SELECT hash, parent, content, depth, section, message_index, block_index, role, tokens
        FROM prompt_prefixes WHERE hash = ?
        UNION ALL
        SELECT p.hash, p.parent, p.content, p.depth, p.section, p.message_index,
               p.block_index, p.role, p.tokens
        FROM prompt_prefixes p JOIN chain c ON p.hash = c.parent)"""


@dataclass(frozen=True, slots=True)
class PromptNode:
    """One block of a stored prompt."""

    index: int
    section: str
    message_index: int | None
    block_index: int
    role: str | None
    prefix_hash: str
    content_hash: str
    tokens: int
    size: int  # bytes of the block's canonical JSON
    content: bytes | None  # None when recorded with --no-content (or not asked for)

    @property
    def label(self) -> str:
        """`tool Bash`, `system block 1`, `message 3 (user)`."""
        return block_label(
            self.section, self.message_index, self.block_index, self.role, self.content
        )


@dataclass(frozen=True, slots=True)
class PreparedPrompt:
    """What storing a prompt will write: its leaf, and its new nodes and contents."""

    leaf: bytes | None
    nodes: list[tuple[Any, ...]]
    contents: list[tuple[bytes, int, bytes | None]]
    present: list[bytes]  # contents found already stored


@dataclass(frozen=True, slots=True)
class GroupCache:
    """One countdown of a group: a breakpoint's entry (proxy) or the session's cache."""

    label: str
    ttl: str | None
    state: EntryState
    prefix_hash: str | None = None
    prefix_tokens: int | None = None  # a breakpoint's prefix, estimated
    model: str | None = None  # the model whose cache this is


@dataclass(frozen=True, slots=True)
class ObservedGroup:
    """A group of observed calls: one per (client, model, tools + system) for proxied
    calls, one per Claude Code session for imports."""

    key: str  # the calls' `session`
    kind: str  # proxy | claude-code
    name: str
    renamed: bool
    client: str | None
    model: str | None
    project: str | None
    calls: int
    last_call_id: int | None
    last_ts: str | None
    caches: tuple[GroupCache, ...]


class _Seen:
    """A bounded set of hashes known to be stored (oldest forgotten first)."""

    def __init__(self, size: int = _KNOWN) -> None:
        self._items: OrderedDict[bytes, None] = OrderedDict()
        self._size = size

    def __contains__(self, key: bytes) -> bool:
        if key in self._items:
            self._items.move_to_end(key)
            return True
        return False

    def add(self, key: bytes) -> None:
        self._items[key] = None
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


def _scrub(data: bytes, secrets: Sequence[str]) -> bytes:
    """A client's own key pasted into a prompt is not stored either."""
    for secret in secrets:
        if len(secret) >= 8 and secret.encode() in data:
            data = data.replace(secret.encode(), REDACTED.encode())
    return data


class ObservedLog:
    """Prompts, groups, explanations and import progress of observed traffic."""

    def __init__(self, db: Database, calls: CallLog, contexts: ContextRepo) -> None:
        self.db = db
        self.calls = calls
        self.contexts = contexts
        self._prefixes = _Seen()
        self._contents = _Seen()
        self._groups = _Seen(2_000)

    # -- prompts --------------------------------------------------------------------------

    async def save_prompt(
        self,
        call_id: int,
        request: ObservedRequest,
        *,
        keep_content: bool = True,
        secrets: Sequence[str] = (),
    ) -> int:
        """Store a call's prompt (only the blocks never seen before); return how many
        prefix nodes were new."""
        prepared = await self.prepare_prompt(request, keep_content=keep_content, secrets=secrets)
        async with self.db.transaction() as conn:
            await self.write_prompt(conn, call_id, prepared)
        self.remember(prepared)
        return len(prepared.nodes)

    async def prepare_prompt(
        self,
        request: ObservedRequest,
        *,
        keep_content: bool = True,
        secrets: Sequence[str] = (),
    ) -> PreparedPrompt:
        """Work out (reading only) which of a prompt's nodes and contents are new, and
        compress the new contents, so that writing them is quick (`write_prompt`)."""
        blocks = request.blocks
        hashes = [bytes.fromhex(b.prefix_hash) for b in blocks]
        if not blocks:
            return PreparedPrompt(None, [], [], [])
        known = await self._stored_depth(hashes)
        fresh = blocks[known:]
        contents: dict[bytes, tuple[int, bytes | None]] = {}
        wanted = [
            bytes.fromhex(b.content_hash)
            for b in fresh
            if bytes.fromhex(b.content_hash) not in self._contents
        ]
        present = await self._present_contents(wanted)
        for block in fresh:
            key = bytes.fromhex(block.content_hash)
            if key in present or key in contents or key in self._contents:
                continue
            data = zlib.compress(_scrub(block.content, secrets), 6) if keep_content else None
            contents[key] = (len(block.content), data)
        nodes = [
            (
                hashes[b.index],
                hashes[b.index - 1] if b.index else None,
                bytes.fromhex(b.content_hash),
                b.index,
                SECTIONS.index(b.section),
                b.message_index,
                b.block_index,
                b.role,
                b.tokens,
            )
            for b in fresh
        ]
        return PreparedPrompt(
            leaf=hashes[-1],
            nodes=nodes,
            contents=[(k, size, data) for k, (size, data) in contents.items()],
            present=list(present),
        )

    async def write_prompt(
        self, conn: aiosqlite.Connection, call_id: int, prepared: PreparedPrompt
    ) -> None:
        """Write a prepared prompt inside the caller's transaction (e.g. `calls.begin`'s)."""
        if prepared.leaf is None:
            return
        # Each statement is a round trip to the database thread: none for nothing to add.
        if prepared.contents:
            await conn.executemany(
                "INSERT OR IGNORE INTO prompt_contents (hash, size, data) VALUES (?, ?, ?)",
                prepared.contents,
            )
        if prepared.nodes:
            await conn.executemany(
                "INSERT OR IGNORE INTO prompt_prefixes (hash, parent, content, depth, section,"
                " message_index, block_index, role, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                prepared.nodes,
            )
        await conn.execute(
            "UPDATE calls SET prompt_leaf = ? WHERE id = ?", (prepared.leaf, call_id)
        )

    def remember(self, prepared: PreparedPrompt) -> None:
        """After the transaction that wrote `prepared` committed: its hashes are stored.

        Only then: a node remembered but rolled back would be skipped next time, and the
        tree would lose a link.
        """
        for node in prepared.nodes:
            self._prefixes.add(node[0])
        for key in (*prepared.present, *(c[0] for c in prepared.contents)):
            self._contents.add(key)

    async def _stored_depth(self, hashes: Sequence[bytes]) -> int:
        """How many leading prefixes of this prompt are stored already."""
        for depth in range(len(hashes), 0, -1):
            if hashes[depth - 1] in self._prefixes:
                return depth
            if len(hashes) - depth >= 8:
                break  # not a recent prompt's neighbour: ask the database
        low, high = 0, len(hashes)  # invariant: hashes[:low] stored, hashes[high:] not
        while low < high:
            middle = (low + high + 1) // 2
            found = await self.db.scalar(
                "SELECT 1 FROM prompt_prefixes WHERE hash = ?", (hashes[middle - 1],)
            )
            if found:
                low = middle
            else:
                high = middle - 1
        return low

    async def _present_contents(self, keys: Sequence[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = await self.db.fetchall(
                f"SELECT hash FROM prompt_contents WHERE hash IN ({marks})", part
            )
            found.update(bytes(r[0]) for r in rows)
        return found

    async def prompt(self, call_id: int, *, with_content: bool = True) -> list[PromptNode] | None:
        """A logged call's prompt, block by block; None when none was stored for it."""
        leaf = await self.db.scalar("SELECT prompt_leaf FROM calls WHERE id = ?", (call_id,))
        if leaf is None:
            return None
        data = "pc.data" if with_content else "NULL"
        rows = await self.db.fetchall(
            f"""{_CHAIN} SELECT c.hash, c.content, c.depth, c.section, c.message_index,
                c.block_index, c.role, c.tokens, pc.size, {data} AS data
                FROM chain c LEFT JOIN prompt_contents pc ON pc.hash = c.content
                ORDER BY c.depth""",
            (leaf,),
        )
        return [
            PromptNode(
                index=r["depth"],
                section=SECTIONS[r["section"]],
                message_index=r["message_index"],
                block_index=r["block_index"],
                role=r["role"],
                prefix_hash=bytes(r["hash"]).hex(),
                content_hash=bytes(r["content"]).hex(),
                tokens=r["tokens"],
                size=r["size"] or 0,
                content=zlib.decompress(r["data"]) if r["data"] is not None else None,
            )
            for r in rows
        ]

    async def shape(self, record: CallRecord) -> CallShape | None:
        """A logged proxied call as the miss explanation compares it."""
        if record.id is None:
            return None
        nodes = await self.prompt(record.id)
        if nodes is None:
            return None
        where = {n.prefix_hash: n.index for n in nodes}
        return CallShape(
            ts=parse_iso(record.ts),
            model=record.model,
            blocks=[
                CallBlock(
                    index=n.index,
                    section=n.section,
                    message_index=n.message_index,
                    block_index=n.block_index,
                    role=n.role,
                    content_hash=n.content_hash,
                    prefix_hash=n.prefix_hash,
                    content=n.content,
                )
                for n in nodes
            ],
            marks=[
                CallMark(
                    block=where[b.prefix_hash],
                    ttl=b.ttl,
                    prefix_hash=b.prefix_hash,
                    prefix_tokens=b.prefix_tokens,
                    cached=b.cached,
                )
                for b in record.breakpoints
                if b.prefix_hash in where
            ],
            cache_read=record.usage.cache_read_input_tokens,
            cache_creation=record.usage.cache_creation_input_tokens,
            id=record.id,
        )

    async def recent_cached(
        self,
        *,
        client: str | None,
        before_id: int | None,
        limit: int = 8,
        session: str | None = None,
    ) -> list[CallRecord]:
        """Recent proxied calls that wrote or read the cache: candidates to compare a miss
        with (the group's own latest first, then the client's)."""
        found: dict[int, CallRecord] = {}
        queries: list[tuple[str, list[Any]]] = []
        before_id = before_id if before_id is not None else 1 << 62  # not logged yet: all
        if session is not None:
            queries.append(
                (
                    "SELECT id FROM calls WHERE session = ? AND id < ? AND kind = 'proxy'"
                    " AND cache_creation_input_tokens + cache_read_input_tokens > 0"
                    " AND prompt_leaf IS NOT NULL ORDER BY id DESC LIMIT 1",
                    [session, before_id],
                )
            )
        queries.append(
            (
                "SELECT id FROM calls WHERE kind = 'proxy' AND client IS ? AND id < ?"
                " AND cache_creation_input_tokens + cache_read_input_tokens > 0"
                " AND prompt_leaf IS NOT NULL ORDER BY id DESC LIMIT ?",
                [client, before_id, limit],
            )
        )
        for sql, params in queries:
            for row in await self.db.fetchall(sql, params):
                if row[0] not in found:
                    record = await self.calls.get(row[0])
                    if record is not None:
                        found[row[0]] = record
        return list(found.values())

    # -- why a call missed ------------------------------------------------------------------

    async def save_miss(self, call_id: int, found: MissExplanation) -> None:
        """Keep why a call missed (its one-line summary is the call's cache_miss_reason)."""
        async with self.db.transaction() as conn:
            await self.write_miss(conn, call_id, found)

    async def write_miss(
        self, conn: aiosqlite.Connection, call_id: int, found: MissExplanation
    ) -> None:
        """`save_miss` inside the caller's transaction (e.g. `calls.settle`'s)."""
        await conn.execute(SAVE_MISS, miss_row(call_id, found))

    async def miss(self, call_id: int) -> MissExplanation | None:
        """Why a call missed, with the changed block and its diff; None if not explained."""
        return (await self.misses([call_id])).get(call_id)

    async def misses(self, call_ids: Sequence[int]) -> dict[int, MissExplanation]:
        """`miss` for many calls at once (a page of the usage panel), by call id."""
        found: dict[int, MissExplanation] = {}
        ids = list(dict.fromkeys(call_ids))
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = await self.db.fetchall(
                "SELECT m.*, c.cache_miss_reason FROM call_misses m"
                f" JOIN calls c ON c.id = m.call_id WHERE m.call_id IN ({marks})",
                part,
            )
            for row in rows:
                found[row["call_id"]] = MissExplanation(
                    code=row["code"],
                    summary=row["cache_miss_reason"] or row["code"],
                    block_index=row["block_index"],
                    block_label=row["block_label"],
                    before=row["before"],
                    after=row["after"],
                    gap_s=row["gap_s"],
                    previous_call_id=row["previous_call_id"],
                )
        return found

    # -- groups ---------------------------------------------------------------------------

    async def ensure_group(
        self,
        key: str,
        kind: str,
        *,
        name: str,
        client: str | None = None,
        model: str | None = None,
        project: str | None = None,
    ) -> None:
        """Create a group the first time one of its calls is logged (a rename is kept)."""
        if self.knows_group(key):
            return
        async with self.db.transaction() as conn:
            await self.write_group(
                conn, key, kind, name=name, client=client, model=model, project=project
            )
        self._groups.add(key.encode())

    def knows_group(self, key: str) -> bool:
        """Whether this process already made sure the group exists."""
        return key.encode() in self._groups

    async def write_group(
        self,
        conn: aiosqlite.Connection,
        key: str,
        kind: str,
        *,
        name: str,
        client: str | None = None,
        model: str | None = None,
        project: str | None = None,
    ) -> None:
        """`ensure_group` inside the caller's transaction (call `group_written` after)."""
        await conn.execute(
            ENSURE_GROUP,
            group_row(
                key, kind, name=name, client=client, model=model, project=project, now=now_iso()
            ),
        )

    def group_written(self, key: str) -> None:
        """After the transaction that wrote a group committed."""
        self._groups.add(key.encode())

    async def rename_group(self, key_or_name: str, name: str) -> str:
        """Rename a group (found by key or by its current name); return its key."""
        cleaned = group_name(name)
        if not cleaned:
            raise StoreError("a group name cannot be empty")
        row = await self.db.fetchone(
            "SELECT key FROM observed_groups WHERE key = ? OR name = ? ORDER BY key = ? DESC",
            (key_or_name, key_or_name, key_or_name),
        )
        if row is None:
            raise StoreError(f"no observed group {key_or_name!r}")
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE observed_groups SET name = ?, renamed = 1 WHERE key = ?",
                (cleaned, row[0]),
            )
        return str(row[0])

    async def groups(
        self,
        now: float,
        *,
        kind: str | None = None,
        limit: int = 50,
        keys: Sequence[str] | None = None,
        resolve: Callable[[str], str] | None = None,
    ) -> list[ObservedGroup]:
        """The observed groups, most recently active first, each with its countdowns.

        Proxied groups: each breakpoint of the group's latest call that wrote or read, with
        the ledger's state (refreshes by any call included). Claude Code sessions: the
        session's cache (`SessionCaches`: the main thread's, per model, the TTL taken from
        the split of the last write and refreshed by every read), the rule the status line
        follows. `keys`: only these groups (the ones whose calls just changed). `resolve`
        maps a model name to the id its cache lives under (the catalog's `cache_id`, which
        the store does not load): proxied calls with an alias and with its dated id then
        refresh one countdown; without it, model names are taken as they are. (Sessions
        keep their models as named, as the status line does, which loads no catalog.)
        """
        clauses: list[str] = []
        params: list[Any] = []
        if kind:
            clauses.append("g.kind = ?")
            params.append(kind)
        if keys is not None:
            if not keys:
                return []
            clauses.append(f"g.key IN ({','.join('?' * len(keys))})")
            params.extend(keys)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.db.fetchall(
            f"""SELECT g.*, (SELECT id FROM calls WHERE session = g.key
                    ORDER BY ts DESC, id DESC LIMIT 1) AS last_id,
                (SELECT MAX(ts) FROM calls WHERE session = g.key) AS last_ts,
                (SELECT COUNT(*) FROM calls WHERE session = g.key) AS calls
                FROM observed_groups g {where} ORDER BY last_ts DESC, key LIMIT ?""",
            [*params, limit],
        )
        out: list[ObservedGroup] = []
        for row in rows:
            last = await self.calls.get(row["last_id"]) if row["last_id"] else None
            if row["kind"] == "proxy":
                caches = await self._breakpoint_caches(row["key"], now, resolve)
            else:
                caches = await self._session_caches(row["key"], now)
            out.append(
                ObservedGroup(
                    key=row["key"],
                    kind=row["kind"],
                    name=row["name"],
                    renamed=bool(row["renamed"]),
                    client=row["client"],
                    model=last.model if last else row["model"],
                    project=row["project"],
                    calls=int(row["calls"] or 0),
                    last_call_id=row["last_id"],
                    last_ts=row["last_ts"],
                    caches=caches,
                )
            )
        return out

    async def _breakpoint_caches(
        self, key: str, now: float, resolve: Callable[[str], str] | None
    ) -> tuple[GroupCache, ...]:
        found = await self.db.scalar(
            "SELECT id FROM calls WHERE session = ? AND status IN ('ok', 'interrupted')"
            " AND cache_creation_input_tokens + cache_read_input_tokens > 0"
            " ORDER BY id DESC LIMIT 1",
            (key,),
        )
        record = await self.calls.get(found) if found else None
        if record is None:
            return ()
        nodes = await self.prompt(record.id or 0, with_content=False) or []
        labels = {n.prefix_hash: n.label for n in nodes}
        ledger = TTLLedger(lambda: now, resolve=resolve)
        ledger.record_all(await self.calls.cache_events(b.prefix_hash for b in record.breakpoints))
        return tuple(
            GroupCache(
                label=f"breakpoint {b.position + 1} · {labels.get(b.prefix_hash, '?')}",
                ttl=b.ttl,
                state=ledger.state(record.model, b.prefix_hash, now),
                prefix_hash=b.prefix_hash,
                prefix_tokens=b.prefix_tokens,
                model=record.model,
            )
            for b in record.breakpoints
        )

    async def _session_caches(self, key: str, now: float) -> tuple[GroupCache, ...]:
        # The main thread's recent calls: a model's countdown depends only on its last
        # write and the reads after it, which a Claude Code session makes every turn.
        rows = await self.db.fetchall(
            "SELECT ts, model, cache_creation_5m_tokens, cache_creation_1h_tokens,"
            " cache_read_input_tokens FROM calls WHERE session = ? AND status = 'ok'"
            " AND sidechain = 0 ORDER BY ts DESC, id DESC LIMIT ?",
            (key, _SESSION_EVENTS),
        )
        caches = SessionCaches()
        for r in reversed(rows):
            caches.add(
                SessionEvent(
                    ts=parse_iso(r["ts"]),
                    write_5m=r["cache_creation_5m_tokens"],
                    write_1h=r["cache_creation_1h_tokens"],
                    read=r["cache_read_input_tokens"],
                    model=r["model"],
                )
            )
        model, cache = caches.pick()
        state = cache.state(now)
        return (GroupCache(label="session cache", ttl=state.ttl, state=state, model=model),)

    async def latest_with_prompt(self, key: str, *, look_back: int = 20) -> int | None:
        """The id of a group's latest call whose prompt was kept whole, content included
        (one Save as context can copy), among its last `look_back` that kept one; or None.
        A call recorded with --no-content keeps hashes only, save for blocks stored before."""
        rows = await self.db.fetchall(
            "SELECT id FROM calls WHERE session = ? AND prompt_leaf IS NOT NULL"
            " ORDER BY id DESC LIMIT ?",
            (key, look_back),
        )
        for row in rows:
            nodes = await self.prompt(int(row["id"]))
            if nodes and all(node.content is not None for node in nodes):
                return int(row["id"])
        return None

    # -- Save as context ------------------------------------------------------------------

    async def save_as_context(
        self, call_id: int, name: str, *, breakpoint: int | None = None
    ) -> Context:
        """Copy a proxied call's prefix (tools, system, the messages up to a breakpoint) into
        a new named context; `breakpoint` is 1-based among the call's breakpoints (default:
        the last one; a call without breakpoints copies its whole prompt)."""
        record = await self.calls.get(call_id)
        if record is None:
            raise StoreError(f"no call with id {call_id}")
        nodes = await self.prompt(call_id)
        if nodes is None:
            raise StoreError(f"call {call_id} has no stored prompt (only proxied calls keep one)")
        where = {n.prefix_hash: n.index for n in nodes}
        marks = [
            (where[b.prefix_hash], b.ttl) for b in record.breakpoints if b.prefix_hash in where
        ]
        if breakpoint is not None and not 1 <= breakpoint <= len(marks):
            raise StoreError(
                f"call {call_id} has {len(marks)} breakpoint(s): choose 1 to {len(marks)}"
            )
        upto = marks[(breakpoint or len(marks)) - 1][0] if marks else nodes[-1].index
        ttl_of = dict(marks)
        blocks = [
            StoredBlock(
                index=n.index,
                section=n.section,
                message_index=n.message_index,
                block_index=n.block_index,
                role=n.role,
                content=n.content,
                ttl=ttl_of.get(n.index),
            )
            for n in nodes
        ]
        try:
            ctx = context_from_prefix(name, record.model, blocks, upto)
        except (SaveError, ValueError) as exc:
            raise StoreError(str(exc)) from exc
        return await self.contexts.add(ctx)
