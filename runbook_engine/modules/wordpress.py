"""wordpress: one step of a safe WordPress update, chosen by `action`.

    - wordpress: {action: facts, path: /srv/www/site}
    - wordpress: {action: preflight, path: /srv/www/site, url: "https://site.example",
                  min_php: "7.4", min_free_mb: 200}
    - wordpress: {action: backup, path: /srv/www/site, backup_dir: /var/backups/wp}
    - wordpress: {action: maintenance, path: /srv/www/site, state: "on"}
    - wordpress: {action: update_core, path: /srv/www/site, src: files/wordpress-6.5.5.zip}
    - wordpress: {action: update_db, path: /srv/www/site}
    - wordpress: {action: update_plugin, path: /srv/www/site, name: akismet, src: s3://...}
    - wordpress: {action: update_theme, path: /srv/www/site, name: twentytwentyfour}
    - wordpress: {action: health, path: /srv/www/site, url: "...", expect_version: "6.5.5"}
    - wordpress: {action: rollback, path: /srv/www/site, snapshot: "{{ pre.snapshot }}"}

Without `src`, updates go through wp-cli (`wp core update`, `wp plugin update`...) when
the host has it; with `src` (URL, s3://bucket/key, controller path, or a host path with
`remote_src: true`) they use WordPress's own PHP through php-cli and need no wp-cli.
In check mode every action reports what it would do (current -> available) and changes
nothing. The roles/cms_wordpress role puts the actions in their safe order.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import Field, model_validator

from runbook_engine.cms import health as site_health
from runbook_engine.cms import release, snapshot, update
from runbook_engine.cms.php import compare_versions
from runbook_engine.cms.site import SiteFacts, component_header, read_facts, release_version
from runbook_engine.cms.wpcli import WpCli
from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext, fail

Action = Literal[
    "facts", "preflight", "backup", "maintenance", "update_core", "update_db",
    "update_plugin", "update_theme", "health", "rollback",
]  # fmt: skip


class SnapshotArg(ModuleArgs):
    """A local snapshot as `backup` returned it (`register: pre` -> `pre.snapshot`)."""

    files: str
    files_sha256: str | None = None
    db: str | None = None
    db_sha256: str | None = None
    db_file: str | None = None


class Args(ModuleArgs):
    action: Action
    path: str = Field(description="The WordPress root (where wp-config.php is).")
    url: str | None = Field(None, description="The site's URL, as the host reaches it.")
    php: str = "php"
    wp_cli: Literal["auto", "never"] = "auto"
    wp_cli_path: str = "wp"
    # release archives
    src: str | None = None
    remote_src: bool = False
    checksum: str | None = Field(None, description="sha256:<hex> of the archive.")
    s3: release.S3Access | None = None
    name: str | None = Field(None, description="Plugin/theme slug; backup name.")
    version: str | None = Field(None, description="Core version for wp-cli (default latest).")
    force: bool = Field(False, description="Reinstall the same version, or downgrade.")
    # maintenance
    state: Literal["on", "off"] | None = None
    # preflight / health
    min_php: str | None = None
    min_free_mb: int = Field(100, ge=0)
    verify_checksums: bool | Literal["auto"] = "auto"
    pages: list[str] = Field(default_factory=list)
    expect_status: int = 200
    expect_version: str | None = None
    error_log: str | None = None
    error_log_offset: int = 0
    timeout: float = Field(30.0, gt=0)
    # backup / rollback
    backup_dir: str | None = None
    snapshot: SnapshotArg | None = None
    from_dir: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> Args:
        if not self.path.startswith("/"):
            raise ValueError("path must be absolute")
        needs = {
            "maintenance": ("state",),
            "backup": ("backup_dir",),
            "health": ("url",),
        }.get(self.action, ())
        missing = [n for n in needs if getattr(self, n) is None]
        if missing:
            raise ValueError(f"action {self.action} needs {', '.join(missing)}")
        if self.action == "rollback" and (self.snapshot is None) == (self.from_dir is None):
            raise ValueError("rollback needs either `snapshot` (from backup) or `from_dir`")
        if self.remote_src and self.src and not self.src.startswith("/"):
            raise ValueError("with remote_src, src must be an absolute path on the host")
        return self


def run(ctx: TaskContext, args: Args) -> Result:
    try:
        return ACTIONS[args.action](ctx, args)
    except ModuleFailure as exc:
        return fail(str(exc))


# -- facts, preflight, health ------------------------------------------------------------
def _facts(ctx: TaskContext, args: Args) -> Result:
    facts = read_facts(ctx, args.path, args.php)
    return Result(msg=f"WordPress {facts.version or '(none)'}", data={"wordpress": facts.raw})


def _wpcli(ctx: TaskContext, args: Args) -> WpCli | None:
    if args.wp_cli == "never" or not WpCli.available(ctx, args.wp_cli_path):
        return None
    return WpCli(ctx, args.path, args.wp_cli_path)


def _preflight(ctx: TaskContext, args: Args) -> Result:
    facts = read_facts(ctx, args.path, args.php)
    health = site_health.Health()
    health.add("installed", bool(facts.raw["installed"]), f"WordPress {facts.version}")
    php_version = str(facts.raw["php_version"])
    if args.min_php:
        ok = compare_versions(php_version, args.min_php) >= 0
        health.add("php", ok, f"PHP {php_version}, at least {args.min_php} wanted")
    free = int(facts.raw["disk_free_mb"])
    health.add("disk", free >= args.min_free_mb, f"{free} MB free, {args.min_free_mb} MB wanted")
    cli = _wpcli(ctx, args)
    if args.verify_checksums is True and cli is None:
        health.add("checksums", False, "verify_checksums needs wp-cli on the host")
    elif args.verify_checksums and cli is not None:
        ok, detail = cli.verify_checksums()
        health.add("checksums", ok, detail or "core files match wordpress.org checksums")
    if args.url:
        urls = [args.url, *(site_health.join_url(args.url, p) for p in args.pages)]
        for page in site_health.fetch(ctx, urls, args.timeout, args.php):
            detail = f"{page['url']} answered {page['status'] or page['error']}"
            health.add("http", page["status"] == args.expect_status, detail)
    log_size = site_health.log_size(ctx, args.error_log) if args.error_log else 0
    data = {"wordpress": facts.raw, "checks": health.checks, "error_log_size": log_size}
    verdict = "pre-flight passed" if health.ok else "pre-flight " + health.summary()
    return Result(failed=not health.ok, msg=f"{verdict} (WordPress {facts.version})", data=data)


def _health(ctx: TaskContext, args: Args) -> Result:
    assert args.url is not None
    health = site_health.check_site(
        ctx, args.url, pages=args.pages, expect_status=args.expect_status,
        expect_version=args.expect_version, timeout=args.timeout, php=args.php,
    )  # fmt: skip
    if args.error_log:
        site_health.check_log(ctx, health, args.error_log, args.error_log_offset)
    maintenance = ctx.run(["test", "-e", f"{args.path}/.maintenance"]).rc == 0
    state = "ON" if maintenance else "off"
    health.add("maintenance", not maintenance, f"maintenance mode is {state}")
    data = {"health": {"ok": health.ok, "version": health.version, "checks": health.checks,
                       "error_log_size": health.log_size}}  # fmt: skip
    return Result(failed=not health.ok, msg=health.summary(), data=data)


# -- backup, maintenance, rollback -------------------------------------------------------
def _backup(ctx: TaskContext, args: Args) -> Result:
    assert args.backup_dir is not None
    facts = read_facts(ctx, args.path, args.php)
    if facts.raw["db_engine"] != "sqlite":
        raise ModuleFailure(
            "a local backup covers files and SQLite databases; back a MySQL database up "
            "with the `backup` module (database:), as roles/cms_wordpress does with S3"
        )
    name = args.name or "wordpress"
    if ctx.check_mode:
        return Result(changed=True, msg=f"would back {args.path} up into {args.backup_dir}")
    snap = snapshot.take(ctx, args.path, args.backup_dir, name, facts.raw.get("db_file"))
    return Result(
        changed=True,
        msg=f"backed up {args.path} (WordPress {facts.version}) to {snap.files}",
        data={"snapshot": snap.as_dict(), "wordpress": facts.raw},
    )


def _maintenance(ctx: TaskContext, args: Args) -> Result:
    marker = f"{args.path}/.maintenance"
    present = ctx.run(["test", "-e", marker]).rc == 0
    wanted = args.state == "on"
    if present == wanted:
        return Result(msg=f"maintenance mode already {args.state}", data={"maintenance": wanted})
    if not ctx.check_mode:
        if wanted:
            done = ctx.run(["sh", "-c", 'cat > "$1"', "sh", marker], stdin=snapshot.MAINTENANCE_PHP)
        else:
            done = ctx.run(["rm", "-f", "--", marker])
        if done.rc != 0:
            raise ModuleFailure(f"cannot turn maintenance {args.state}: {done.stderr.strip()}")
    verb = "would turn" if ctx.check_mode else "turned"
    return Result(changed=True, msg=f"{verb} maintenance mode {args.state}",
                  data={"maintenance": wanted})  # fmt: skip


def _rollback(ctx: TaskContext, args: Args) -> Result:
    source = args.snapshot.files if args.snapshot else args.from_dir
    if ctx.check_mode:
        return Result(changed=True, msg=f"would restore {args.path} from {source}")
    if args.snapshot:
        s = args.snapshot
        snapshot.restore(ctx, args.path, s.files, s.files_sha256, s.db, s.db_sha256, s.db_file)
    else:
        assert args.from_dir is not None
        snapshot.restore_from_dir(ctx, args.path, args.from_dir)
    facts = read_facts(ctx, args.path, args.php)
    return Result(
        changed=True,
        msg=f"restored {args.path} from {source}: WordPress {facts.version} again",
        data={"wordpress": facts.raw, "restored_from": source},
    )


# -- updates -----------------------------------------------------------------------------
def _update_result(kind: str, name: str, before: str | None, after: str | None,
                   check: bool, **extra: Any) -> Result:  # fmt: skip
    changed = before != after
    if not changed:
        msg = f"{name} is already at {after}"
    else:
        msg = f"{'would update' if check else 'updated'} {name} {before or '(none)'} -> {after}"
    data = {"update": {"kind": kind, "name": name, "from": before, "to": after, **extra}}
    return Result(changed=changed, msg=msg, data=data)


def _guard_version(name: str, before: str | None, after: str | None, force: bool) -> None:
    if after is None:
        raise ModuleFailure(f"the archive does not say which version of {name} it holds")
    if before and not force and compare_versions(after, before) < 0:
        raise ModuleFailure(f"refusing to downgrade {name} {before} -> {after} (force: true)")


def _update_core(ctx: TaskContext, args: Args) -> Result:
    facts = read_facts(ctx, args.path, args.php)
    before = facts.version
    if args.src is None:
        return _update_core_wpcli(ctx, args, before)
    with release.unpacked(ctx, args.src, remote_src=args.remote_src, checksum=args.checksum,
                          s3=args.s3, php=args.php) as unpacked:  # fmt: skip
        root = release.find_core_root(ctx, unpacked.root)
        new = release_version(ctx, root, args.php)
        after = new["version"]
        _guard_version("WordPress", before, after, args.force)
        required = new.get("required_php")
        if required and compare_versions(str(new["php_version"]), str(required)) < 0:
            raise ModuleFailure(f"WordPress {after} needs PHP {required}, the host has "
                                f"{new['php_version']}; nothing was changed")  # fmt: skip
        if before == after and not args.force:
            return _update_result("core", "WordPress", before, after, ctx.check_mode)
        removed: list[str] = []
        if not ctx.check_mode:
            update.copy_core(ctx, root, args.path)
            removed = update.remove_old_files(ctx, root, args.path, args.php)
            installed = read_facts(ctx, args.path, args.php).version
            if installed != after:
                raise ModuleFailure(f"after copying, version.php says {installed}, not {after}")
    result = _update_result("core", "WordPress", before, after, ctx.check_mode,
                            sha256=unpacked.sha256, db_version=new.get("db_version"),
                            removed_old_files=removed)  # fmt: skip
    result.changed = result.changed or args.force
    return result


def _update_core_wpcli(ctx: TaskContext, args: Args, before: str | None) -> Result:
    cli = _wpcli(ctx, args)
    if cli is None:
        raise ModuleFailure("no `src` release archive given and wp-cli is not on the host")
    offers = cli.core_updates()
    wanted = args.version or (offers[0]["version"] if offers else before)
    if ctx.check_mode or wanted == before:
        return _update_result("core", "WordPress", before, wanted, ctx.check_mode)
    words = ["core", "update"] + ([f"--version={args.version}"] if args.version else [])
    cli.check(*words)
    after = cli.check("core", "version").strip()
    return _update_result("core", "WordPress", before, after, False)


def _update_db(ctx: TaskContext, args: Args) -> Result:
    host = urlparse(args.url).netloc if args.url else None
    cli = _wpcli(ctx, args)
    if cli is not None and not ctx.check_mode:
        before = update.upgrade_database(ctx, args.path, check=True, http_host=host, php=args.php)
        cli.check("core", "update-db")
        numbers = {**before, "after": before["files"]}
    else:
        numbers = update.upgrade_database(
            ctx, args.path, check=ctx.check_mode, http_host=host, php=args.php
        )
    before, after = str(numbers["before"]), str(numbers["after"])
    if ctx.check_mode and numbers["before"] != numbers["files"]:
        after = str(numbers["files"])
    elif not ctx.check_mode and numbers["after"] != numbers["files"]:
        expected = numbers["files"]
        raise ModuleFailure(f"db_version is {after} after wp_upgrade(), expected {expected}")
    return _update_result("database", "db_version", before, after, ctx.check_mode)


def _update_component(ctx: TaskContext, args: Args, kind: str) -> Result:
    facts = read_facts(ctx, args.path, args.php)
    if args.src is None:
        return _update_component_wpcli(ctx, args, kind, facts)
    parent = f"{facts.content_dir}/{kind}s"
    with release.unpacked(ctx, args.src, remote_src=args.remote_src, checksum=args.checksum,
                          s3=args.s3, php=args.php) as unpacked:  # fmt: skip
        new_dir, slug = release.find_component_dir(ctx, unpacked.root, args.name)
        current = facts.component(kind, slug)
        before = current["version"] if current else None
        staged = component_header(ctx, new_dir, kind, args.php)
        if staged is None:
            raise ModuleFailure(f"the archive's {slug}/ holds no {kind} header")
        after = staged.get("version")
        _guard_version(slug, before, after, args.force)
        if before == after and not args.force:
            return _update_result(kind, slug, before, after, ctx.check_mode)
        if not ctx.check_mode:
            update.replace_component(ctx, new_dir, parent, slug)
    result = _update_result(kind, slug, before, after, ctx.check_mode, sha256=unpacked.sha256)
    result.changed = result.changed or args.force
    return result


def _update_component_wpcli(ctx: TaskContext, args: Args, kind: str, facts: SiteFacts) -> Result:
    if not args.name:
        raise ModuleFailure(f"update_{kind} needs `name` (the slug) or `src` (an archive)")
    cli = _wpcli(ctx, args)
    if cli is None:
        raise ModuleFailure("no `src` archive given and wp-cli is not on the host")
    current = facts.component(kind, args.name)
    if current is None:
        raise ModuleFailure(f"{kind} {args.name} is not installed")
    before = current.get("version")
    offers = {o["name"]: o for o in cli.component_updates(kind)}
    offer = offers.get(args.name)
    if offer is None:
        return _update_result(kind, args.name, before, before, ctx.check_mode)
    if ctx.check_mode:
        return _update_result(kind, args.name, before, offer.get("update_version"), True)
    cli.check(kind, "update", args.name)
    after = (read_facts(ctx, args.path, args.php).component(kind, args.name) or {}).get("version")
    return _update_result(kind, args.name, before, after, False)


ACTIONS = {
    "facts": _facts,
    "preflight": _preflight,
    "health": _health,
    "backup": _backup,
    "maintenance": _maintenance,
    "rollback": _rollback,
    "update_core": _update_core,
    "update_db": _update_db,
    "update_plugin": lambda ctx, args: _update_component(ctx, args, "plugin"),
    "update_theme": lambda ctx, args: _update_component(ctx, args, "theme"),
}
