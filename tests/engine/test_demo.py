"""`make demo`'s playbook works on this machine, twice (the second run is idempotent)."""

from __future__ import annotations

from pathlib import Path


def test_demo_playbook_runs_and_restores(runbook, repo_root: Path, tmp_path: Path):
    args = ["run", repo_root / "playbooks/demo.yml", "-i", repo_root / "inventories/local.yml",
            "-e", f"demo_root={tmp_path}"]
    first = runbook(*args)
    assert first.rc == 0, first.out + first.err
    assert "restore drill passed" in first.out
    assert (tmp_path / "site/site.conf").read_text().splitlines()[1:] == [
        "server_name demo.example", f"root {tmp_path}/site", "contact ops@demo.example"]
    for _ in range(4):
        assert runbook(*args).rc == 0
    archives = sorted((tmp_path / "backups").glob("site-*.tar.gz"))
    assert len(archives) == 3, "rotation keeps the newest three"
    assert all(Path(f"{a}.sha256").exists() for a in archives)
