"""The playbook bundle (what goes in, checksums, tampering) and set-up errors, without
workers: these need no server."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from runbook_engine.cli import main
from runbook_engine.distributed import bundle
from runbook_engine.distributed.sealing import Sealer, SealError
from runbook_engine.loader.playbook import load_playbook


def _project(root: Path) -> Path:
    """A playbook in plays/, its role in a sibling roles/, a template, a vars file one
    level up, and an unrelated big file next to the playbook."""
    files = {
        "plays/site.yml": """
            - hosts: all
              gather_facts: false
              vars_files: [../shared/vars.yml]
              roles: [web]
              tasks:
                - template: {src: motd.j2, dest: /tmp/motd}
        """,
        "plays/templates/motd.j2": "hello {{ name }}\n",
        "plays/unrelated.iso": "x" * 1000,
        "shared/vars.yml": "name: world\n",
        "roles/web/tasks/main.yml": "- debug: {msg: hi}\n",
        "roles/web/templates/page.j2": "page\n",
        "roles/web/.git/config": "secret-ish\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root / "plays" / "site.yml"


def test_bundle_holds_what_the_run_needs_and_roles_next_to_the_playbook(tmp_path: Path):
    playbook = load_playbook(_project(tmp_path / "src"))
    built = bundle.build_bundle(playbook)
    again = bundle.build_bundle(load_playbook(tmp_path / "src" / "plays" / "site.yml"))
    assert built.sha256 == again.sha256 and built.data == again.data  # deterministic
    unpacked = bundle.unpack(built.data, built.sha256, tmp_path / "cache")
    entry = bundle.verify(unpacked)
    assert entry == "plays/site.yml"
    names = sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file())
    assert names == [bundle.MANIFEST, "plays/roles/web/tasks/main.yml",
                     "plays/roles/web/templates/page.j2", "plays/site.yml",
                     "plays/templates/motd.j2", "shared/vars.yml"]
    # the unpacked copy loads on its own, its role found inside the bundle
    loaded = load_playbook(unpacked / entry)
    assert loaded.plays[0].roles[0].path == (unpacked / "plays/roles/web").resolve()


def test_bundle_checksum_and_tampering_are_refused(tmp_path: Path):
    built = bundle.build_bundle(load_playbook(_project(tmp_path / "src")))
    with pytest.raises(bundle.BundleError, match="checksum mismatch"):
        bundle.unpack(built.data[:-1] + b"x", built.sha256, tmp_path / "cache")
    unpacked = bundle.unpack(built.data, built.sha256, tmp_path / "cache")
    (unpacked / "plays/templates/motd.j2").write_text("changed on the worker's disk\n")
    with pytest.raises(bundle.BundleError, match=r"motd\.j2 was altered"):
        bundle.verify(unpacked)


def test_a_sealed_value_opens_only_with_the_same_key():
    token = Sealer("the-shared-key-0123456789").seal({"password": "hunter2"})
    assert "hunter2" not in token
    assert Sealer("the-shared-key-0123456789").open(token) == {"password": "hunter2"}
    with pytest.raises(SealError, match="same RUNBOOK_WORKER_KEY"):
        Sealer("another-key-0123456789").open(token)


def test_missing_key_or_broker_is_a_clear_input_error(tmp_path: Path, capsys,
                                                      monkeypatch: pytest.MonkeyPatch):
    playbook = tmp_path / "pb.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - command: echo hi\n")
    monkeypatch.delenv("RUNBOOK_WORKER_KEY", raising=False)
    assert main(["worker"]) == 2
    assert "RUNBOOK_WORKER_KEY is not set" in capsys.readouterr().err
    args = ["run", str(playbook), "-i", "localhost,", "--executor", "celery", "--no-journal"]
    assert main(args) == 2
    assert "RUNBOOK_WORKER_KEY is not set" in capsys.readouterr().err
    monkeypatch.setenv("RUNBOOK_WORKER_KEY", "k" * 20)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RUNBOOK_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    assert main(args) == 2
    assert f"cannot reach the broker redis://127.0.0.1:{port}/0" in capsys.readouterr().err


def test_worker_connections_are_reused_and_closed_when_idle(monkeypatch):
    from runbook_engine.distributed.worker import ConnectionPool

    monkeypatch.setattr(ConnectionPool, "IDLE_CLOSE", 0.0)
    pool = ConnectionPool()
    local = {"ansible_connection": "local"}
    with pool.lease() as outer:
        first = outer("localhost", local)
        with pool.lease() as inner:
            assert inner("localhost", local) is first  # one connection per host
        assert len(pool) == 1  # still in use by the outer job: kept
    assert len(pool) == 0  # idle now: closed
