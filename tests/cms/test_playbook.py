"""playbooks/cms-update.yml end to end through `runbook run`, over SSH, against real
WordPress sites on the sshd test hosts: a preview with --check, a rollout that updates
core and a plugin, and a failed canary that is rolled back and stops the rollout."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.cli_harness import CliResult
from tests.fixtures.sshd import SSHHost
from tests.fixtures.wordpress import (
    WordPressBuilds,
    WordPressSite,
    database_rows,
    option,
    plugin_zip,
    read_tree,
)

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks/cms-update.yml"


def sites_on(hosts: list[SSHHost], wordpress_site: Callable[..., WordPressSite],
             name: str) -> list[WordPressSite]:  # fmt: skip
    sites = []
    for host in hosts:
        parent = Path(host.scratch) / name
        subprocess.run(["rm", "-rf", str(parent)], check=True)
        parent.mkdir()
        subprocess.run(["chown", f"{host.user}:", str(parent)], check=True)
        sites.append(wordpress_site(parent, host.user))
    return sites


def inventory(path: Path, hosts: list[SSHHost], sites: list[WordPressSite],
              common: dict[str, Any]) -> Path:  # fmt: skip
    members = {}
    for host, site in zip(hosts, sites, strict=True):
        members[host.name] = {
            **host.inventory_vars(),
            "wordpress_path": str(site.root),
            "wordpress_url": site.url,
            "wordpress_error_log": str(site.error_log),
            "wordpress_backup_dir": f"{site.root.parent}/backups",
        }
    data = {"all": {"vars": common, "children": {"wordpress": {"hosts": members}}}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def journal_steps(runbook_cli: Callable[..., CliResult], host: str) -> list[tuple[str, str, str]]:
    """(task name, status, msg) of the last run's non-skipped steps on `host`, in order."""
    shown = runbook_cli("show", "last", "--format", "json", "--host", host)
    assert shown.rc == 0, shown.err
    rows = json.loads(shown.out)["tasks"]
    return [(r["task_name"], r["status"], r["msg"]) for r in rows if r["status"] != "skipped"]


def common_vars(builds: WordPressBuilds, plugin: Path) -> dict[str, Any]:
    return {
        "wordpress_core_src": str(builds.wp65),
        "wordpress_plugins": [{"name": "rb-hello", "src": str(plugin)}],
        "wordpress_pages": ["/?p=1", "/?page_id=2"],
        "wordpress_min_php": "7.4",
        "wordpress_min_free_mb": 10,
    }


def test_check_then_rollout_over_ssh(
    ssh_hosts: list[SSHHost], wordpress_site: Callable[..., WordPressSite],
    wp_builds: WordPressBuilds, runbook_cli: Callable[..., CliResult], tmp_path: Path,
) -> None:  # fmt: skip
    hosts = ssh_hosts[:2]
    sites = sites_on(hosts, wordpress_site, "rollout")
    plugin = plugin_zip(tmp_path / "rb-hello-1.1.zip", "rb-hello", "1.1")
    inv = inventory(tmp_path / "inv.yml", hosts, sites, common_vars(wp_builds, plugin))
    before = [read_tree(site.root) for site in sites]

    preview = runbook_cli("run", PLAYBOOK, "-i", inv, "--check")
    assert preview.rc == 0, preview.out + preview.err
    assert "would update WordPress 6.4.5 -> 6.5.5" in preview.out
    assert "would update rb-hello 1.0 -> 1.1" in preview.out
    for site, tree in zip(sites, before, strict=True):
        assert site.served_version() == "6.4.5"
        assert read_tree(site.root) == tree
        assert not (site.root.parent / "backups").exists()

    done = runbook_cli("run", PLAYBOOK, "-i", inv)
    assert done.rc == 0, done.out + done.err
    for site in sites:
        assert site.served_version() == "6.5.5"
        status, body = site.get("/?p=1")
        assert status == 200 and 'name="rb-hello" content="1.1"' in body
        assert not site.maintenance_on()
        assert list((site.root.parent / "backups").glob("wordpress-*.tar.gz"))

    again = runbook_cli("run", PLAYBOOK, "-i", inv)
    assert again.rc == 0, again.out + again.err
    assert "WordPress is already at 6.5.5" in again.out


def test_failed_canary_is_rolled_back_and_stops_the_rollout(
    ssh_hosts: list[SSHHost], wordpress_site: Callable[..., WordPressSite],
    wp_builds: WordPressBuilds, runbook_cli: Callable[..., CliResult], tmp_path: Path,
) -> None:  # fmt: skip
    hosts = ssh_hosts[:2]
    sites = sites_on(hosts, wordpress_site, "canary")
    fatal = plugin_zip(tmp_path / "rb-hello-2.0.zip", "rb-hello", "2.0",
                       extra_php="rb_hello_undefined_function();")  # fmt: skip
    inv = inventory(tmp_path / "inv.yml", hosts, sites, common_vars(wp_builds, fatal))
    untouched = read_tree(sites[1].root)
    rows_before = database_rows(sites[0].root)
    assert option(rows_before, "db_version") == "56657"

    done = runbook_cli("run", PLAYBOOK, "-i", inv)
    assert done.rc == 4, done.out + done.err
    assert "failed and was rolled back to 6.4.5" in done.out
    assert "max_fail_percentage" in done.out + done.err

    canary, second = sites
    snapshot = next((canary.root.parent / "backups").glob("wordpress-*.tar.gz"))
    assert snapshot.exists()
    assert canary.served_version() == "6.4.5"
    status, body = canary.get("/?p=1")
    assert status == 200 and 'name="rb-hello" content="1.0"' in body
    assert not canary.maintenance_on()
    # The 6.5 database upgrade (db_version 57155) was undone with the files.
    steps = journal_steps(runbook_cli, "testhost1")
    assert [name for name, _status, _msg in steps] == [
        "Pre-flight (PHP, disk space, checksums, the site answers)",
        f"Back up files and database to {canary.root.parent}/backups",
        "Maintenance mode on",
        "Update WordPress core",
        "Upgrade the database",
        "Update plugins",
        # "Update themes" loops over nothing: recorded as skipped, as Ansible shows it
        "Maintenance mode off",
        "Health check after the update",
        "Roll back from the local backup",
        "Health check after the rollback",
        "The update failed and was rolled back",
        "Maintenance mode is off, whatever happened",
    ]
    messages = {name: (status, msg) for name, status, msg in steps}
    assert messages["Upgrade the database"] == ("changed", "updated db_version 56657 -> 57155")
    assert messages["Health check after the update"][0] == "failed"
    assert "PHP fatal" in messages["Health check after the update"][1]
    assert messages["Health check after the rollback"][1].startswith("healthy (WordPress 6.4.5")
    assert database_rows(canary.root) == rows_before
    # The rollout stopped after the canary: the second site was never touched.
    assert read_tree(second.root) == untouched
    assert not (second.root.parent / "backups").exists()


def test_broken_release_from_s3_rolled_back_from_the_s3_backup(
    ssh_hosts: list[SSHHost], wordpress_site: Callable[..., WordPressSite],
    wp_builds: WordPressBuilds, runbook_cli: Callable[..., CliResult], tmp_path: Path,
    seaweedfs: Any, broken_core_zip: Path,
) -> None:  # fmt: skip
    """The release comes from S3, the pre-update backup goes to S3 (the backup module) and
    the rollback comes back from it (the restore module)."""
    hosts = ssh_hosts[:1]
    sites = sites_on(hosts, wordpress_site, "s3")
    s3 = seaweedfs.s3_args()
    access = {k: s3[k] for k in ("endpoint_url", "region", "access_key", "secret_key")}
    seaweedfs.client().put_object(Bucket=s3["bucket"], Key="releases/wordpress-6.5.5.zip",
                                  Body=broken_core_zip.read_bytes())  # fmt: skip
    common = {
        "wordpress_core_src": f"s3://{s3['bucket']}/releases/wordpress-6.5.5.zip",
        "wordpress_release_s3": access,
        "wordpress_backup": "s3",
        "wordpress_backup_name": "wp-site",
        "wordpress_backup_s3": {**access, "bucket": s3["bucket"], "prefix": "cms-tests"},
        "wordpress_pages": ["/?p=1"],
    }
    inv = inventory(tmp_path / "inv.yml", hosts, sites, common)
    site = sites[0]
    before = read_tree(site.root)
    rows_before = database_rows(site.root)

    done = runbook_cli("run", PLAYBOOK, "-i", inv)
    assert done.rc == 4, done.out + done.err
    assert "failed and was rolled back to 6.4.5" in done.out
    assert database_rows(site.root) == rows_before
    assert str(s3["secret_key"]) not in done.out + done.err

    listed = seaweedfs.client().list_objects_v2(Bucket=s3["bucket"], Prefix="cms-tests/")
    assert any("wp-site-" in o["Key"] for o in listed.get("Contents", []))
    assert site.served_version() == "6.4.5"
    assert not site.maintenance_on()
    after = read_tree(site.root)
    assert sorted(after) == sorted(before)  # the broken release's new files are gone
    changed = [name for name in before if after[name] != before[name]]
    assert changed in ([], ["wp-content/database/.ht.sqlite"])  # health checks visit the site
    assert not Path(f"{site.root.parent}/backups/restore-staging").exists()
