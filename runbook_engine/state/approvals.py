"""Approval gates, decided from any terminal: `runbook approve|deny RUN_ID [--step NAME]`.

The run records a pending request and polls for the decision; the decision (who, when,
why) stays in the store as part of the run's history. A decision may also be recorded
before the run reaches the step (a pre-approval).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from runbook_engine.errors import InputError
from runbook_engine.state.db import Database, IntegrityConflict
from runbook_engine.state.process import current_user

PENDING, APPROVED, DENIED, TIMEOUT = "pending", "approved", "denied", "timeout"


@dataclass(frozen=True, slots=True)
class Decision:
    """An approval step of a run and what was decided about it."""

    run_id: str
    step: str
    status: str  # pending | approved | denied | timeout
    message: str | None = None
    approvers: tuple[str, ...] = ()
    requested_at: float | None = None
    decided_by: str | None = None
    decided_at: float | None = None
    reason: str | None = None

    @property
    def approved(self) -> bool:
        return self.status == APPROVED

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Decision:
        approvers = tuple(json.loads(row["approvers"])) if row["approvers"] else ()
        return cls(row["run_id"], row["step"], row["status"], row["message"], approvers,
                   row["requested_at"], row["decided_by"], row["decided_at"], row["reason"])


class Approvals:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, run_id: str, step: str) -> Decision | None:
        rows = self.db.query(
            "SELECT * FROM approvals WHERE run_id = ? AND step = ?", (run_id, step))
        return Decision.from_row(rows[0]) if rows else None

    def list(self, run_id: str | None = None, status: str | None = None) -> list[Decision]:
        sql, params = "SELECT * FROM approvals WHERE 1 = 1", []
        if run_id:
            sql, params = sql + " AND run_id = ?", [*params, run_id]
        if status:
            sql, params = sql + " AND status = ?", [*params, status]
        rows = self.db.query(sql + " ORDER BY requested_at, step", params)
        return [Decision.from_row(row) for row in rows]

    def request(
        self, run_id: str, step: str, message: str = "", approvers: list[str] | None = None,
    ) -> Decision:
        """Record that the run waits at `step`; an earlier (pre-)decision is kept."""
        try:
            with self.db.transaction():
                existing = self.get(run_id, step)
                if existing is not None:
                    self.db.execute(
                        "UPDATE approvals SET message = ?, approvers = ?, requested_at = ?"
                        " WHERE run_id = ? AND step = ?",
                        (message, json.dumps(approvers or []), time.time(), run_id, step))
                else:
                    self.db.execute(
                        "INSERT INTO approvals (run_id, step, message, approvers, status,"
                        " requested_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (run_id, step, message, json.dumps(approvers or []), PENDING,
                         time.time()))
        except IntegrityConflict:
            pass  # a decision landed at the same instant: it wins
        decision = self.get(run_id, step)
        assert decision is not None
        return decision

    def decide(
        self, run_id: str, step: str | None, approve: bool, user: str | None = None,
        reason: str = "",
    ) -> Decision:
        user = user or current_user()
        with self.db.transaction():
            if step is None:
                pending = self.list(run_id, PENDING)
                if not pending:
                    raise InputError(f"run {run_id} is not waiting for an approval",
                                     hint="name the step with --step to decide it in advance")
                if len(pending) > 1:
                    steps = ", ".join(d.step for d in pending)
                    raise InputError(f"run {run_id} waits at several steps: {steps}",
                                     hint="choose one with --step NAME")
                step = pending[0].step
            existing = self.get(run_id, step)
            if existing is not None and existing.status != PENDING:
                raise InputError(
                    f"step {step!r} of run {run_id} is already {existing.status}"
                    + (f" by {existing.decided_by}" if existing.decided_by else ""))
            if existing is not None and existing.approvers and user not in existing.approvers:
                allowed = ", ".join(existing.approvers)
                raise InputError(f"user {user} may not decide step {step!r} (allowed: {allowed})")
            status = APPROVED if approve else DENIED
            now = time.time()
            if existing is None:
                self.db.execute(
                    "INSERT INTO approvals (run_id, step, status, decided_by, decided_at,"
                    " reason) VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, step, status, user, now, reason))
            else:
                self.db.execute(
                    "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?,"
                    " reason = ? WHERE run_id = ? AND step = ? AND status = ?",
                    (status, user, now, reason, run_id, step, PENDING))
        decision = self.get(run_id, step)
        assert decision is not None
        return decision

    def wait(self, run_id: str, step: str, timeout: float | None, poll: float = 0.5) -> Decision:
        """Block until the step is approved or denied, or `timeout` seconds pass."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            decision = self.get(run_id, step)
            if decision is not None and decision.status != PENDING:
                return decision
            if deadline is not None and time.monotonic() >= deadline:
                self.db.execute(
                    "UPDATE approvals SET status = ?, decided_at = ? WHERE run_id = ?"
                    " AND step = ? AND status = ?", (TIMEOUT, time.time(), run_id, step, PENDING))
                final = self.get(run_id, step)
                return final or Decision(run_id, step, TIMEOUT)
            remaining = poll if deadline is None else min(poll, deadline - time.monotonic())
            time.sleep(max(0.01, remaining))
