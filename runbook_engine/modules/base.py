"""The module contract: Args, TaskContext, Result.

```python
class Args(ModuleArgs):
    path: str
    state: Literal["present", "absent"] = "present"

def run(ctx: TaskContext, args: Args) -> Result: ...
```

Optional module-level names:
- `FREE_FORM = "cmd"`: a string given instead of a mapping (`command: echo hi`) goes to
  that argument; trailing `k=v` words naming other arguments are split off.
- `ON_CONTROLLER = True`: the module needs no connection (debug, set_fact, assert...).
- `RUN_ONCE = True`: the module runs on the first host of the batch only (pause, approve).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from runbook_engine.connection.base import CommandResult, Connection
from runbook_engine.errors import ModuleFailure

if TYPE_CHECKING:
    from runbook_engine.templating import Templar


class ModuleArgs(BaseModel):
    """Base of every module's arguments: unknown arguments are errors, not ignored."""

    # Numbers are accepted where text is expected (`line: 42`), as Ansible does.
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, coerce_numbers_to_str=True
    )


@dataclass(slots=True)
class Result:
    """What a module did on one host. `data` holds module-specific return values, which
    become keys of the registered variable (e.g. `stat`, `checksum`, `ansible_facts`)."""

    changed: bool = False
    failed: bool = False
    skipped: bool = False
    msg: str = ""
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    diff: list[dict[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    unreachable: bool = False

    def registered(self) -> dict[str, Any]:
        """The value `register:` stores, with Ansible's key names."""
        value: dict[str, Any] = dict(self.data)
        value.update(changed=self.changed, failed=self.failed, skipped=self.skipped)
        if self.msg:
            value["msg"] = self.msg
        if self.rc is not None:
            value["rc"] = self.rc
        if self.rc is not None or self.stdout or self.stderr:
            value["stdout"] = self.stdout
            value["stderr"] = self.stderr
            value["stdout_lines"] = self.stdout.splitlines()
            value["stderr_lines"] = self.stderr.splitlines()
        if self.diff:
            value["diff"] = self.diff
        if self.unreachable:
            value["unreachable"] = True
        return value


@dataclass(slots=True)
class Become:
    """Privilege escalation for a task: `sudo -u user` (password fed on stdin if given)."""

    user: str = "root"
    method: str = "sudo"
    password: str | None = None
    flags: str = ""


@dataclass
class TaskContext:
    """Everything a module may use. Modules talk to the host only through `run` and the
    file helpers built on it, so SSH and local behave the same."""

    host: str
    conn: Connection
    vars: Mapping[str, Any]
    templar: Templar | None = None
    check_mode: bool = False
    diff: bool = False
    become: Become | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    search_paths: Sequence[Path] = ()
    no_log: bool = False
    log: Callable[[str], None] = lambda _msg: None
    # Emit an event on the run's stream (e.g. `approval_requested`); masked by the executor.
    emit: Callable[..., None] = lambda _kind, **_data: None
    task_name: str = ""

    # -- commands ---------------------------------------------------------------
    def wrap(self, command: str, *, chdir: str | None = None) -> str:
        """Apply the task's environment, working directory and become to a command."""
        parts: list[str] = []
        if chdir:  # `||exit`, not `&&`: a multi-line script must not run elsewhere
            parts.append(f"cd {shlex.quote(chdir)} || exit 1;")
        if self.environment:
            parts.append(
                "export "
                + " ".join(f"{k}={shlex.quote(str(v))}" for k, v in self.environment.items())
                + " &&"
            )
        parts.append(command)
        command = " ".join(parts)
        if self.become is not None:
            command = _sudo(self.become, command)
        return command

    def run(
        self,
        command: str | Sequence[str],
        *,
        stdin: bytes | None = None,
        chdir: str | None = None,
        check: bool = False,
        text: bool = False,
    ) -> CommandResult:
        """Run a command on the host. A list is quoted word by word (the safe form).

        `text=True` for a module's own script whose output is a few lines of text (markers,
        `stat` fields), never NUL bytes nor file contents: over SSH the output then
        travels with the end of the reply, in one packet."""
        if not isinstance(command, str):
            command = shlex.join(str(c) for c in command)
        wrapped = self.wrap(command, chdir=chdir)
        if self.become is not None and self.become.password:
            stdin = self.become.password.encode() + b"\n" + (stdin or b"")
        result = self.conn.run(wrapped, stdin=stdin, timeout=self.timeout, text=text)
        if check and result.rc != 0:
            raise ModuleFailure(
                f"command failed (rc={result.rc}): {result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    # -- controller-side files (role-relative lookup) --------------------------
    def find_file(self, name: str, kind: str = "files") -> Path:
        """Find a controller file: absolute, or under `<search path>/<kind>/`, then
        `<search path>/`. Role paths come first, then the playbook's directory."""
        candidate = Path(name)
        if candidate.is_absolute():
            if candidate.exists():
                return candidate
            raise ModuleFailure(f"could not find {name!r} on the controller")
        for base in self.search_paths:
            for path in (base / kind / name, base / name):
                if path.exists():
                    return path
        looked = ", ".join(str(p / kind) for p in self.search_paths) or "(no search path)"
        raise ModuleFailure(f"could not find {name!r} in {looked}")

    def render(self, value: Any) -> Any:
        """Render a template value with this host's variables."""
        if self.templar is None:
            return value
        return self.templar.render(value, self.vars)


def _sudo(become: Become, command: str) -> str:
    """Wrap a command in sudo. With a password, the first stdin line carries it (see
    TaskContext.run); it is read by the shell and handed to sudo only if sudo asks, so a
    NOPASSWD rule or cached credentials never let the command read (and print) it."""
    if become.method != "sudo":
        raise ModuleFailure(f"become_method {become.method!r} is not supported (use sudo)")
    flags = f" {become.flags}" if become.flags else ""
    user = shlex.quote(become.user)
    inner = shlex.quote(command)
    if not become.password:
        return f"sudo -n{flags} -H -u {user} -- /bin/sh -c {inner}"
    return (
        "IFS= read -r _rb_pw; "
        f"if sudo -n -u {user} true 2>/dev/null; then "
        f"unset _rb_pw; exec sudo -n{flags} -H -u {user} -- /bin/sh -c {inner}; fi; "
        "{ printf '%s\\n' \"$_rb_pw\"; unset _rb_pw; exec cat; } | "
        f"sudo -S -p ''{flags} -H -u {user} -- /bin/sh -c {inner}"
    )


def fail(msg: str, **data: Any) -> Result:
    return Result(failed=True, msg=msg, data=data)
