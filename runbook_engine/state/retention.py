"""Retention: remove old runs from the state store (`runbook prune`).

A scheduler that runs a health check every few minutes records hundreds of task results
an hour; without pruning the store only grows. A run goes with everything recorded for
it: its task results, saved variables, hosts and approvals. Some old runs are kept,
because something still reads them:

- a run still going (or holding a host lock);
- the newest run of each playbook, and of each schedule (`runbook schedules` shows it as
  the schedule's last result; it is the run an engineer resumes or retries);
- every run that a kept run resumed from, however old: `show` and `resume` read the
  whole chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runbook_engine.state.journal_spool import kept_aside_path, spool_path

if TYPE_CHECKING:
    from runbook_engine.state.db import Database
    from runbook_engine.state.store import Store

# Tables whose rows belong to one run, children before the run itself.
_RUN_TABLES = ("task_results", "host_vars", "run_hosts", "approvals", "runs")
_CHUNK = 500  # run ids per statement: far below every backend's parameter limit


@dataclass
class PruneResult:
    removed: list[str] = field(default_factory=list)  # run ids, oldest first
    task_results: int = 0
    kept_newest: list[str] = field(default_factory=list)  # old, but newest of their kind
    kept_resumed: list[str] = field(default_factory=list)  # old, but a kept run resumes them


def prune(store: Store, before: float, *, dry_run: bool = False) -> PruneResult:
    """Remove the runs that started before `before` (epoch seconds), except those kept
    (module docstring). With `dry_run`, only say what would go. The choice and the removal
    are one transaction, so a run that starts meanwhile is seen or waits."""
    db = store.db
    if dry_run:
        return _choose(db, before)
    with db.transaction():
        result = _choose(db, before)
        for chunk in _chunks(result.removed):
            marks = ", ".join("?" * len(chunk))
            for table in _RUN_TABLES:
                column = "id" if table == "runs" else "run_id"
                db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
    _remove_kept_aside_spools(store, result.removed)
    return result


def _choose(db: Database, before: float) -> PruneResult:
    runs = db.query("SELECT id, playbook, trigger_source, started_at, status, resumed_from"
                    " FROM runs ORDER BY started_at, id")
    locked = {r["run_id"] for r in db.query("SELECT DISTINCT run_id FROM host_locks")}
    old = [r["id"] for r in runs
           if r["started_at"] < before and r["status"] != "running" and r["id"] not in locked]
    newest = _newest_of_each_kind(runs)
    result = PruneResult(kept_newest=[i for i in old if i in newest])
    doomed = {i for i in old if i not in newest}
    resumed_from = {r["id"]: r["resumed_from"] for r in runs}
    for run_id in resumed_from:
        if run_id in doomed:
            continue
        ancestor, seen = resumed_from.get(run_id), set()
        while ancestor and ancestor not in seen:
            seen.add(ancestor)
            if ancestor in doomed:
                doomed.discard(ancestor)
                result.kept_resumed.append(ancestor)
            ancestor = resumed_from.get(ancestor)
    result.removed = [i for i in old if i in doomed]
    order = {run_id: n for n, run_id in enumerate(old)}
    result.kept_resumed.sort(key=order.__getitem__)
    for chunk in _chunks(result.removed):
        marks = ", ".join("?" * len(chunk))
        rows = db.query(f"SELECT COUNT(*) AS n FROM task_results WHERE run_id IN ({marks})",
                        chunk)
        result.task_results += int(rows[0]["n"])
    return result


def describe(result: PruneResult, before: str, *, dry_run: bool = False) -> list[str]:
    """What `prune` did, for a person: the removed runs, then those kept and why."""
    verb = "would remove" if dry_run else "removed"
    lines = [f"{verb} {len(result.removed)} run(s) started before {before} UTC, "
             f"with {result.task_results} task result(s)"]
    kept = len(result.kept_newest) + len(result.kept_resumed)
    if kept:
        lines.append(f"kept {kept} older run(s): {len(result.kept_newest)} the newest of "
                     f"their playbook or schedule, {len(result.kept_resumed)} resumed by a "
                     "run kept")
    return lines


def compact(store: Store) -> bool:
    """Give freed pages back to the file system. SQLite keeps them in the file for reuse;
    VACUUM rewrites it (waiting, within the busy timeout, for writers to finish).
    PostgreSQL's autovacuum does this itself: False, nothing done."""
    if store.db.dialect != "sqlite":
        return False
    store.db.execute("VACUUM")
    return True


def _newest_of_each_kind(runs: Iterable[dict[str, object]]) -> set[str]:
    """The newest run of each playbook and of each schedule (its runs' trigger is
    `schedule:<name>`). `runs` come oldest first: the last one seen of a kind is its newest."""
    newest: dict[tuple[str, object], str] = {}
    for r in runs:
        newest[("playbook", r["playbook"])] = str(r["id"])
        if str(r["trigger_source"] or "").startswith("schedule:"):
            newest[("schedule", r["trigger_source"])] = str(r["id"])
    return set(newest.values())


def _remove_kept_aside_spools(store: Store, run_ids: list[str]) -> None:
    """A spool that could not be folded is kept as `<id>.journal.unapplied` for a human to
    look at; once its run is pruned it explains nothing."""
    if store.journal_dir is None or not store.journal_dir.is_dir():
        return
    for run_id in run_ids:
        try:
            spool = spool_path(store.journal_dir, run_id)
        except ValueError:  # a run id no journal writer could have used
            continue
        kept_aside_path(spool).unlink(missing_ok=True)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]
