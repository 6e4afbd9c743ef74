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
)

SCHEMA_VERSION = len(MIGRATIONS)
