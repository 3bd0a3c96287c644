"""The journal's write-ahead file: each entry is on disk before the step it records goes on.

Written straight to the store, a run's journal cost two commits per task and host (the
start row before the task runs, the result after), 80-145 us each on a controller whose
hosts keep its cores busy: ~8% of a 50-host run's CPU. Instead, `JournalWriter` appends
each entry to a file with one write(2) and a thread folds what has accumulated into the
store every `FOLD_INTERVAL` seconds, in one transaction.

- **Crash guarantee**: an appended entry is in the kernel before `write` returns, so it
  outlives the controller process, as a SQLite commit with `synchronous = NORMAL` does
  (neither survives the machine losing power before the next checkpoint). A controller
  that dies leaves its file; the next open of the store folds it in
  (`Store.recover_interrupted`) before marking the run interrupted.
- **Replay is harmless**: entries carry their own sequence number and times, and the store
  applies one a second time as a no-op, so a file folded in part before a crash is folded
  again whole.
- **Readers** of the store (`runbook show`, the API) see a running run's rows up to
  `FOLD_INTERVAL` late; the run's own end folds everything before it is marked finished.

A store opened without a journal directory (`Store(db)`, used directly by library callers)
gets each entry in its own transaction, as before.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbook_engine.state.store import Store

FOLD_INTERVAL = 0.2
SPOOL_SUFFIX = ".journal"


def spool_path(journal_dir: Path, run_id: str) -> Path:
    """The run's spool file; a run id that would lead out of `journal_dir` is refused."""
    if not run_id or run_id.startswith(".") or "/" in run_id or "\0" in run_id:
        raise ValueError(f"run id {run_id!r} cannot name a journal file")
    return journal_dir / f"{run_id}{SPOOL_SUFFIX}"


def kept_aside_path(spool: Path) -> Path:
    """Where a spool that could not be folded is kept for a person to look at."""
    return spool.with_name(spool.name + ".unapplied")


def read_spool(path: Path) -> list[dict[str, Any]]:
    """The entries of a spool file, up to a last line the crash left half written."""
    entries: list[dict[str, Any]] = []
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                entries.append(json.loads(line))
            except ValueError:
                break
    return entries


class JournalWriter:
    """Entries of one run, to the store: through a spool file and batched folds, or
    straight (one transaction each) when the store has no journal directory."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._fd: int | None = None
        self._path: Path | None = None
        if store.journal_dir is not None:
            store.journal_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._path = spool_path(store.journal_dir, run_id)
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                               0o600)
        self._pending: list[dict[str, Any]] = []
        self._pending_lock = threading.Lock()
        self._stop = threading.Event()
        self._folder: threading.Thread | None = None
        self._fold_lock = threading.Lock()  # the folder thread and finish() never fold at once
        self._warned = False

    def write(self, entry: dict[str, Any]) -> None:
        if self._fd is None:
            self.store.apply_journal(self.run_id, [entry])
            return
        data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        while data:  # a regular file takes it all at once unless the disk is full
            data = data[os.write(self._fd, data):]
        with self._pending_lock:
            self._pending.append(entry)
            if self._folder is None:  # started by the first entry, once
                self._folder = threading.Thread(target=self._fold_every_interval,
                                                name="journal-fold", daemon=True)
                self._folder.start()

    def finish(self) -> None:
        """Fold what is left and stop the folder; the spool file stays until `discard`."""
        self._stop.set()
        with self._pending_lock:
            folder = self._folder
        if folder is not None:
            folder.join()
        self._fold()

    def discard(self) -> None:
        """Remove the spool file: call once the store holds everything (the run is ended)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    def _fold(self) -> None:
        with self._fold_lock:
            with self._pending_lock:
                entries, self._pending = self._pending, []
            if not entries:
                return
            try:
                self.store.apply_journal(self.run_id, entries)
            except BaseException:
                with self._pending_lock:  # the file still has them; so does memory, in order
                    self._pending[:0] = entries
                raise

    def _fold_every_interval(self) -> None:
        while not self._stop.wait(FOLD_INTERVAL):
            try:
                self._fold()
            except Exception as exc:  # kept for the next fold; the run goes on meanwhile
                if not self._warned:
                    self._warned = True
                    print(f"warning: journal: cannot write to the state store yet: {exc}",
                          file=sys.stderr)
