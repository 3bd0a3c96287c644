"""playbooks/cms-update.yml end to end through `runbook run`, over SSH, against real
WordPress sites on the sshd test hosts: a preview with --check, a rollout that updates
core and a plugin, and a failed canary that is rolled back and stops the rollout."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.cms.conftest import CliResult
from tests.fixtures.sshd import SSHHost
from tests.fixtures.wordpress import WordPressBuilds, WordPressSite, plugin_zip, read_tree

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
    # The rollout stopped after the canary: the second site was never touched.
    assert read_tree(second.root) == untouched
    assert not (second.root.parent / "backups").exists()
