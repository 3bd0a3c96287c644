"""cron: real crontabs edited with crontab -l / crontab -, Ansible's `#Ansible:` markers."""

from __future__ import annotations

import secrets
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from tests.harness import Target, make_ctx, run_module

pytestmark = pytest.mark.skipif(shutil.which("crontab") is None, reason="cron not installed")


@pytest.fixture
def crontab(target: Target) -> Iterator[tuple[dict[str, Any], Callable[[], str]]]:
    """(extra args, read the crontab): a throwaway user locally (via `user`), the SSH
    test user's own crontab over SSH. Removed at the end either way."""
    if target.name == "localhost":
        user = f"rbcron{secrets.token_hex(3)}"
        subprocess.run(["useradd", "-M", "-r", "-s", "/usr/sbin/nologin", user], check=True)
        extra: dict[str, Any] = {"user": user}
        flags = f"-u {user} "
    else:
        user, extra, flags = "", {}, ""

    def read() -> str:
        return target.conn.run(f"crontab {flags}-l 2>/dev/null").stdout

    try:
        yield extra, read
    finally:
        target.conn.run(f"crontab {flags}-r 2>/dev/null")
        if user:
            subprocess.run(["userdel", user], check=False)


def test_add_update_idempotent_and_remove(target: Target, crontab: Any) -> None:
    extra, read = crontab
    args = {**extra, "name": "nightly backup", "minute": "15", "hour": 3,
            "job": "/usr/local/bin/backup --all"}
    added = run_module("cron", make_ctx(target, diff=True), args)
    assert added.changed and added.data["jobs"] == ["nightly backup"]
    assert read() == "#Ansible: nightly backup\n15 3 * * * /usr/local/bin/backup --all\n"
    assert added.diff[0]["before"] == ""
    assert "15 3 * * *" in added.diff[0]["after"]
    assert not run_module("cron", make_ctx(target), args).changed
    moved = run_module("cron", make_ctx(target), {**args, "hour": "4", "disabled": True})
    assert moved.changed
    assert read() == "#Ansible: nightly backup\n#15 4 * * * /usr/local/bin/backup --all\n"
    removed = run_module("cron", make_ctx(target),
                         {**extra, "name": "nightly backup", "state": "absent"})
    assert removed.changed and read() == ""
    assert not run_module("cron", make_ctx(target),
                          {**extra, "name": "nightly backup", "state": "absent"}).changed


def test_foreign_lines_special_time_and_env_are_kept(target: Target, crontab: Any) -> None:
    extra, read = crontab
    flags = shlex.join(["-u", extra["user"]]) if extra else ""
    target.conn.run(f"crontab {flags} -", stdin=b"# mine\n0 0 * * * /bin/true\n")
    run_module("cron", make_ctx(target),
               {**extra, "name": "at boot", "special_time": "reboot", "job": "/bin/start"})
    env = run_module("cron", make_ctx(target),
                     {**extra, "name": "MAILTO", "env": True, "job": "ops@example.com"})
    assert env.changed and env.data["envs"] == ["MAILTO"]
    run_module("cron", make_ctx(target),
               {**extra, "name": "PATH", "env": True, "job": "/usr/bin:/bin",
                "insertafter": "MAILTO"})
    assert read() == (
        "MAILTO=ops@example.com\nPATH=/usr/bin:/bin\n# mine\n0 0 * * * /bin/true\n"
        "#Ansible: at boot\n@reboot /bin/start\n"
    )
    gone = run_module("cron", make_ctx(target),
                      {**extra, "name": "MAILTO", "env": True, "state": "absent"})
    assert gone.changed and "MAILTO" not in read()


def test_check_mode_changes_nothing(target: Target, crontab: Any) -> None:
    extra, read = crontab
    result = run_module("cron", make_ctx(target, check=True, diff=True),
                        {**extra, "name": "x", "job": "/bin/true"})
    assert result.changed and "/bin/true" in result.diff[0]["after"]
    assert read() == ""


def test_job_with_shell_metacharacters_is_stored_not_run(target: Target, crontab: Any) -> None:
    extra, read = crontab
    canary = f"{target.scratch}/canary"
    job = f"echo '$(touch {canary})' `touch {canary}`; touch {canary} && x=\"$HOME\""
    run_module("cron", make_ctx(target), {**extra, "name": "tricky'; $(id)", "job": job})
    assert read() == f"#Ansible: tricky'; $(id)\n* * * * * {job}\n"
    assert target.conn.run(f"test -e {canary}").rc != 0


def test_invalid_input_is_refused(target: Target) -> None:
    for bad in ({"name": "a", "job": "x", "minute": "1 2"},
                {"name": "a", "job": "x\n* * * * * evil"},
                {"name": "a"},
                {"name": "BAD NAME", "env": True, "job": "1"}):
        with pytest.raises(ValidationError):
            run_module("cron", make_ctx(target), bad)


def test_cron_file_in_cron_d(target: Target) -> None:
    if target.name != "localhost":
        pytest.skip("writing /etc/cron.d needs root: covered by the local half")
    name = f"rbtest-{secrets.token_hex(3)}"
    path = f"/etc/cron.d/{name}"
    try:
        args = {"name": "rotate", "cron_file": name, "user": "nobody",
                "minute": "*/5", "job": "/bin/true"}
        assert run_module("cron", make_ctx(target), args).changed
        with open(path) as f:
            assert f.read() == "#Ansible: rotate\n*/5 * * * * nobody /bin/true\n"
        assert not run_module("cron", make_ctx(target), args).changed
        run_module("cron", make_ctx(target),
                   {"name": "rotate", "cron_file": name, "state": "absent"})
        assert target.conn.run(f"test -e {path}").rc != 0
    finally:
        subprocess.run(["rm", "-f", path], check=False)
