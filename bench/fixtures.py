"""Targets (inventory hosts on sshd daemons) and their per-tool starting state."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the floor imports this module: keep pytest out of its start-up
    from tests.fixtures.sshd import SSHHost

WORKLOAD = Path(__file__).resolve().parent / "workload"
PLAYBOOK = WORKLOAD / "playbook.yml"
TASKS = 11  # tasks in playbook.yml (and steps in the deploy and the floor script)
DATA_FILES = 50
OLD_ARCHIVES = ["data-20250101.tar.gz", "data-20250102.tar.gz",
                "data-20250103.tar.gz", "data-20250104.tar.gz"]
NEW_ARCHIVE = "data-20260126.tar.gz"
SETTINGS_BEFORE = "[db]\nmax_connections=100\ntimeout=30\n"
SETTINGS_AFTER = "[db]\nmax_connections=200\ntimeout=30\n"
TEMPLATE_VARS = {"app_name": "shop", "app_port": 8080, "app_env": "production"}


@dataclass(frozen=True)
class Target:
    """One inventory host. Several targets may share one sshd daemon (--scale)."""

    name: str
    daemon: SSHHost

    def root(self, tool: str) -> str:
        return f"{self.daemon.scratch}/{tool}/{self.name}"


def make_targets(daemons: list[SSHHost], count: int) -> list[Target]:
    """`count` targets spread round-robin over the daemons."""
    return [Target(f"h{i + 1:03d}", daemons[i % len(daemons)]) for i in range(count)]


def data_file(i: int) -> tuple[str, bytes]:
    return f"file{i:02d}.txt", (f"record {i}\n" * (20 + i)).encode()


def make_cert(workdir: Path) -> Path:
    """A self-signed certificate valid for a year (openssl on the controller)."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    if not cert.exists():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
             "-subj", "/CN=bench.example.com", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )
    return cert


def _chown_tree(path: Path, user: str) -> None:
    shutil.chown(path, user, user)
    for base, dirs, files in os.walk(path):
        for name in dirs + files:
            shutil.chown(os.path.join(base, name), user, user)


def prepare(targets: list[Target], tool: str, cert: Path) -> None:
    """Fresh starting state in every target's directory for `tool` (not timed)."""
    for t in targets:
        root = Path(t.root(tool))
        if root.exists():
            shutil.rmtree(root)
        (root / "data").mkdir(parents=True)
        for i in range(DATA_FILES):
            name, body = data_file(i)
            (root / "data" / name).write_bytes(body)
        (root / "archives").mkdir()
        for name in OLD_ARCHIVES:
            with tarfile.open(root / "archives" / name, "w:gz"):
                pass
        app = root / "app"
        app.mkdir(mode=0o700)
        app.chmod(0o700)  # the playbook's first task must change it to 0755
        (app / "settings.ini").write_text(SETTINGS_BEFORE)
        shutil.copyfile(cert, root / "cert.pem")
        parent = root.parent
        parent.chmod(0o755)
        shutil.chown(parent, t.daemon.user, t.daemon.user)
        _chown_tree(root, t.daemon.user)
