"""Private venvs for the peers (never project dependencies), created idempotently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENVS = Path(__file__).resolve().parent / ".venvs"

# name -> (pip requirement, console script that proves the install)
PEERS: dict[str, tuple[str, str]] = {
    "ansible": ("ansible-core>=2.16", "ansible-playbook"),
    "pyinfra": ("pyinfra>=3,<4", "pyinfra"),
}


def peer_bin(name: str, script: str | None = None) -> Path:
    return VENVS / name / "bin" / (script or PEERS[name][1])


def ensure(name: str) -> Path:
    """The peer's console script, installing the venv from PyPI on first use."""
    requirement, script = PEERS[name]
    exe = peer_bin(name, script)
    stamp = VENVS / name / ".installed"
    if exe.exists() and stamp.exists() and stamp.read_text() == requirement:
        return exe
    venv = VENVS / name
    pip = venv / "bin" / "pip"
    if not pip.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(pip), "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(pip), "install", "-q", requirement], check=True)
    stamp.write_text(requirement)
    return exe


def version(name: str) -> str:
    py = VENVS / name / "bin" / "python"
    dist = "ansible-core" if name == "ansible" else name
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    done = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() or "?"
