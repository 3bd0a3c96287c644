"""service: a real SysV init script (this machine has no systemd) starting a real
HTTP server on a loopback port. Over SSH the module runs through sudo (become)."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import Become, TaskContext
from tests.fixtures._processes import free_port
from tests.harness import Target, make_ctx, run_module

PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

INIT_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: runbook-engine test service
### END INIT INFO
PIDFILE=/run/{name}.pid
running() {{ [ -f $PIDFILE ] && kill -0 "$(cat $PIDFILE)" 2>/dev/null; }}
case "$1" in
  start)
    running && exit 0
    setsid {python} -c 'import os, runpy, sys
open(sys.argv[1], "w").write(str(os.getpid()))
sys.argv = ["http.server", "{port}", "--bind", "127.0.0.1", "--directory", "/var/empty"]
runpy.run_module("http.server", run_name="__main__")' $PIDFILE >/dev/null 2>&1 </dev/null &
    ;;
  stop)
    if running; then
      pid=$(cat $PIDFILE); kill "$pid"
      n=0; while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
    fi
    rm -f $PIDFILE
    ;;
  restart) "$0" stop; "$0" start ;;
  reload) running && touch /run/{name}.reloaded ;;
  status) running || exit 3 ;;
  *) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
"""


@dataclass
class InitService:
    name: str
    port: int

    @property
    def pidfile(self) -> Path:
        return Path(f"/run/{self.name}.pid")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def wait_until(self, up: bool, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while self.answers() != up:
            assert time.monotonic() < deadline, f"port {self.port} never became {up}"
            time.sleep(0.05)

    def boot_links(self) -> list[Path]:
        return sorted(Path("/etc").glob(f"rc[2345].d/S[0-9][0-9]{self.name}"))


@pytest.fixture
def init_service() -> Iterator[InitService]:
    if shutil.which("update-rc.d") is None or Path("/run/systemd/system").exists():
        pytest.skip("needs a SysV-init machine with update-rc.d")
    service = InitService(f"rbtest-{secrets.token_hex(4)}", free_port())
    script = Path(f"/etc/init.d/{service.name}")
    script.write_text(INIT_SCRIPT.format(name=service.name, port=service.port, python=PYTHON))
    script.chmod(0o755)
    try:
        yield service
    finally:
        subprocess.run([str(script), "stop"], check=False, capture_output=True, timeout=30)
        if service.pidfile.exists():  # belt and braces: never leave the server behind
            subprocess.run(["kill", service.pidfile.read_text().strip()], check=False)
        subprocess.run(["update-rc.d", "-f", service.name, "remove"],
                       check=False, capture_output=True)
        script.unlink()
        for leftover in (service.pidfile, Path(f"/run/{service.name}.reloaded")):
            leftover.unlink(missing_ok=True)


def _ctx(target: Target, **kw: bool) -> TaskContext:
    become = None if target.name == "localhost" else Become()
    return make_ctx(target, become=become, **kw)


def test_started_and_stopped_are_idempotent(target: Target, init_service: InitService) -> None:
    args = {"name": init_service.name, "state": "started"}
    started = run_module("service", _ctx(target), args)
    assert started.changed and started.data["state"] == "started"
    init_service.wait_until(up=True)
    assert not run_module("service", _ctx(target), args).changed
    preview = run_module("service", _ctx(target, check=True),
                         {"name": init_service.name, "state": "stopped"})
    assert preview.changed and init_service.answers()
    stopped = run_module("service", _ctx(target), {"name": init_service.name, "state": "stopped"})
    assert stopped.changed and stopped.data["state"] == "stopped"
    init_service.wait_until(up=False)
    again = run_module("service", _ctx(target), {"name": init_service.name, "state": "stopped"})
    assert not again.changed


def test_restarted_and_reloaded(target: Target, init_service: InitService) -> None:
    run_module("service", _ctx(target), {"name": init_service.name, "state": "started"})
    init_service.wait_until(up=True)
    first_pid = init_service.pidfile.read_text()
    restarted = run_module("service", _ctx(target),
                           {"name": init_service.name, "state": "restarted"})
    assert restarted.changed
    init_service.wait_until(up=True)
    assert init_service.pidfile.read_text() != first_pid
    reloaded = run_module("service", _ctx(target),
                          {"name": init_service.name, "state": "reloaded"})
    assert reloaded.changed and Path(f"/run/{init_service.name}.reloaded").exists()


def test_enabled_at_boot(target: Target, init_service: InitService) -> None:
    enabled = run_module("service", _ctx(target), {"name": init_service.name, "enabled": True})
    assert enabled.changed and enabled.data["enabled"] is True
    assert init_service.boot_links()
    assert not init_service.answers()  # enabling does not start it
    assert not run_module("service", _ctx(target),
                          {"name": init_service.name, "enabled": True}).changed
    disabled = run_module("service", _ctx(target), {"name": init_service.name, "enabled": False})
    assert disabled.changed and not init_service.boot_links()


def test_unknown_service_and_bad_names(target: Target) -> None:
    with pytest.raises(ModuleFailure, match="Could not find the requested service"):
        run_module("service", _ctx(target), {"name": "no-such-service-rb", "state": "started"})
    canary = f"{target.scratch}/canary"
    with pytest.raises(ValidationError):
        run_module("service", _ctx(target), {"name": f"x;touch {canary}", "state": "started"})
    assert target.conn.run(f"test -e {canary}").rc != 0
