"""Durable runs: the run-history store, resume points, host locks and approvals."""

from runbook_engine.state.approvals import Decision
from runbook_engine.state.locks import LockedError, LockRecord
from runbook_engine.state.store import (
    HostProgress,
    ResumeState,
    RunRecord,
    Store,
    file_sha256,
    new_run_id,
    open_store,
)

__all__ = [
    "Decision",
    "HostProgress",
    "LockRecord",
    "LockedError",
    "ResumeState",
    "RunRecord",
    "Store",
    "file_sha256",
    "new_run_id",
    "open_store",
]
