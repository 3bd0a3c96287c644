"""The `wordpress` module against real WordPress sites (SQLite, php -S): core 6.4 -> 6.5
and a rolled-back broken update locally and over SSH (`wp_target`); plugin, theme,
pre-flight and bad-archive cases locally (`wp_local`)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

from tests.cms.conftest import WpTarget
from tests.fixtures.wordpress import WordPressBuilds, plugin_zip, read_tree
from tests.harness import make_ctx, run_module


def wp(wpt: WpTarget, site_root: Path, action: str, *, check: bool = False, **args: object):
    ctx = make_ctx(wpt.target, check=check)
    return run_module("wordpress", ctx, {"action": action, "path": str(site_root), **args})


def test_core_update_64_to_65_site_healthy(wp_target: WpTarget, wp_builds: WordPressBuilds):
    site = wp_target.make_site()
    assert site.served_version() == "6.4.5"
    facts = wp(wp_target, site.root, "facts")
    assert facts.data["wordpress"]["version"] == "6.4.5"
    assert facts.data["wordpress"]["plugins"]["rb-hello"]["version"] == "1.0"

    preview = wp(wp_target, site.root, "update_core", check=True, src=str(wp_builds.wp65))
    assert preview.changed and "6.4.5 -> 6.5.5" in preview.msg, preview.msg
    assert site.served_version() == "6.4.5"

    on = wp(wp_target, site.root, "maintenance", state="on")
    assert on.changed and site.get("/")[0] == 503
    core = wp(wp_target, site.root, "update_core", src=str(wp_builds.wp65))
    assert not core.failed and core.changed, core.msg
    assert core.data["update"]["to"] == "6.5.5"
    retired = core.data["update"]["removed_old_files"]  # 6.5's $_old_files present in 6.4
    assert "wp-admin/images/about-header-about.svg" in retired
    assert not any((site.root / path).exists() for path in retired)
    db = wp(wp_target, site.root, "update_db", url=site.url)
    assert db.changed and db.data["update"]["from"] == "56657", db.msg
    off = wp(wp_target, site.root, "maintenance", state="off")
    assert off.changed and not site.maintenance_on()

    health = wp(wp_target, site.root, "health", url=site.url, expect_version="6.5.5",
                pages=["/?page_id=2", "/?p=1"], error_log=str(site.error_log))  # fmt: skip
    assert not health.failed, health.msg
    assert site.served_version() == "6.5.5"
    status, body = site.get("/?p=1")
    assert status == 200 and "Hello world!" in body

    again = wp(wp_target, site.root, "update_core", src=str(wp_builds.wp65))
    assert not again.failed and not again.changed, again.msg
    assert not wp(wp_target, site.root, "update_db", url=site.url).changed



def test_plugin_update_from_local_archive(wp_local: WpTarget, tmp_path: Path):
    site = wp_local.make_site()
    archive = plugin_zip(tmp_path / "rb-hello-1.1.zip", "rb-hello", "1.1")

    preview = wp(wp_local, site.root, "update_plugin", check=True, src=str(archive))
    assert preview.changed and "rb-hello 1.0 -> 1.1" in preview.msg, preview.msg
    assert 'name="rb-hello" content="1.0"' in site.get("/")[1]

    done = wp(wp_local, site.root, "update_plugin", src=str(archive))
    assert done.changed and not done.failed, done.msg
    status, body = site.get("/")
    assert status == 200 and 'name="rb-hello" content="1.1"' in body
    assert not (site.root / "wp-content/plugins/.rb-hello.rb-previous").exists()
    assert not wp(wp_local, site.root, "update_plugin", src=str(archive)).changed

    older = plugin_zip(tmp_path / "rb-hello-0.9.zip", "rb-hello", "0.9")
    refused = wp(wp_local, site.root, "update_plugin", src=str(older))
    assert refused.failed and "downgrade" in refused.msg


def test_plugin_archive_already_on_the_host(wp_local: WpTarget, tmp_path: Path):
    site = wp_local.make_site()
    local = plugin_zip(tmp_path / "rb-hello-1.2.zip", "rb-hello", "1.2")
    on_host = f"{wp_local.target.scratch}/rb-hello-1.2.zip"
    wp_local.target.conn.run(f"cat > {on_host}", stdin=local.read_bytes())
    done = wp(wp_local, site.root, "update_plugin", src=on_host, remote_src=True,
              checksum="sha256:" + "0" * 64)  # fmt: skip
    assert done.failed and "sha256" in done.msg
    digest = hashlib.sha256(local.read_bytes()).hexdigest()
    done = wp(wp_local, site.root, "update_plugin", src=on_host, remote_src=True,
              checksum=f"sha256:{digest}")  # fmt: skip
    assert done.changed and done.data["update"]["sha256"] == digest, done.msg
    assert 'content="1.2"' in site.get("/")[1]


def test_broken_core_update_rolled_back_exactly(wp_target: WpTarget, broken_core_zip: Path):
    site = wp_target.make_site()
    backup_dir = f"{wp_target.target.scratch}/backups"
    offset = wp(wp_target, site.root, "preflight", url=site.url, min_php="7.0",
                error_log=str(site.error_log)).data["error_log_size"]  # fmt: skip

    backup = wp(wp_target, site.root, "backup", backup_dir=backup_dir, name="site")
    assert backup.changed and backup.data["snapshot"]["files"].startswith(backup_dir)
    before_files = read_tree(site.root)  # what the backup holds
    wp(wp_target, site.root, "maintenance", state="on")
    core = wp(wp_target, site.root, "update_core", src=str(broken_core_zip))
    assert core.changed, core.msg  # the archive itself is a valid 6.5.5 tree
    wp(wp_target, site.root, "maintenance", state="off")

    broken = wp(wp_target, site.root, "health", url=site.url, expect_version="6.5.5",
                error_log=str(site.error_log), error_log_offset=offset)  # fmt: skip
    assert broken.failed and site.get("/")[0] == 500
    failed_checks = {c["check"] for c in broken.data["health"]["checks"] if not c["ok"]}
    assert {"http", "error_log"} <= failed_checks, broken.msg

    rollback = wp(wp_target, site.root, "rollback", snapshot=backup.data["snapshot"])
    assert rollback.changed and not rollback.failed, rollback.msg
    # Files and the SQLite database (a file of the tree) are byte for byte as backed up:
    # files the broken release added are gone too.
    after_files = read_tree(site.root)
    assert sorted(after_files) == sorted(before_files)
    assert after_files == before_files
    healthy = wp(wp_target, site.root, "health", url=site.url, expect_version="6.4.5",
                 pages=["/?p=1"])  # fmt: skip
    assert not healthy.failed, healthy.msg
    assert site.served_version() == "6.4.5"
    assert not site.maintenance_on()


def test_preflight_reports_each_check(wp_local: WpTarget):
    site = wp_local.make_site()
    # A rollback empties the site directory: a backup kept inside it is refused up front.
    inside = wp(wp_local, site.root, "backup", backup_dir=f"{site.root}/wp-content/backups")
    assert inside.failed and "inside the site" in inside.msg
    assert not (site.root / "wp-content/backups").exists()
    passed = wp(wp_local, site.root, "preflight", url=site.url, min_php="7.0", min_free_mb=1)
    assert not passed.failed, passed.msg
    assert {c["check"] for c in passed.data["checks"]} >= {"installed", "php", "disk", "http"}
    refused = wp(wp_local, site.root, "preflight", url=site.url, min_php="99.0",
                 verify_checksums=True)  # fmt: skip
    assert refused.failed
    assert {c["check"] for c in refused.data["checks"] if not c["ok"]} == {"php", "checksums"}


def theme_zip(site_root: Path, dest: Path, version: str) -> Path:
    """The site's own twentytwentyfour theme, re-packed with another version number."""
    theme = site_root / "wp-content/themes/twentytwentyfour"
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(theme.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if path.name == "style.css":
                    data = data.replace(b"Version: 1.0", f"Version: {version}".encode(), 1)
                zf.writestr(f"twentytwentyfour/{path.relative_to(theme)}", data)
    return dest


def test_theme_update_keeps_the_site_rendering(wp_local: WpTarget, tmp_path: Path):
    site = wp_local.make_site()
    archive = theme_zip(site.root, tmp_path / "twentytwentyfour.1.1.zip", "1.1")
    done = wp(wp_local, site.root, "update_theme", src=str(archive))
    assert done.changed and "twentytwentyfour 1.0 -> 1.1" in done.msg, done.msg
    facts = wp(wp_local, site.root, "facts").data["wordpress"]
    assert facts["themes"]["twentytwentyfour"]["version"] == "1.1"
    assert site.get("/")[0] == 200


def test_corrupt_release_archive_changes_nothing(wp_local: WpTarget, wp_builds: WordPressBuilds,
                                                 tmp_path: Path):  # fmt: skip
    site = wp_local.make_site()
    truncated = tmp_path / "wordpress-6.5.5.zip"
    truncated.write_bytes(wp_builds.wp65.read_bytes()[: 2 * 1024 * 1024])
    before = read_tree(site.root)
    done = wp(wp_local, site.root, "update_core", src=str(truncated))
    assert done.failed and "unpacking" in done.msg, done.msg
    assert read_tree(site.root) == before
    assert site.served_version() == "6.4.5"

    not_wordpress = plugin_zip(tmp_path / "not-core.zip", "rb-hello", "9.9")
    done = wp(wp_local, site.root, "update_core", src=str(not_wordpress))
    assert done.failed and "not a WordPress release" in done.msg
    assert read_tree(site.root) == before


def test_plugin_archive_from_a_url(wp_local: WpTarget, tmp_path: Path):
    """The controller downloads the archive (a real HTTP server on loopback) for the host."""
    plugin_zip(tmp_path / "rb-hello-1.3.zip", "rb-hello", "1.3")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        site = wp_local.make_site()
        missing = wp(wp_local, site.root, "update_plugin", src=f"{base}/nothing-here.zip")
        assert missing.failed and "404" in missing.msg, missing.msg
        done = wp(wp_local, site.root, "update_plugin", src=f"{base}/rb-hello-1.3.zip")
        assert done.changed and "rb-hello 1.0 -> 1.3" in done.msg, done.msg
        assert 'content="1.3"' in site.get("/")[1]
    finally:
        server.shutdown()
        server.server_close()
