"""The run-history store: runs, per host+task results, saved variables for resume.

`open_store()` picks the backend: PostgreSQL when `RUNBOOK_STATE_URL` (or `url`) is a
postgresql:// URL, else SQLite at `$RUNBOOK_STATE_DIR/state.db` or `./.runbook/state.db`.
Opening a store migrates the schema and marks runs whose controller process died as
`interrupted` (with their in-flight tasks).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError
from runbook_engine.state.approvals import Approvals, Decision
from runbook_engine.state.db import Database, PostgresDatabase, SqliteDatabase
from runbook_engine.state.journal_spool import (
    SPOOL_SUFFIX,
    kept_aside_path,
    read_spool,
    spool_path,
)
from runbook_engine.state.locks import HostLocks
from runbook_engine.state.process import current_process, current_user, is_dead
from runbook_engine.state.schema import migrate

SUCCEEDED = ("ok", "changed", "skipped")
RUN_STATUSES = ("running", "ok", "failed", "interrupted")


def new_run_id() -> str:
    """Sortable by start time, short enough to type: 20261126-072500-3fa9c1."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def dumps(value: Any) -> str:
    try:
        return json.dumps(value, default=str, sort_keys=True)
    except TypeError:  # keys JSON cannot sort or hold (mixed types, tuples): make them text
        return json.dumps(_text_keys(value), default=str, sort_keys=True)


def _text_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_text_keys(v) for v in value]
    return value


def _loads(text: str | None, default: Any = None) -> Any:
    return default if text in (None, "") else json.loads(text)


@dataclass(slots=True)
class RunRecord:
    """One row of the run history."""

    id: str
    playbook: str
    playbook_sha256: str | None
    inventory: str | None
    limit: str | None
    tags: list[str]
    skip_tags: list[str]
    check: bool
    diff: bool
    extra_vars: dict[str, Any]
    params: dict[str, Any]
    user: str | None
    controller: str | None
    pid: int | None
    started_at: float
    ended_at: float | None
    status: str
    exit_code: int | None
    trigger: str | None
    resumed_from: str | None
    stats: dict[str, Any]
    hosts: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: dict[str, Any], hosts: list[str]) -> RunRecord:
        return cls(
            id=row["id"], playbook=row["playbook"], playbook_sha256=row["playbook_sha256"],
            inventory=row["inventory"], limit=row["limit_pattern"],
            tags=_loads(row["tags"], []), skip_tags=_loads(row["skip_tags"], []),
            check=bool(row["check_mode"]), diff=bool(row["diff_mode"]),
            extra_vars=_loads(row["extra_vars"], {}), params=_loads(row["params"], {}),
            user=row["username"], controller=row["controller"], pid=row["pid"],
            started_at=row["started_at"], ended_at=row["ended_at"], status=row["status"],
            exit_code=row["exit_code"], trigger=row["trigger_source"],
            resumed_from=row["resumed_from"], stats=_loads(row["stats"], {}), hosts=hosts,
        )

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


@dataclass(slots=True)
class HostProgress:
    """What resume needs for one host: tasks already done, and the variables they made."""

    completed: list[str] = field(default_factory=list)
    registered: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    interrupted: list[str] = field(default_factory=list)
    failed: bool = False


@dataclass(slots=True)
class ResumeState:
    """Where each host of a run (and the runs it resumed) stopped."""

    run: RunRecord
    hosts: dict[str, HostProgress]
    chain: list[str]  # run ids, oldest first, whose results this state merges

    @property
    def failed_hosts(self) -> list[str]:
        """Hosts whose latest attempt failed or was unreachable (for retry --failed-hosts)."""
        return sorted(host for host, progress in self.hosts.items() if progress.failed)

    def playbook_changed(self, current_sha256: str) -> bool:
        return bool(self.run.playbook_sha256) and self.run.playbook_sha256 != current_sha256


class Store:
    def __init__(self, db: Database, *, journal_dir: Path | None = None) -> None:
        """`journal_dir` holds runs' journal spool files (`state/journal_spool.py`); a
        store opened without one gets each journal entry in its own transaction."""
        self.db = db
        self.journal_dir = journal_dir
        migrate(db)
        self.locks = HostLocks(db)
        self.approvals = Approvals(db)
        self.recovered = self.recover_interrupted()

    def close(self) -> None:
        self.locks.stop_heartbeat()
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- approvals (the `approve` module polls these) -----------------------------
    def request_approval(
        self, run_id: str, step: str, message: str = "", approvers: list[str] | None = None,
    ) -> Decision:
        return self.approvals.request(run_id, step, message, approvers)

    def wait_for_approval(
        self, run_id: str, step: str, timeout: float | None, poll: float = 0.5,
    ) -> Decision:
        """Block until approved/denied from any terminal, or `status == "timeout"`."""
        return self.approvals.wait(run_id, step, timeout, poll)

    # -- runs ---------------------------------------------------------------------
    def start_run(
        self,
        run_id: str,
        *,
        playbook: str,
        playbook_sha256: str | None = None,
        inventory: str | None = None,
        limit: str | None = None,
        tags: list[str] | None = None,
        skip_tags: list[str] | None = None,
        check: bool = False,
        diff: bool = False,
        extra_vars: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        user: str | None = None,
        trigger: str = "cli",
        resumed_from: str | None = None,
    ) -> None:
        me = current_process()
        self.db.execute(
            "INSERT INTO runs (id, playbook, playbook_sha256, inventory, limit_pattern, tags,"
            " skip_tags, check_mode, diff_mode, extra_vars, params, username, controller, pid,"
            " pid_start, started_at, status, trigger_source, resumed_from)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
            (
                run_id, playbook, playbook_sha256, inventory, limit, dumps(list(tags or [])),
                dumps(list(skip_tags or [])), check, diff, dumps(extra_vars or {}),
                dumps(params or {}), user or current_user(), me.controller, me.pid, me.start,
                time.time(), trigger, resumed_from,
            ),
        )

    def add_run_hosts(self, run_id: str, hosts: list[str]) -> None:
        with self.db.transaction():
            known = {r["host"] for r in self.db.query(
                "SELECT host FROM run_hosts WHERE run_id = ?", (run_id,))}
            for host in dict.fromkeys(hosts):
                if host not in known:
                    self.db.execute(
                        "INSERT INTO run_hosts (run_id, host) VALUES (?, ?)", (run_id, host))

    def finish_run(
        self, run_id: str, *, exit_code: int, stats: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> None:
        if status is None:
            status = "ok" if exit_code == 0 else "interrupted" if exit_code == 130 else "failed"
        with self.db.transaction():
            self.db.execute(
                "UPDATE runs SET status = ?, exit_code = ?, ended_at = ?, stats = ? WHERE id = ?",
                (status, exit_code, time.time(), dumps(stats or {}), run_id),
            )
            self.db.execute(
                "UPDATE task_results SET status = 'interrupted', ended_at = ?"
                " WHERE run_id = ? AND status = 'running'",
                (time.time(), run_id),
            )

    def recover_interrupted(self) -> list[str]:
        """Runs left `running` by a controller process that died are `interrupted` now."""
        rows = self.db.query(
            "SELECT id, controller, pid, pid_start FROM runs WHERE status = 'running'")
        dead = [r["id"] for r in rows if is_dead(r["controller"], r["pid"], r["pid_start"])]
        for run_id in dead:
            spool = self._spool_of(run_id)
            if spool is not None:  # what the dead controller journaled but had not folded
                spool = self._fold_spool(run_id, spool)
            self.finish_run(run_id, exit_code=130, status="interrupted")
            self.locks.release(run_id)
            if spool is not None:
                spool.unlink(missing_ok=True)
        self._remove_folded_spools()
        return dead

    def _fold_spool(self, run_id: str, spool: Path) -> Path | None:
        """Fold a dead run's spool; returns it for removal. One that cannot be folded must
        not stop every later command from opening the store: it is kept aside, named in a
        warning, and the run is still marked interrupted."""
        try:
            self.apply_journal(run_id, read_spool(spool))
            return spool
        except Exception as exc:
            kept = kept_aside_path(spool)
            spool.replace(kept)
            print(f"warning: run {run_id}: its journal spool could not be folded into the "
                  f"state store ({type(exc).__name__}: {exc}); its last steps may be missing "
                  f"from the history. The spool is kept as {kept}", file=sys.stderr)
            return None

    def _remove_folded_spools(self) -> None:
        """A controller that died after its run was marked ended, but before it removed
        its spool, left a file the store already holds: remove it. Spools of runs this
        store does not know (another PostgreSQL database's) are left alone."""
        if self.journal_dir is None or not self.journal_dir.is_dir():
            return
        for path in self.journal_dir.glob(f"*{SPOOL_SUFFIX}"):
            rows = self.db.query("SELECT status FROM runs WHERE id = ?",
                                 (path.name.removesuffix(SPOOL_SUFFIX),))
            if rows and rows[0]["status"] != "running":
                path.unlink(missing_ok=True)

    def _spool_of(self, run_id: str) -> Path | None:
        if self.journal_dir is None:
            return None
        try:
            path = spool_path(self.journal_dir, run_id)
        except ValueError:  # a run id no journal writer could have used
            return None
        return path if path.exists() else None

    def get_run(self, run_id: str) -> RunRecord:
        if run_id == "last":
            rows = self.db.query("SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT 1")
        else:
            rows = self.db.query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise InputError(f"no run with id {run_id!r} in the state store",
                             hint="`runbook history` lists recorded runs")
        return self._record(rows[0])

    def _record(self, row: dict[str, Any]) -> RunRecord:
        hosts = [r["host"] for r in self.db.query(
            "SELECT host FROM run_hosts WHERE run_id = ? ORDER BY host", (row["id"],))]
        return RunRecord.from_row(row, hosts)

    def list_runs(
        self,
        *,
        playbook: str | None = None,
        host: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        where: list[str] = []
        params: list[Any] = []
        if playbook:
            where.append("(playbook = ? OR playbook LIKE ?)")
            params += [playbook, f"%/{playbook}"]
        if host:
            where.append("id IN (SELECT run_id FROM run_hosts WHERE host = ?)")
            params.append(host)
        if status:
            where.append("status = ?")
            params.append(status)
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        if until is not None:
            where.append("started_at <= ?")
            params.append(until)
        sql = "SELECT * FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC LIMIT ?"
        params.append(int(limit))
        return [self._record(row) for row in self.db.query(sql, params)]

    # -- per host + task results --------------------------------------------------
    def apply_journal(self, run_id: str, entries: list[dict[str, Any]]) -> None:
        """Write journal entries of a run, in order, in one transaction.

        An entry is a task starting on a host (`kind` "start": a `running` row) or its
        result (`kind` "result": that row finished, with the variables it saved). Each
        names its row by `seq`, unique in its run, and carries its own times, so applying
        an entry again changes nothing: a spool folded in part before a crash is folded
        again whole (`state/journal_spool.py`).
        """
        with self.db.transaction():
            for entry in entries:
                if entry["kind"] == "start":
                    self._start_row(run_id, entry)
                else:
                    self._finish_row(run_id, entry)

    def _start_row(self, run_id: str, entry: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO task_results (run_id, seq, host, play, task_id, task_name, module,"
            " position, handler, status, attempt, rerun_after_crash, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)"
            " ON CONFLICT (run_id, seq) DO NOTHING",
            (run_id, entry["seq"], entry["host"], entry.get("play"), entry["task_id"],
             entry.get("task_name"), entry.get("module"), entry.get("position"),
             bool(entry.get("handler")), int(entry.get("attempt") or 1),
             bool(entry.get("rerun_after_crash")), entry["time"]),
        )

    def _finish_row(self, run_id: str, entry: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE task_results SET status = ?, changed = ?, rc = ?, msg = ?, stdout = ?,"
            " stderr = ?, diff = ?, item = ?, ignored = ?, rescued = ?, ended_at = ?,"
            " duration = ? WHERE run_id = ? AND seq = ?",
            (entry["status"], bool(entry.get("changed")), entry.get("rc"), entry.get("msg", ""),
             entry.get("stdout", ""), entry.get("stderr", ""), entry.get("diff"),
             entry.get("item"), bool(entry.get("ignored")), bool(entry.get("rescued")),
             entry["time"], entry.get("duration"), run_id, entry["seq"]),
        )
        # Saved for resume: registered variables (kind "registered") and facts ("fact"),
        # each value as JSON text, ordered by the time the result came.
        for kind, name, value in entry.get("vars") or ():
            self.db.execute(
                "INSERT INTO host_vars (run_id, host, kind, name, value, seq)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, host, kind, name)"
                " DO UPDATE SET value = excluded.value, seq = excluded.seq",
                (run_id, entry["host"], kind, name, value, entry["vars_seq"]),
            )

    def task_rows(self, run_id: str, host: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM task_results WHERE run_id = ?"
        params: list[Any] = [run_id]
        if host:
            sql += " AND host = ?"
            params.append(host)
        rows = self.db.query(sql + " ORDER BY id", params)
        for row in rows:
            row["diff"] = _loads(row["diff"], [])
            for flag in ("changed", "handler", "ignored", "rescued", "rerun_after_crash"):
                row[flag] = bool(row[flag])
        return rows

    def was_interrupted(self, run_ids: list[str], host: str, task_id: str) -> bool:
        """Was this task in flight on this host when an earlier run of the chain died?"""
        if not run_ids:
            return False
        marks = ", ".join("?" for _ in run_ids)
        rows = self.db.query(
            f"SELECT status FROM task_results WHERE run_id IN ({marks}) AND host = ?"
            " AND task_id = ? ORDER BY id DESC LIMIT 1", (*run_ids, host, task_id))
        return bool(rows) and rows[0]["status"] == "interrupted"

    # -- resume -------------------------------------------------------------------
    def resume_chain(self, run_id: str) -> list[str]:
        """The run and the runs it resumed, oldest first."""
        chain: list[str] = []
        current: str | None = run_id
        while current and current not in chain:
            chain.append(current)
            rows = self.db.query("SELECT resumed_from FROM runs WHERE id = ?", (current,))
            current = rows[0]["resumed_from"] if rows else None
        return list(reversed(chain))

    def resume_state(self, run_id: str) -> ResumeState:
        """Per host: task ids that succeeded (in order) and the vars to restore."""
        run = self.get_run(run_id)
        chain = self.resume_chain(run.id)
        hosts: dict[str, HostProgress] = {h: HostProgress() for h in run.hosts}
        for member in chain:
            # A task is done on a host when every row of it (one per loop item) succeeded.
            outcome: dict[tuple[str, str], bool] = {}
            for row in self.task_rows(member):
                progress = hosts.setdefault(row["host"], HostProgress())
                done = row["status"] in SUCCEEDED or row["ignored"] or row["rescued"]
                key = (row["host"], row["task_id"])
                outcome[key] = outcome.get(key, True) and done
                if row["status"] == "interrupted":
                    progress.interrupted.append(row["task_id"])
                # The latest attempt decides: a failure later fixed by a resume is not failed.
                progress.failed = row["status"] in ("failed", "unreachable") and not done
            for (host, task_id), done in outcome.items():
                completed = hosts[host].completed
                if done and task_id not in completed:
                    completed.append(task_id)
            for row in self.db.query(
                "SELECT host, kind, name, value FROM host_vars WHERE run_id = ? ORDER BY seq",
                (member,),
            ):
                progress = hosts.setdefault(row["host"], HostProgress())
                target = progress.registered if row["kind"] == "registered" else progress.facts
                target[row["name"]] = json.loads(row["value"])
        return ResumeState(run, hosts, chain)


def file_sha256(path: str | Path) -> str:
    """The checksum recorded for a playbook (resume refuses a changed one)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_sqlite_path() -> Path:
    state_dir = os.environ.get("RUNBOOK_STATE_DIR")
    return (Path(state_dir) if state_dir else Path.cwd() / ".runbook") / "state.db"


def open_store(url: str | None = None) -> Store:
    """Open (and migrate) the state store named by `url`, `RUNBOOK_STATE_URL` or the default."""
    url = url or os.environ.get("RUNBOOK_STATE_URL") or ""
    if url.startswith(("postgresql://", "postgres://")):
        # The spool files stay on this machine, where a dead controller can be recognised.
        return Store(PostgresDatabase(url), journal_dir=default_sqlite_path().parent / "journal")
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite://"))
        return Store(SqliteDatabase(path), journal_dir=path.parent / "journal")
    if url:
        raise InputError(
            "RUNBOOK_STATE_URL must start with postgresql:// or sqlite:///",
            hint="leave it unset to use the SQLite file in the state directory",
        )
    path = default_sqlite_path()
    return Store(SqliteDatabase(path), journal_dir=path.parent / "journal")
