"""cron: manage a job or an environment line in a crontab, Ansible style.

A job is identified by the comment line above it, `#Ansible: <name>`, so playbooks
written for Ansible find and update the same entries. The user crontab is read with
`crontab -l` and written back whole with `crontab -` (content on stdin); with `cron_file`
the file under /etc/cron.d is edited instead (with a user column).
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.modules.fileops import read_file, write_file

MARKER = "#Ansible: "
_TIME_FIELD = re.compile(r"^[0-9A-Za-z*/,\-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NO_CRONTAB = re.compile(r"no crontab for", re.IGNORECASE)

SpecialTime = Literal[
    "reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly"
]


class Args(ModuleArgs):
    name: str
    job: str | None = Field(default=None, alias="value")
    state: Literal["present", "absent"] = "present"
    user: str | None = None
    minute: str = "*"
    hour: str = "*"
    day: str = "*"
    month: str = "*"
    weekday: str = "*"
    special_time: SpecialTime | None = None
    disabled: bool = False
    env: bool = False
    insertafter: str | None = None
    insertbefore: str | None = None
    cron_file: str | None = None

    @field_validator("minute", "hour", "day", "month", "weekday", mode="before")
    @classmethod
    def _time_field(cls, value: Any) -> Any:
        text = str(value).strip() if isinstance(value, int | str) else value
        if isinstance(text, str) and not _TIME_FIELD.match(text):
            raise ValueError(f"invalid cron time field {text!r}")
        return text

    @field_validator("name", "job", "user", "cron_file")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or "\r" in value):
            raise ValueError("must be a single line")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Args:
        if self.state == "present" and self.job is None:
            raise ValueError("'job' is required when state is present")
        if self.env and not _ENV_NAME.match(self.name):
            raise ValueError(f"invalid environment variable name {self.name!r}")
        if self.insertafter and self.insertbefore:
            raise ValueError("insertafter and insertbefore are mutually exclusive")
        if self.user is not None and not re.fullmatch(r"[A-Za-z0-9_.][A-Za-z0-9_.\-]*\$?",
                                                      self.user):
            raise ValueError(f"invalid user name {self.user!r}")
        return self


def job_line(args: Args, *, with_user: bool) -> str:
    user = f"{args.user or 'root'} " if with_user else ""
    if args.special_time:
        line = f"@{args.special_time} {user}{args.job}"
    else:
        times = " ".join((args.minute, args.hour, args.day, args.month, args.weekday))
        line = f"{times} {user}{args.job}"
    return f"#{line}" if args.disabled else line


def _edit_job(lines: list[str], args: Args, with_user: bool) -> list[str]:
    comment = f"{MARKER}{args.name}"
    found = lines.index(comment) if comment in lines else -1
    out = list(lines)
    if args.state == "absent":
        if found >= 0:
            del out[found : found + 2]
        return out
    wanted = job_line(args, with_user=with_user)
    if found < 0:
        return [*out, comment, wanted]
    if found + 1 < len(out):
        out[found + 1] = wanted
    else:
        out.append(wanted)
    return out


def _env_index(lines: list[str], name: str) -> int:
    return next((i for i, line in enumerate(lines) if line.startswith(f"{name}=")), -1)


def _edit_env(lines: list[str], args: Args) -> list[str]:
    out = list(lines)
    found = _env_index(out, args.name)
    if args.state == "absent":
        if found >= 0:
            del out[found]
        return out
    wanted = f"{args.name}={args.job}"
    if found >= 0:
        out[found] = wanted
        return out
    position = 0
    anchor = args.insertafter or args.insertbefore
    if anchor:
        at = _env_index(out, anchor)
        if at < 0:
            raise ModuleFailure(f"variable {anchor!r} was not found in the crontab")
        position = at + 1 if args.insertafter else at
    out.insert(position, wanted)
    return out


def _render(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def _cron_file_path(name: str) -> str:
    if name.startswith("/"):
        return name
    if "/" in name or name in ("", ".", ".."):
        raise ModuleFailure(f"invalid cron_file name {name!r}")
    return f"/etc/cron.d/{name}"


def _crontab_flags(args: Args) -> list[str]:
    return ["-u", args.user] if args.user else []


def _read_crontab(ctx: TaskContext, args: Args) -> str:
    done = ctx.run(["crontab", *_crontab_flags(args), "-l"])
    if done.rc == 0:
        return done.stdout
    if _NO_CRONTAB.search(done.stderr):
        return ""
    if done.rc == 127:
        raise ModuleFailure("crontab is not installed on the host (Debian: apt-get install cron)")
    raise ModuleFailure(f"crontab -l failed: {done.stderr.strip()}")


def _write_crontab(ctx: TaskContext, args: Args, text: str) -> None:
    command = shlex.join(["crontab", *_crontab_flags(args), "-"])
    done = ctx.run(command, stdin=text.encode())
    if done.rc != 0:
        raise ModuleFailure(f"crontab - failed: {done.stderr.strip()}")


def _names(lines: list[str]) -> tuple[list[str], list[str]]:
    jobs = [line[len(MARKER) :] for line in lines if line.startswith(MARKER)]
    envs = [
        line.split("=", 1)[0]
        for line in lines
        if "=" in line and _ENV_NAME.match(line.split("=", 1)[0])
    ]
    return jobs, envs


def run(ctx: TaskContext, args: Args) -> Result:
    path = _cron_file_path(args.cron_file) if args.cron_file else None
    if path:
        raw = read_file(ctx, path)
        before = raw.decode("utf-8", "replace") if raw is not None else ""
    else:
        before = _read_crontab(ctx, args)
    lines = before.splitlines()
    edited = _edit_env(lines, args) if args.env else _edit_job(lines, args, path is not None)
    after = _render(edited)
    changed = edited != lines
    if changed and not ctx.check_mode:
        if path and not edited:
            ctx.run(["rm", "-f", "--", path], check=True)
        elif path:
            write_file(ctx, path, after.encode(), mode="0644")
        else:
            _write_crontab(ctx, args, after)
    jobs, envs = _names(edited)
    diff = []
    if ctx.diff and changed:
        header = path or f"crontab ({args.user or 'current user'})"
        diff = [{"before": before, "after": after,
                 "before_header": header, "after_header": header}]
    data: dict[str, Any] = {"jobs": jobs, "envs": envs}
    if path:
        data["cron_file"] = path
    return Result(changed=changed, diff=diff, data=data)
