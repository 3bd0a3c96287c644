"""`mariadb_server`: a real MariaDB on 127.0.0.1 for the mysqldump path of the backup
modules (only these tests need it). Session-scoped, ready when `mariadb-admin ping`
answers on TCP, stopped by PID (SIGTERM, 10 s grace, then SIGKILL)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures._processes import free_port, stop_process

BACKUP_USER = "backup"
BACKUP_PASSWORD = "b4ckup-pw-7731"


@dataclass(frozen=True, slots=True)
class MariaDB:
    host: str
    port: int
    socket: str
    user: str  # an account reachable over TCP with a password
    password: str

    def sql(self, statement: str, database: str = "") -> str:
        """Run SQL as the server's root over the socket; returns tab-separated rows."""
        argv = ["mariadb", "--no-defaults", "-S", self.socket, "-u", "root", "-N", "-B"]
        done = subprocess.run(
            [*argv, "-e", statement, *([database] if database else [])],
            capture_output=True, text=True, timeout=60, check=True,
        )
        return done.stdout


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDB]:
    server_bin = shutil.which("mariadbd", path="/usr/sbin:/usr/bin")
    if server_bin is None or shutil.which("mariadb-install-db") is None:
        pytest.skip("MariaDB is not installed (scripts/install-test-deps.sh)")
    if os.geteuid() != 0:
        pytest.skip("the MariaDB fixture runs the server as `mysql` and uses root socket auth")
    base = Path(tempfile.mkdtemp(prefix="runbook-mariadb-"))
    data = base / "data"
    run_as = ["--user=mysql"]
    account = pwd.getpwnam("mysql")
    os.chown(base, account.pw_uid, account.pw_gid)
    installed = subprocess.run(
        ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--skip-test-db",
         "--auth-root-authentication-method=socket", *run_as],
        capture_output=True, text=True, timeout=180, check=False,
    )
    if installed.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"mariadb-install-db failed: {installed.stderr[-2000:]}")
    port = free_port()
    sock = str(base / "mysqld.sock")
    log = open(base / "mysqld.log", "ab")  # noqa: SIM115 - owned by the server process
    proc = subprocess.Popen(
        [server_bin, "--no-defaults", f"--datadir={data}", f"--socket={sock}",
         f"--port={port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
         f"--pid-file={base / 'mysqld.pid'}", "--innodb-buffer-pool-size=16M",
         "--skip-log-bin", *run_as],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    log.close()
    try:
        _wait_ready(proc, port, base)
        server = MariaDB("127.0.0.1", port, sock, BACKUP_USER, BACKUP_PASSWORD)
        server.sql(
            f"CREATE USER '{BACKUP_USER}'@'127.0.0.1' IDENTIFIED BY '{BACKUP_PASSWORD}';"
            f"GRANT ALL ON *.* TO '{BACKUP_USER}'@'127.0.0.1';"
        )
        yield server
    finally:
        stop_process(proc)
        shutil.rmtree(base, ignore_errors=True)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_ready(proc: subprocess.Popen[bytes], port: int, base: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (base / "mysqld.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mariadbd exited with {proc.returncode}:\n{tail}")
        ping = subprocess.run(
            ["mariadb-admin", "--no-defaults", "-S", str(base / "mysqld.sock"), "-u", "root",
             "--connect-timeout=1", "ping"],
            capture_output=True, text=True, check=False,
        )
        if ping.returncode == 0 and _port_open(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"MariaDB on port {port} not ready after 60 s")
