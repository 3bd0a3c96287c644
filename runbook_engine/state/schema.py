"""The state store's schema, as numbered migrations applied once each, in order.

Types are portable: `{id}` becomes an auto-increment key, `{real}` a double; flags are
INTEGER 0/1 and times are Unix epoch seconds, so both backends read the same way.
Add a migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

import time

from runbook_engine.state.db import Database

MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            playbook TEXT NOT NULL,
            playbook_sha256 TEXT,
            inventory TEXT,
            limit_pattern TEXT,
            tags TEXT,
            skip_tags TEXT,
            check_mode INTEGER NOT NULL DEFAULT 0,
            diff_mode INTEGER NOT NULL DEFAULT 0,
            extra_vars TEXT,
            params TEXT,
            username TEXT,
            controller TEXT,
            pid INTEGER,
            pid_start TEXT,
            started_at {real} NOT NULL,
            ended_at {real},
            status TEXT NOT NULL,
            exit_code INTEGER,
            trigger_source TEXT,
            resumed_from TEXT,
            stats TEXT
        )""",
        "CREATE INDEX runs_started ON runs (started_at)",
        "CREATE INDEX runs_status ON runs (status)",
        """CREATE TABLE run_hosts (
            run_id TEXT NOT NULL,
            host TEXT NOT NULL,
            PRIMARY KEY (run_id, host)
        )""",
        "CREATE INDEX run_hosts_host ON run_hosts (host)",
        """CREATE TABLE task_results (
            id {id},
            run_id TEXT NOT NULL,
            host TEXT NOT NULL,
            play TEXT,
            task_id TEXT NOT NULL,
            task_name TEXT,
            module TEXT,
            position TEXT,
            handler INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            changed INTEGER NOT NULL DEFAULT 0,
            rc INTEGER,
            msg TEXT,
            stdout TEXT,
            stderr TEXT,
            diff TEXT,
            item TEXT,
            ignored INTEGER NOT NULL DEFAULT 0,
            rescued INTEGER NOT NULL DEFAULT 0,
            attempt INTEGER NOT NULL DEFAULT 1,
            rerun_after_crash INTEGER NOT NULL DEFAULT 0,
            started_at {real},
            ended_at {real},
            duration {real}
        )""",
        "CREATE INDEX task_results_run ON task_results (run_id, host, id)",
        """CREATE TABLE host_vars (
            run_id TEXT NOT NULL,
            host TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            seq BIGINT NOT NULL,
            PRIMARY KEY (run_id, host, kind, name)
        )""",
        """CREATE TABLE host_locks (
            host TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            playbook TEXT,
            username TEXT,
            controller TEXT,
            pid INTEGER,
            pid_start TEXT,
            acquired_at {real} NOT NULL,
            expires_at {real} NOT NULL
        )""",
        "CREATE INDEX host_locks_run ON host_locks (run_id)",
        """CREATE TABLE approvals (
            run_id TEXT NOT NULL,
            step TEXT NOT NULL,
            message TEXT,
            approvers TEXT,
            status TEXT NOT NULL,
            requested_at {real},
            decided_by TEXT,
            decided_at {real},
            reason TEXT,
            PRIMARY KEY (run_id, step)
        )""",
    ]),
    # The journal names a run's rows by its own sequence number, so that replaying its
    # spool after a crash finds them (state/journal_spool.py).
    (2, [
        "ALTER TABLE task_results ADD COLUMN seq BIGINT",
        "CREATE UNIQUE INDEX task_results_seq ON task_results (run_id, seq)",
    ]),
]

LATEST_VERSION = MIGRATIONS[-1][0]

_TYPES = {
    "sqlite": {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL"},
    "postgresql": {"id": "BIGSERIAL PRIMARY KEY", "real": "DOUBLE PRECISION"},
}


def migrate(db: Database) -> int:
    """Bring the schema to the latest version; safe to call from many processes at once."""
    types = _TYPES[db.dialect]
    with db.transaction():
        if db.dialect == "postgresql":
            # Serialises concurrent first opens; released at commit.
            db.query("SELECT pg_advisory_xact_lock(727274)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            f"version INTEGER PRIMARY KEY, applied_at {types['real']} NOT NULL)"
        )
        rows = db.query("SELECT MAX(version) AS v FROM schema_version")
        current = rows[0]["v"] or 0
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                db.execute(statement.format(**types))
            db.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, time.time()),
            )
            current = version
    return current
