"""The end state every tool must leave on every target (checked on the filesystem)."""

from __future__ import annotations

import hashlib
import pwd
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import jinja2

from bench.fixtures import (
    DATA_FILES,
    NEW_ARCHIVE,
    OLD_ARCHIVES,
    SETTINGS_AFTER,
    TEMPLATE_VARS,
    WORKLOAD,
    Target,
    data_file,
)


def rendered_config() -> str:
    source = (WORKLOAD / "templates" / "app.conf.j2").read_text()
    env = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.from_string(source).render(**TEMPLATE_VARS)


def disk_below_95() -> bool:
    usage = shutil.disk_usage("/")
    return usage.used * 100 / (usage.used + usage.free) < 95


def cert_enddate(cert: Path) -> str:
    done = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-enddate"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _file(path: Path, content: bytes | str, mode: int, user: str, errors: list[str]) -> None:
    if not path.is_file():
        errors.append(f"{path}: missing")
        return
    want = content.encode() if isinstance(content, str) else content
    if path.read_bytes() != want:
        errors.append(f"{path}: wrong content {path.read_bytes()[:80]!r}")
    st = path.stat()
    if stat.S_IMODE(st.st_mode) != mode:
        errors.append(f"{path}: mode {oct(stat.S_IMODE(st.st_mode))}, want {oct(mode)}")
    if pwd.getpwuid(st.st_uid).pw_name != user:
        errors.append(f"{path}: owner uid {st.st_uid}, want {user}")


def _archives(root: Path, errors: list[str]) -> None:
    archives = root / "archives"
    names = sorted(p.name for p in archives.iterdir()) if archives.is_dir() else []
    want = sorted([*OLD_ARCHIVES[-2:], NEW_ARCHIVE])
    if names != want:
        errors.append(f"{archives}: {names}, want {want} (rotation keeps 3)")
        return
    expected = {f"data/{n}": b for n, b in map(data_file, range(DATA_FILES))}
    with tarfile.open(archives / NEW_ARCHIVE, "r:gz") as tar:
        found = {
            m.name.removeprefix("./"): tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers() if m.isfile()
        }
    if found != expected:
        errors.append(f"{archives / NEW_ARCHIVE}: {len(found)} files, want {len(expected)}")


def verify_target(target: Target, tool: str, cert: Path) -> list[str]:
    root = Path(target.root(tool))
    user = target.daemon.user
    errors: list[str] = []
    app = root / "app"
    if not app.is_dir() or stat.S_IMODE(app.stat().st_mode) != 0o755:
        errors.append(f"{app}: not a 0755 directory")
    _file(app / "app.conf", rendered_config(), 0o644, user, errors)
    settings = app / "settings.ini"
    if not settings.is_file() or settings.read_text() != SETTINGS_AFTER:
        errors.append(f"{settings}: line not set")
    if disk_below_95():
        _file(app / "disk_ok", "disk usage below 95%\n", 0o644, user, errors)
    motd = (WORKLOAD / "files" / "motd.txt").read_bytes()
    _file(app / "motd.txt", motd, 0o644, user, errors)
    report = f"motd_sha256={hashlib.sha256(motd).hexdigest()}\n{cert_enddate(cert)}\n"
    _file(app / "report.txt", report, 0o644, user, errors)
    _archives(root, errors)
    return errors


def verify(targets: list[Target], tool: str, cert: Path) -> list[str]:
    """Every problem on every target; empty when all of them are right."""
    return [e for t in targets for e in verify_target(t, tool, cert)]
