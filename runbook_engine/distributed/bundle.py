"""The playbook's files as one tar, checksummed with sha256, for workers that have no copy.

What goes in: every file the loader read (playbook, imports, vars files, role YAML), each
role's whole directory, the playbook directory's conventional subdirectories (templates/,
files/, vars/, tasks/, handlers/) and the files its tasks name literally next to it
(`src: motd.j2`). Not the rest of the playbook's directory: a playbook in /tmp must not
ship /tmp. Hidden entries and caches stay out. Roles are placed under `roles/` next to
the playbook, the first place the loader looks, so a worker never picks up a role of its
own disk.

The tar is deterministic (sorted names, zero times and owners): the same files give the
same checksum, so workers cache a bundle once for every run of the same playbook.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from runbook_engine.errors import InputError
from runbook_engine.loader.model import Playbook, Task

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
SKIP_NAMES = {"__pycache__", "node_modules"}
MANIFEST = ".runbook-bundle.json"


@dataclass(frozen=True)
class Bundle:
    sha256: str
    data: bytes
    playbook: str  # the playbook's path inside the bundle


class BundleError(Exception):
    pass


CONVENTIONAL_DIRS = ("templates", "files", "vars", "tasks", "handlers")


def _all_tasks(playbook: Playbook) -> Iterator[Task]:
    def visit(tasks: list[Task]) -> Iterator[Task]:
        for task in tasks:
            yield task
            for inner in (task.block, task.rescue, task.always):
                yield from visit(inner)

    for play in playbook.plays:
        for section in (play.pre_tasks, play.tasks, play.post_tasks, play.handlers):
            yield from visit(section)


def _roles(playbook: Playbook) -> dict[Path, str]:
    found: dict[Path, str] = {}
    for play in playbook.plays:
        for role in play.roles:
            found.setdefault(role.path.resolve(), role.name)
    for task in _all_tasks(playbook):
        if task.role is not None:
            found.setdefault(task.role.path.resolve(), task.role.name)
    return found


def _named_files(playbook: Playbook, playbook_dir: Path) -> Iterator[Path]:
    """Files a task names literally next to the playbook (`src: motd.j2`); templated
    names are covered by the conventional directories."""
    for task in _all_tasks(playbook):
        if task.role is not None:
            continue
        for value in task.args.values():
            if not isinstance(value, str) or "{{" in value or "\n" in value:
                continue
            for base in (playbook_dir, playbook_dir / "templates", playbook_dir / "files"):
                try:
                    path = (base / value).resolve()
                except (OSError, ValueError):
                    continue
                if path.is_relative_to(playbook_dir) and path.is_file():
                    yield path


def _tree(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and d not in SKIP_NAMES)
        for name in sorted(filenames):
            if not name.startswith("."):
                path = Path(dirpath) / name
                if path.is_file():
                    yield path


def _members(playbook: Playbook) -> tuple[dict[str, Path], str]:
    """Bundle path -> file on this disk, and the playbook's bundle path."""
    playbook_dir = playbook.path.parent
    role_dirs = _roles(playbook)
    own = [p.resolve() for p in playbook.files if not _in_role(p.resolve(), role_dirs)]
    root = Path(os.path.commonpath([str(playbook_dir), *(str(p.parent) for p in own)]))
    base = PurePosixPath(playbook_dir.relative_to(root).as_posix())
    members: dict[str, Path] = {p.relative_to(root).as_posix(): p for p in own}
    nearby = [p for d in CONVENTIONAL_DIRS for p in _tree(playbook_dir / d)]
    for path in [*nearby, *_named_files(playbook, playbook_dir)]:
        members[str(base / path.relative_to(playbook_dir).as_posix())] = path
    for role_dir, name in role_dirs.items():
        for path in _tree(role_dir):
            members[str(base / "roles" / name / path.relative_to(role_dir).as_posix())] = path
    return members, str(base / playbook.path.name)


def _in_role(path: Path, role_dirs: dict[Path, str]) -> bool:
    return any(path.is_relative_to(d) for d in role_dirs)


def build_bundle(playbook: Playbook) -> Bundle:
    members, entry = _members(playbook)
    size = sum(p.stat().st_size for p in members.values())
    if size > MAX_BUNDLE_BYTES:
        raise InputError(
            f"the playbook's files come to {size // (1024 * 1024)} MB, more than the "
            f"{MAX_BUNDLE_BYTES // (1024 * 1024)} MB a worker bundle may hold",
            hint="keep large artifacts out of the playbook directory (fetch them in a task)",
        )
    manifest = {"playbook": entry, "files": {}}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            content = members[name].read_bytes()
            manifest["files"][name] = hashlib.sha256(content).hexdigest()
            _add(tar, name, content, members[name].stat().st_mode & 0o755)
        _add(tar, MANIFEST, json.dumps(manifest, sort_keys=True).encode(), 0o644)
    data = buffer.getvalue()
    return Bundle(hashlib.sha256(data).hexdigest(), data, entry)


def _add(tar: tarfile.TarFile, name: str, content: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(content), mode | 0o600, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(content))


def unpack(data: bytes, sha256: str, cache_dir: Path) -> Path:
    """Verify `data` against its checksum and unpack it once into cache_dir/sha256."""
    target = cache_dir / sha256
    if (target / MANIFEST).is_file():
        return target
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BundleError(f"bundle {sha256[:12]}: checksum mismatch, refusing to use it")
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=cache_dir))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            tar.extractall(staging, filter="data")  # no absolute paths, links or ..
        try:
            staging.rename(target)
        except OSError:  # another worker thread unpacked it first
            if not (target / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def verify(directory: Path) -> str:
    """Check every unpacked file against the manifest; the playbook's path inside."""
    manifest = json.loads((directory / MANIFEST).read_text())
    for name, digest in manifest["files"].items():
        path = directory / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise BundleError(f"cached bundle {directory.name[:12]}: {name} was altered")
    return str(manifest["playbook"])
