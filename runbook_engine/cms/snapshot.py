"""Local pre-update backups on the host, and rollback to them (the S3 path uses the
`backup` / `restore` modules instead; see roles/cms_wordpress).

A snapshot is `<dir>/<name>-<UTC stamp>.tar.gz` of the whole site tree (a SQLite database
inside it included), plus `<same>.db.tar.gz` when the SQLite file lives outside the tree.
Each carries a `.sha256` file; rollback refuses an archive whose hash differs."""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import asdict, dataclass

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import TaskContext

MAINTENANCE_PHP = b"<?php $upgrading = time(); ?>"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class Snapshot:
    files: str
    files_sha256: str
    db: str | None = None
    db_sha256: str | None = None
    db_file: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def _archive(ctx: TaskContext, target: str, root: str, members: list[str]) -> str:
    """tar.gz of `members` (relative to `root`) at `target`, atomically; returns sha256."""
    words = ["tar", "-C", root, "--exclude=./.maintenance", "-czf", f"{target}.part", "--"]
    script = f"""set -e; umask 077
{shlex.join(words + members)}
sha256sum < {shlex.quote(target + '.part')} | cut -d' ' -f1 > {shlex.quote(target + '.sha256')}
mv -- {shlex.quote(target + '.part')} {shlex.quote(target)}
cat {shlex.quote(target + '.sha256')}"""
    done = ctx.run(script)
    if done.rc != 0:
        ctx.run(["rm", "-f", "--", f"{target}.part", f"{target}.sha256"])
        raise ModuleFailure(f"archiving {root} into {target} failed: {done.stderr.strip()[-600:]}")
    return done.stdout.strip()


def inside(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or below it (lexically; paths are absolute)."""
    path, directory = path.rstrip("/") + "/", directory.rstrip("/") + "/"
    return path.startswith(directory)


def _refuse_inside(what: str, path: str, site: str) -> None:
    # A rollback empties the site directory first: anything kept inside it would go too.
    if inside(path, site):
        raise ModuleFailure(f"{what} {path} is inside the site {site}: keep it outside")


def take(ctx: TaskContext, site: str, backup_dir: str, name: str, db_file: str | None) -> Snapshot:
    _refuse_inside("the backup directory", backup_dir, site)
    if not _NAME.match(name):
        raise ModuleFailure(f"invalid backup name {name!r} (letters, digits, . _ -)")
    made = ctx.run(["mkdir", "-p", "--", backup_dir])
    if made.rc != 0:
        raise ModuleFailure(f"cannot create {backup_dir}: {made.stderr.strip()}")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = f"{backup_dir.rstrip('/')}/{name}-{stamp}"
    files = f"{base}.tar.gz"
    files_sha = _archive(ctx, files, site, ["."])
    if db_file and not inside(db_file, site):
        directory, _, base_name = db_file.rpartition("/")
        db = f"{base}.db.tar.gz"
        return Snapshot(files, files_sha, db, _archive(ctx, db, directory or "/", [base_name]),
                        db_file)  # fmt: skip
    return Snapshot(files, files_sha)


def _verify(ctx: TaskContext, archive: str, sha256: str | None) -> None:
    expected = sha256
    if expected is None:
        recorded = ctx.run(["cat", "--", f"{archive}.sha256"])
        if recorded.rc != 0:
            raise ModuleFailure(f"{archive}.sha256 is missing: the backup cannot be verified")
        expected = recorded.stdout.strip()
    done = ctx.run(f"sha256sum < {shlex.quote(archive)}")
    if done.rc != 0 or done.stdout.split()[:1] != [expected]:
        raise ModuleFailure(f"{archive} does not match its sha256: refusing to restore from it")


def _check_site_path(site: str) -> None:
    trimmed = site.rstrip("/")
    if not trimmed.startswith("/") or trimmed.count("/") < 2:
        raise ModuleFailure(f"refusing to empty {site!r}: give the site's own directory")


def _replace_tree_script(site: str, fill: str) -> str:
    """Maintenance on, empty the site, `fill` it, maintenance off (the filled tree never
    holds a `.maintenance`: snapshots exclude it)."""
    s = shlex.quote(site)
    return f"""set -e
cat > {s}/.maintenance
find {s} -mindepth 1 -maxdepth 1 ! -name .maintenance -exec rm -rf -- {{}} +
{fill}
rm -f -- {s}/.maintenance"""


def restore(
    ctx: TaskContext,
    site: str,
    archive: str,
    sha256: str | None,
    db_archive: str | None = None,
    db_sha256: str | None = None,
    db_file: str | None = None,
) -> None:
    """Put the site back exactly as the snapshot holds it (files added since are removed)."""
    _check_site_path(site)
    _refuse_inside("the backup", archive, site)
    _verify(ctx, archive, sha256)
    listed = ctx.run(f"tar -tzf {shlex.quote(archive)} | grep -qx './wp-includes/version.php'")
    if listed.rc != 0:
        raise ModuleFailure(f"{archive} holds no WordPress tree: refusing to restore from it")
    if db_archive:
        _verify(ctx, db_archive, db_sha256)
    fill = shlex.join(["tar", "-xzf", archive, "-C", site])
    if db_archive and db_file:
        directory = db_file.rpartition("/")[0] or "/"
        fill += "\n" + shlex.join(["tar", "-xzf", db_archive, "-C", directory])
    done = ctx.run(_replace_tree_script(site, fill), stdin=MAINTENANCE_PHP)
    if done.rc != 0:
        raise ModuleFailure(f"restoring {site} from {archive} failed: {done.stderr.strip()[-600:]}")


def restore_from_dir(ctx: TaskContext, site: str, source: str) -> None:
    """Replace the site with an unpacked tree (from the `restore` module), then remove it."""
    _check_site_path(site)
    _refuse_inside("the restored tree", source, site)
    probe = ctx.run(["test", "-f", f"{source}/wp-includes/version.php"])
    if probe.rc != 0:
        raise ModuleFailure(f"{source} holds no WordPress tree: refusing to restore from it")
    src, dest = shlex.quote(source), shlex.quote(site)
    fill = f"cp -R -p -- {src}/. {dest}/\nrm -rf -- {src}"
    done = ctx.run(_replace_tree_script(site, fill), stdin=MAINTENANCE_PHP)
    if done.rc != 0:
        raise ModuleFailure(f"restoring {site} from {source} failed: {done.stderr.strip()[-600:]}")
