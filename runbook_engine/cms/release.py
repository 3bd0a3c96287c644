"""Release archives (core, plugin or theme): fetched from a URL, an S3 object, a file on the
controller or a file on the host, checked, and unpacked into a private temporary directory
on the host that is removed afterwards.

    src: https://wordpress.org/wordpress-6.5.5.zip      # downloaded by the controller
    src: s3://releases/wordpress-6.5.5.zip              # with `s3:` access settings
    src: files/wordpress-6.5.5.zip                      # controller path (role files/ too)
    src: /srv/releases/wordpress-6.5.5.zip, remote_src: true   # already on the host
"""

from __future__ import annotations

import hashlib
import shlex
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

from pydantic import Field, SecretStr

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, TaskContext

DOWNLOAD_TIMEOUT = 120.0
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
ZIP_PHP = r"""
$zip = new ZipArchive();
if ($zip->open(getenv('RB_ARCHIVE')) !== true) {
    rb_out(array('error' => 'not a zip archive')); exit(1);
}
for ($i = 0; $i < $zip->numFiles; $i++) {
    $name = $zip->getNameIndex($i);
    if ($name[0] === '/' || preg_match('#(^|/)\.\.(/|$)#', $name)) {
        rb_out(array('error' => "unsafe path in archive: $name")); exit(1);
    }
}
if (!$zip->extractTo(getenv('RB_DEST'))) { rb_out(array('error' => 'extraction failed')); exit(1); }
rb_out(array('files' => $zip->numFiles));
"""


class S3Access(ModuleArgs):
    """How to reach the S3 store holding `s3://bucket/key` release archives."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key: str | None = None
    secret_key: SecretStr | None = None
    addressing_style: str | None = Field(None, pattern="^(auto|path|virtual)$")


@dataclass(frozen=True, slots=True)
class Unpacked:
    tmp: str  # private temporary directory (removed on exit)
    root: str  # where the archive was unpacked
    sha256: str | None


def archive_kind(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".zip"):
        return "zip"
    if lowered.endswith((".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".tar.zst")):
        return "tar"
    raise ModuleFailure(f"{name}: unknown archive type (use .zip or .tar[.gz|.xz|.bz2])")


def _expected_sha256(checksum: str | None) -> str | None:
    if not checksum:
        return None
    algorithm, _, digest = checksum.partition(":")
    if algorithm != "sha256" or len(digest) != 64:
        raise ModuleFailure("checksum must be 'sha256:<64 hex digits>'")
    return digest.lower()


def _controller_bytes(ctx: TaskContext, src: str, s3: S3Access | None) -> bytes:
    parsed = urlparse(src)
    if parsed.scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(src, timeout=DOWNLOAD_TIMEOUT) as response:
                data: bytes = response.read(MAX_ARCHIVE_BYTES + 1)
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            raise ModuleFailure(f"downloading {src} failed: {exc}") from exc
    elif parsed.scheme == "s3":
        data = _s3_bytes(parsed.netloc, parsed.path.lstrip("/"), s3 or S3Access())
    else:
        data = ctx.find_file(src).read_bytes()
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ModuleFailure(f"{src} is larger than {MAX_ARCHIVE_BYTES} bytes")
    return data


def _s3_bytes(bucket: str, key: str, access: S3Access) -> bytes:
    from runbook_engine.s3.config import S3Args, make_client
    from runbook_engine.s3.errors import S3Failure, describe, s3_errors

    settings = S3Args(bucket=bucket, prefix="", **access.model_dump())
    try:
        body = make_client(settings).get_object(Bucket=bucket, Key=key)["Body"]
        return bytes(body.read())
    except s3_errors() as exc:
        raise S3Failure(describe(exc, "downloading", settings.where(key))) from exc


@contextmanager
def unpacked(
    ctx: TaskContext,
    src: str,
    *,
    remote_src: bool = False,
    checksum: str | None = None,
    s3: S3Access | None = None,
    php: str = "php",
) -> Iterator[Unpacked]:
    """Fetch `src` to the host, verify it, unpack it; the temporary directory goes on exit."""
    expected = _expected_sha256(checksum)
    kind = archive_kind(PurePosixPath(urlparse(src).path).name)
    made = ctx.run('umask 077 && mktemp -d "${TMPDIR:-/tmp}/rb-wordpress.XXXXXXXX"')
    if made.rc != 0:
        raise ModuleFailure(f"cannot create a temporary directory on {ctx.host}: {made.stderr}")
    tmp = made.stdout.strip()
    try:
        archive = src if remote_src else f"{tmp}/release.{'zip' if kind == 'zip' else 'tar'}"
        digest = None
        if not remote_src:
            data = _controller_bytes(ctx, src, s3)
            digest = hashlib.sha256(data).hexdigest()
            if expected and digest != expected:
                raise ModuleFailure(f"{src}: sha256 {digest}, expected {expected}")
            sent = ctx.run(f"cat > {shlex.quote(archive)}", stdin=data)
            if sent.rc != 0:
                raise ModuleFailure(f"copying {src} to {ctx.host} failed: {sent.stderr.strip()}")
        if expected or remote_src:
            digest = _host_sha256(ctx, archive, expected)
        root = f"{tmp}/unpacked"
        _unpack(ctx, kind, archive, root, php)
        yield Unpacked(tmp, root, digest)
    finally:
        ctx.run(["rm", "-rf", "--", tmp])


def _host_sha256(ctx: TaskContext, archive: str, expected: str | None) -> str | None:
    done = ctx.run(f"sha256sum < {shlex.quote(archive)}")
    if done.rc != 0:
        if expected:
            raise ModuleFailure(f"cannot checksum {archive} on {ctx.host}: {done.stderr.strip()}")
        return None
    digest = done.stdout.split()[0]
    if expected and digest != expected:
        raise ModuleFailure(f"{archive}: sha256 {digest} does not match the expected {expected}")
    return digest


def _unpack(ctx: TaskContext, kind: str, archive: str, dest: str, php: str) -> None:
    made = ctx.run(["mkdir", "-p", dest])
    if made.rc != 0:
        raise ModuleFailure(f"cannot create {dest}: {made.stderr.strip()}")
    if kind == "tar":
        done = ctx.run(["tar", "-xf", archive, "-C", dest, "--no-same-owner"])
        if done.rc != 0:
            raise ModuleFailure(f"unpacking {archive} failed: {done.stderr.strip()[-400:]}")
        return
    if ctx.run("command -v unzip >/dev/null").rc == 0:
        done = ctx.run(["unzip", "-q", "-o", archive, "-d", dest])
        if done.rc != 0:  # 1 is "warnings", still refused: a release must unpack cleanly
            raise ModuleFailure(f"unpacking {archive} failed: {done.stderr.strip()[-400:]}")
        return
    from runbook_engine.cms.php import run_php

    run_php(ctx, ZIP_PHP, chdir="/", env={"RB_ARCHIVE": archive, "RB_DEST": dest}, php=php,
            what=f"unpacking {archive}")  # fmt: skip


def find_core_root(ctx: TaskContext, unpacked_root: str) -> str:
    """The directory of the release holding wp-includes/version.php (`wordpress/` in the
    official zips, the top level in others)."""
    found = ctx.run(
        f"cd {shlex.quote(unpacked_root)} && for d in . *; do "
        f'[ -f "$d/wp-includes/version.php" ] && [ -f "$d/wp-settings.php" ] && echo "$d"; '
        "done"
    )
    candidates = [line for line in found.stdout.splitlines() if line]
    if len(candidates) != 1:
        raise ModuleFailure(
            "the archive is not a WordPress release (no single directory holds "
            "wp-includes/version.php and wp-settings.php)"
        )
    return f"{unpacked_root}/{candidates[0]}".removesuffix("/.")


def find_component_dir(ctx: TaskContext, unpacked_root: str, slug: str | None) -> tuple[str, str]:
    """(directory, slug) of a plugin/theme archive: one top-level directory (its slug)."""
    listing = ctx.run(f"cd {shlex.quote(unpacked_root)} && ls -1A")
    entries = [e for e in listing.stdout.splitlines() if e and e != "__MACOSX"]
    if slug and slug in entries:
        return f"{unpacked_root}/{slug}", slug
    if len(entries) != 1 or ctx.run(["test", "-d", f"{unpacked_root}/{entries[0]}"]).rc != 0:
        raise ModuleFailure(
            f"the archive should hold one top-level directory (the slug), found: "
            f"{', '.join(entries[:5]) or 'nothing'}"
        )
    return f"{unpacked_root}/{entries[0]}", slug or entries[0]
