"""`wp_target`: a target (local or an sshd test host) plus a factory of WordPress sites
living on it, owned by (and served as) the target's user."""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_harness import CliResult, run_in_process
from tests.fixtures.wordpress import WordPressBuilds, WordPressSite
from tests.harness import Target


@dataclass
class WpTarget:
    target: Target
    make_site: Callable[[], WordPressSite]


@pytest.fixture
def wp_target(target: Target, wordpress_site: Callable[..., WordPressSite],
              request: pytest.FixtureRequest) -> WpTarget:  # fmt: skip
    owner = None
    if target.name != "localhost":
        owner = request.getfixturevalue("ssh_hosts")[0].user
    return WpTarget(target, lambda: wordpress_site(target.scratch, owner))


@pytest.fixture
def wp_local(wordpress_site: Callable[..., WordPressSite],
             tmp_path_factory: pytest.TempPathFactory) -> WpTarget:  # fmt: skip
    """The local target only: for cases whose SSH path the two-target tests already cover
    (the machine is shared; every site costs PHP requests)."""
    from runbook_engine.connection.local import LocalConnection

    scratch = tmp_path_factory.mktemp("wp-local")
    target = Target("localhost", LocalConnection(), str(scratch))
    return WpTarget(target, lambda: wordpress_site(scratch))


@pytest.fixture(scope="session")
def broken_core_zip(wp_builds: WordPressBuilds, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """WordPress 6.5 whose wp-settings.php dies with a fatal error on every request: the
    archive unpacks and says 6.5.5, the site it makes is broken."""
    path = tmp_path_factory.mktemp("broken") / "wordpress-6.5.5-broken.zip"
    with zipfile.ZipFile(wp_builds.wp65) as src, zipfile.ZipFile(path, "w") as dest:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "wp-settings.php":
                data = data.replace(b"<?php", b"<?php\nrb_this_function_does_not_exist();", 1)
            dest.writestr(info, data)
    return path


@pytest.fixture
def runbook_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., CliResult]:
    """Run the `runbook` CLI in this process (run journal in the test's own directory);
    returns rc, stdout, stderr."""
    monkeypatch.setenv("RUNBOOK_STATE_DIR", str(tmp_path / "state"))
    return functools.partial(run_in_process, capsys)
