"""Host leases: one run at a time per host, across processes and controllers.

A lease is a row keyed by host (a primary key, so two writers can never both hold it).
Taking a set of hosts is one transaction: all or none. A lease is stale when its
holder process is dead on this same controller, or when it expired because nobody
renewed it; a stale lease is deleted (only if still the one we saw) and re-taken in the
same transaction, so two processes racing for it cannot both win.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runbook_engine.errors import RunbookError
from runbook_engine.state.db import Database, IntegrityConflict
from runbook_engine.state.process import current_process, current_user, is_dead

DEFAULT_TTL = 60.0


@dataclass(frozen=True, slots=True)
class LockRecord:
    """A host's lease: which run holds it, since when, until when."""

    host: str
    run_id: str
    playbook: str | None
    user: str | None
    controller: str | None
    pid: int | None
    acquired_at: float
    expires_at: float
    stale: bool

    @classmethod
    def from_row(cls, row: dict[str, Any], now: float) -> LockRecord:
        stale = row["expires_at"] < now or is_dead(row["controller"], row["pid"], row["pid_start"])
        return cls(row["host"], row["run_id"], row["playbook"], row["username"],
                   row["controller"], row["pid"], row["acquired_at"], row["expires_at"], stale)


class LockedError(RunbookError):
    """A host is leased by another live run."""

    def __init__(self, holder: LockRecord) -> None:
        self.holder = holder
        started = datetime.fromtimestamp(holder.acquired_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        self.message = (
            f"host {holder.host} is locked by run {holder.run_id} "
            f"(playbook {holder.playbook}, user {holder.user}, on {holder.controller}, "
            f"started {started} UTC)"
        )
        super().__init__(self.message)

    def render(self) -> str:
        return (f"error: {self.message}\n  hint: wait for it with --wait-lock SECONDS, "
                "or see `runbook locks`")


class HostLocks:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._held: dict[str, float] = {}  # run id -> ttl, renewed by the heartbeat
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(
        self,
        run_id: str,
        hosts: list[str],
        playbook: str | None = None,
        user: str | None = None,
        ttl: float = DEFAULT_TTL,
        wait: float = 0.0,
        poll: float = 0.5,
    ) -> None:
        """Lease every host for `run_id`, or raise LockedError naming the holder.

        With `wait` > 0, keep trying that many seconds. Hosts this run already holds are
        renewed. A heartbeat thread renews the leases until `release(run_id)`.
        """
        deadline = time.monotonic() + wait
        while True:
            holder = self._try_acquire(run_id, sorted(set(hosts)), playbook, user, ttl)
            if holder is None:
                self._start_heartbeat(run_id, ttl)
                return
            if time.monotonic() + poll > deadline:
                raise LockedError(holder)
            time.sleep(poll)

    def _try_acquire(
        self, run_id: str, hosts: list[str], playbook: str | None, user: str | None, ttl: float,
    ) -> LockRecord | None:
        if not hosts:
            return None
        me = current_process()
        for _ in range(20):
            try:
                with self.db.transaction():
                    now = time.time()
                    marks = ", ".join("?" for _ in hosts)
                    rows = self.db.query(
                        f"SELECT * FROM host_locks WHERE host IN ({marks})", hosts)
                    existing = {r["host"]: r for r in rows}
                    for row in rows:
                        record = LockRecord.from_row(row, now)
                        if row["run_id"] != run_id and not record.stale:
                            return record
                    for host in hosts:
                        row = existing.get(host)
                        if row is not None and row["run_id"] == run_id:
                            self.db.execute(
                                "UPDATE host_locks SET expires_at = ? WHERE host = ?"
                                " AND run_id = ?", (now + ttl, host, run_id))
                            continue
                        if row is not None:  # stale: take it over only if unchanged
                            self.db.execute(
                                "DELETE FROM host_locks WHERE host = ? AND run_id = ?"
                                " AND expires_at = ?", (host, row["run_id"], row["expires_at"]))
                        self.db.execute(
                            "INSERT INTO host_locks (host, run_id, playbook, username,"
                            " controller, pid, pid_start, acquired_at, expires_at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (host, run_id, playbook, user or current_user(), me.controller,
                             me.pid, me.start, now, now + ttl),
                        )
                    return None
            except IntegrityConflict:
                continue  # another process took a host between our read and write: look again
        raise RunbookError("could not take host locks: too much contention")

    def renew(self, run_id: str, ttl: float = DEFAULT_TTL) -> int:
        return self.db.execute(
            "UPDATE host_locks SET expires_at = ? WHERE run_id = ?", (time.time() + ttl, run_id))

    def release(self, run_id: str) -> None:
        with self._held_lock:
            self._held.pop(run_id, None)
        self.db.execute("DELETE FROM host_locks WHERE run_id = ?", (run_id,))

    def list(self) -> list[LockRecord]:
        now = time.time()
        rows = self.db.query("SELECT * FROM host_locks ORDER BY host")
        return [LockRecord.from_row(row, now) for row in rows]

    # -- heartbeat ------------------------------------------------------------------
    def _start_heartbeat(self, run_id: str, ttl: float) -> None:
        with self._held_lock:
            self._held[run_id] = ttl
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._heartbeat, name="runbook-lock-heartbeat", daemon=True)
                self._thread.start()

    def _heartbeat(self) -> None:
        while True:
            with self._held_lock:
                held = dict(self._held)
            interval = min(held.values(), default=DEFAULT_TTL) / 3
            if self._stop.wait(max(0.2, interval)):
                return
            for run_id, ttl in held.items():
                try:
                    self.renew(run_id, ttl)
                except Exception:  # a lost database must not kill the run; the lease expires
                    pass

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
