"""Who this controller process is, and whether a recorded process is still alive.

A PID alone can be reused after a crash, so the process start time (Linux
/proc/PID/stat field 22) is recorded with it and must match too.
"""

from __future__ import annotations

import os
import pwd
import socket
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """A process as other processes can recognise it: controller, pid, start time."""

    controller: str
    pid: int
    start: str


def _stat_fields(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return text[text.rfind(")") + 2 :].split()


def process_start(pid: int) -> str:
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else ""


def controller_name() -> str:
    return socket.gethostname()


def current_process() -> ProcessIdentity:
    pid = os.getpid()
    return ProcessIdentity(controller_name(), pid, process_start(pid))


def current_user() -> str:
    """The account running us, from the uid (USER/LOGNAME are too easy to set).

    Under sudo, the person who ran sudo is the one to record (approvals name people).
    """
    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())
    sudo_user = os.environ.get("SUDO_USER")
    if os.geteuid() == 0 and sudo_user and sudo_user != name:
        return sudo_user
    return name


def is_dead(controller: str | None, pid: int | None, start: str | None) -> bool:
    """True only when we can tell for sure: same controller host and the process is gone."""
    if controller != controller_name() or not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    fields = _stat_fields(pid)
    if fields and fields[0] in ("Z", "X"):  # killed but not yet reaped by its parent
        return True
    recorded_start = fields[19] if len(fields) > 19 else ""
    return bool(start) and recorded_start not in ("", start)
