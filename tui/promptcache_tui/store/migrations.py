"""Append-only schema migrations. Never edit a released step: add a new one.

`PRAGMA user_version` holds the number of steps applied.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: contexts, their blocks and breakpoints, conversations, and the call log.
    """
    CREATE TABLE contexts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        model TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_used_at TEXT
    );
    CREATE TABLE blocks (
        context_id INTEGER NOT NULL REFERENCES contexts(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL DEFAULT 'user',
        text TEXT NOT NULL,
        PRIMARY KEY (context_id, position)
    );
    CREATE TABLE breakpoints (
        context_id INTEGER NOT NULL REFERENCES contexts(id) ON DELETE CASCADE,
        block_position INTEGER NOT NULL,
        ttl TEXT NOT NULL CHECK (ttl IN ('5m', '1h')),
        PRIMARY KEY (context_id, block_position)
    );
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        context_id INTEGER REFERENCES contexts(id) ON DELETE CASCADE,
        title TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        call_id INTEGER,
        created_at TEXT NOT NULL
    );
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        context_id INTEGER,
        context TEXT,
        conversation_id INTEGER,
        kind TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
        cache_creation_5m_tokens INTEGER NOT NULL DEFAULT 0,
        cache_creation_1h_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        price_input REAL,
        price_output REAL,
        mult_write_5m REAL NOT NULL,
        mult_write_1h REAL NOT NULL,
        mult_read REAL NOT NULL,
        cost_usd REAL,
        uncached_cost_usd REAL,
        saved_usd REAL,
        ttft_ms REAL,
        duration_ms REAL,
        cache_miss_reason TEXT,
        cache_missed_input_tokens INTEGER,
        request_id TEXT,
        message_id TEXT,
        stop_reason TEXT,
        live INTEGER NOT NULL DEFAULT 0,
        prompt TEXT,
        answer TEXT
    );
    CREATE TABLE call_breakpoints (
        call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        ttl TEXT NOT NULL,
        prefix_hash TEXT NOT NULL,
        prefix_tokens INTEGER NOT NULL,
        cached INTEGER NOT NULL,
        context_block INTEGER,
        PRIMARY KEY (call_id, position)
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE INDEX calls_by_ts ON calls(ts);
    """,
    # 2: history queries by context, model, kind and day; the ledger's lookup by prefix.
    """
    CREATE INDEX calls_by_context_ts ON calls(context, ts);
    CREATE INDEX calls_by_model_ts ON calls(model, ts);
    CREATE INDEX calls_by_conversation ON calls(conversation_id, id);
    CREATE INDEX calls_by_context_id ON calls(context_id, id);
    CREATE INDEX call_breakpoints_by_hash ON call_breakpoints(prefix_hash) WHERE cached = 1;
    """,
    # 3: keep-warm is opt-in per context.
    """
    ALTER TABLE contexts ADD COLUMN keep_warm INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: per-day totals by context, model, kind and status, kept by triggers in the same
    # transaction as every write to `calls`, so stats and the history screen's totals read
    # O(groups) rows instead of every call. '' stands for "no context" (NULL is not a key).
    # priced_calls counts calls with a known cost: a group of unknown prices sums to NULL.
    """
    CREATE TABLE call_rollup (
        day TEXT NOT NULL,
        context TEXT NOT NULL,
        model TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        calls INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        cache_creation_input_tokens INTEGER NOT NULL,
        cache_creation_5m_tokens INTEGER NOT NULL,
        cache_creation_1h_tokens INTEGER NOT NULL,
        cache_read_input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        priced_calls INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        uncached_cost_usd REAL NOT NULL,
        saved_usd REAL NOT NULL,
        PRIMARY KEY (day, context, model, kind, status)
    ) WITHOUT ROWID;
    INSERT INTO call_rollup
        SELECT substr(ts, 1, 10), coalesce(context, ''), model, kind, status, COUNT(*),
               SUM(input_tokens), SUM(cache_creation_input_tokens),
               SUM(cache_creation_5m_tokens), SUM(cache_creation_1h_tokens),
               SUM(cache_read_input_tokens), SUM(output_tokens), COUNT(cost_usd),
               TOTAL(cost_usd), TOTAL(uncached_cost_usd), TOTAL(saved_usd)
        FROM calls GROUP BY 1, 2, 3, 4, 5;
    CREATE TRIGGER call_rollup_add AFTER INSERT ON calls BEGIN
        INSERT INTO call_rollup VALUES (
            substr(NEW.ts, 1, 10), coalesce(NEW.context, ''), NEW.model, NEW.kind, NEW.status,
            1, NEW.input_tokens, NEW.cache_creation_input_tokens, NEW.cache_creation_5m_tokens,
            NEW.cache_creation_1h_tokens, NEW.cache_read_input_tokens, NEW.output_tokens,
            NEW.cost_usd IS NOT NULL, coalesce(NEW.cost_usd, 0),
            coalesce(NEW.uncached_cost_usd, 0), coalesce(NEW.saved_usd, 0))
        ON CONFLICT (day, context, model, kind, status) DO UPDATE SET
            calls = calls + 1,
            input_tokens = input_tokens + excluded.input_tokens,
            cache_creation_input_tokens =
                cache_creation_input_tokens + excluded.cache_creation_input_tokens,
            cache_creation_5m_tokens = cache_creation_5m_tokens + excluded.cache_creation_5m_tokens,
            cache_creation_1h_tokens = cache_creation_1h_tokens + excluded.cache_creation_1h_tokens,
            cache_read_input_tokens = cache_read_input_tokens + excluded.cache_read_input_tokens,
            output_tokens = output_tokens + excluded.output_tokens,
            priced_calls = priced_calls + excluded.priced_calls,
            cost_usd = cost_usd + excluded.cost_usd,
            uncached_cost_usd = uncached_cost_usd + excluded.uncached_cost_usd,
            saved_usd = saved_usd + excluded.saved_usd;
    END;
    CREATE TRIGGER call_rollup_remove AFTER DELETE ON calls BEGIN
        UPDATE call_rollup SET
            calls = calls - 1,
            input_tokens = input_tokens - OLD.input_tokens,
            cache_creation_input_tokens =
                cache_creation_input_tokens - OLD.cache_creation_input_tokens,
            cache_creation_5m_tokens = cache_creation_5m_tokens - OLD.cache_creation_5m_tokens,
            cache_creation_1h_tokens = cache_creation_1h_tokens - OLD.cache_creation_1h_tokens,
            cache_read_input_tokens = cache_read_input_tokens - OLD.cache_read_input_tokens,
            output_tokens = output_tokens - OLD.output_tokens,
            priced_calls = priced_calls - (OLD.cost_usd IS NOT NULL),
            cost_usd = cost_usd - coalesce(OLD.cost_usd, 0),
            uncached_cost_usd = uncached_cost_usd - coalesce(OLD.uncached_cost_usd, 0),
            saved_usd = saved_usd - coalesce(OLD.saved_usd, 0)
        WHERE day = substr(OLD.ts, 1, 10) AND context = coalesce(OLD.context, '')
            AND model = OLD.model AND kind = OLD.kind AND status = OLD.status;
        DELETE FROM call_rollup
        WHERE day = substr(OLD.ts, 1, 10) AND context = coalesce(OLD.context, '')
            AND model = OLD.model AND kind = OLD.kind AND status = OLD.status AND calls <= 0;
    END;
    CREATE TRIGGER call_rollup_change AFTER UPDATE OF ts, context, model, kind, status,
        input_tokens, cache_creation_input_tokens, cache_creation_5m_tokens,
        cache_creation_1h_tokens, cache_read_input_tokens, output_tokens, cost_usd,
        uncached_cost_usd, saved_usd ON calls BEGIN
        UPDATE call_rollup SET
            calls = calls - 1,
            input_tokens = input_tokens - OLD.input_tokens,
            cache_creation_input_tokens =
                cache_creation_input_tokens - OLD.cache_creation_input_tokens,
            cache_creation_5m_tokens = cache_creation_5m_tokens - OLD.cache_creation_5m_tokens,
            cache_creation_1h_tokens = cache_creation_1h_tokens - OLD.cache_creation_1h_tokens,
            cache_read_input_tokens = cache_read_input_tokens - OLD.cache_read_input_tokens,
            output_tokens = output_tokens - OLD.output_tokens,
            priced_calls = priced_calls - (OLD.cost_usd IS NOT NULL),
            cost_usd = cost_usd - coalesce(OLD.cost_usd, 0),
            uncached_cost_usd = uncached_cost_usd - coalesce(OLD.uncached_cost_usd, 0),
            saved_usd = saved_usd - coalesce(OLD.saved_usd, 0)
        WHERE day = substr(OLD.ts, 1, 10) AND context = coalesce(OLD.context, '')
            AND model = OLD.model AND kind = OLD.kind AND status = OLD.status;
        DELETE FROM call_rollup
        WHERE day = substr(OLD.ts, 1, 10) AND context = coalesce(OLD.context, '')
            AND model = OLD.model AND kind = OLD.kind AND status = OLD.status AND calls <= 0;
        INSERT INTO call_rollup VALUES (
            substr(NEW.ts, 1, 10), coalesce(NEW.context, ''), NEW.model, NEW.kind, NEW.status,
            1, NEW.input_tokens, NEW.cache_creation_input_tokens, NEW.cache_creation_5m_tokens,
            NEW.cache_creation_1h_tokens, NEW.cache_read_input_tokens, NEW.output_tokens,
            NEW.cost_usd IS NOT NULL, coalesce(NEW.cost_usd, 0),
            coalesce(NEW.uncached_cost_usd, 0), coalesce(NEW.saved_usd, 0))
        ON CONFLICT (day, context, model, kind, status) DO UPDATE SET
            calls = calls + 1,
            input_tokens = input_tokens + excluded.input_tokens,
            cache_creation_input_tokens =
                cache_creation_input_tokens + excluded.cache_creation_input_tokens,
            cache_creation_5m_tokens = cache_creation_5m_tokens + excluded.cache_creation_5m_tokens,
            cache_creation_1h_tokens = cache_creation_1h_tokens + excluded.cache_creation_1h_tokens,
            cache_read_input_tokens = cache_read_input_tokens + excluded.cache_read_input_tokens,
            output_tokens = output_tokens + excluded.output_tokens,
            priced_calls = priced_calls + excluded.priced_calls,
            cost_usd = cost_usd + excluded.cost_usd,
            uncached_cost_usd = uncached_cost_usd + excluded.uncached_cost_usd,
            saved_usd = saved_usd + excluded.saved_usd;
    END;
    """,
    # 5: a trigram index over prompts, so a search finds its candidate calls without reading
    # every row. detail=none keeps it small; it only narrows, `prompt LIKE` stays the judge.
    """
    CREATE VIRTUAL TABLE call_search USING fts5(
        prompt, content='calls', content_rowid='id', tokenize='trigram', detail=none,
        columnsize=0);
    INSERT INTO call_search(call_search) VALUES ('rebuild');
    CREATE TRIGGER call_search_add AFTER INSERT ON calls WHEN NEW.prompt IS NOT NULL BEGIN
        INSERT INTO call_search(rowid, prompt) VALUES (NEW.id, NEW.prompt);
    END;
    CREATE TRIGGER call_search_remove AFTER DELETE ON calls WHEN OLD.prompt IS NOT NULL BEGIN
        INSERT INTO call_search(call_search, rowid, prompt) VALUES ('delete', OLD.id, OLD.prompt);
    END;
    CREATE TRIGGER call_search_change AFTER UPDATE OF prompt ON calls BEGIN
        INSERT INTO call_search(call_search, rowid, prompt)
            SELECT 'delete', OLD.id, OLD.prompt WHERE OLD.prompt IS NOT NULL;
        INSERT INTO call_search(rowid, prompt)
            SELECT NEW.id, NEW.prompt WHERE NEW.prompt IS NOT NULL;
    END;
    """,
    # 6: failed calls in time order. Errors are usually rare, and a page of "status = error"
    # (alone, or with other filters) reads this small index instead of walking every call.
    """
    CREATE INDEX calls_errors_by_ts ON calls(ts) WHERE status = 'error';
    """,
    # 7: the call lifecycle and observed traffic. A call's row is written before its request
    # leaves (status 'in_flight') and settled as ok, error or interrupted; `owner` names the
    # lease (store/lease.py) of the process that has it in flight, so a later process can
    # tell an orphan (its owner died) from a call still running. `client` is the caller's
    # User-Agent product, `session` a Claude Code session id or a proxy's grouping key.
    # The rollup triggers already follow status and usage updates: a call counts once in
    # every state. The partial index keeps the sweep for orphans free on a large log.
    """
    ALTER TABLE calls ADD COLUMN client TEXT;
    ALTER TABLE calls ADD COLUMN session TEXT;
    ALTER TABLE calls ADD COLUMN owner TEXT;
    CREATE INDEX calls_in_flight ON calls(owner) WHERE status = 'in_flight';
    """,
    # 8: observed traffic (proxy, Claude Code imports). Storage grows with distinct content,
    # not with calls: each distinct prompt block is stored once in prompt_contents (by the
    # hash of its canonical JSON, zlib-compressed; data NULL under --no-content), and each
    # distinct prefix once in prompt_prefixes, a tree whose node is (parent prefix, block):
    # a proxied call only names the last node of its prompt (calls.prompt_leaf), so a call
    # that extends the previous one adds the nodes of its new blocks and nothing else.
    # observed_groups names the groups (calls.session is their key); call_misses keeps why a
    # call missed, with the changed block and a short diff; import_files remembers how far
    # each transcript was read, and calls_imported makes an import idempotent.
    """
    CREATE TABLE prompt_contents (
        hash BLOB PRIMARY KEY,
        size INTEGER NOT NULL,
        data BLOB
    ) WITHOUT ROWID;
    CREATE TABLE prompt_prefixes (
        hash BLOB PRIMARY KEY,
        parent BLOB,
        content BLOB NOT NULL,
        depth INTEGER NOT NULL,
        section INTEGER NOT NULL,
        message_index INTEGER,
        block_index INTEGER NOT NULL,
        role TEXT,
        tokens INTEGER NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE calls ADD COLUMN prompt_leaf BLOB;
    CREATE TABLE observed_groups (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        client TEXT,
        model TEXT,
        project TEXT,
        name TEXT NOT NULL,
        renamed INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX calls_by_session ON calls(session, ts) WHERE session IS NOT NULL;
    CREATE TABLE call_misses (
        call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
        code TEXT NOT NULL,
        block_index INTEGER,
        block_label TEXT,
        before TEXT,
        after TEXT,
        gap_s REAL,
        previous_call_id INTEGER
    );
    CREATE TABLE import_files (
        path TEXT PRIMARY KEY,
        device INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        skipped INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX calls_imported ON calls(message_id) WHERE kind = 'claude-code';
    """,
    # 9: the imported calls a Claude Code subagent made (its transcript's sidechain lines).
    # A subagent's cache is its own: a session's countdown folds the main thread's calls
    # only (core/ttl.SessionCaches), as the status line does. Calls imported before this
    # step count as the main thread's.
    """
    ALTER TABLE calls ADD COLUMN sidechain INTEGER NOT NULL DEFAULT 0;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
# PRAGMA application_id of our databases ("PCTU"), set from schema 7 on.
APPLICATION_ID = int.from_bytes(b"PCTU", "big")
