"""Durable runs end to end: resume after a failure and after a SIGKILL, host locks,
approvals from another process, secrets kept out of every output, PostgreSQL journal."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.conftest import runbook_process


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A history of its own for each test (and for the child processes it starts)."""
    directory = tmp_path / "state"
    monkeypatch.setenv("RUNBOOK_STATE_DIR", str(directory))
    monkeypatch.delenv("RUNBOOK_STATE_URL", raising=False)
    return directory


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.05)


def _history(runbook) -> list[dict]:
    result = runbook("history", "--format", "json")
    assert result.rc == 0, result.err
    data = json.loads(result.out)
    return data["runs"] if isinstance(data, dict) else data


def test_resume_after_failure_skips_done_work_and_restores_registered(
        state_dir, write, runbook, tmp_path: Path):
    log = tmp_path / "log"
    flag = tmp_path / "flag"
    pb = write("site.yml", f"""
        - hosts: all
          gather_facts: false
          tasks:
            - name: first
              shell: echo "first {{{{ inventory_hostname }}}}" >> {log}; echo token-$RANDOM
              register: first
            - name: second
              shell: test -f {flag} || test {{{{ inventory_hostname }}}} = a
            - name: third
              shell: echo "third {{{{ inventory_hostname }}}} {{{{ first.stdout }}}}" >> {log}
    """)
    inv = write("inv.yml", """
        all:
          hosts:
            a: {ansible_connection: local}
            b: {ansible_connection: local}
    """)
    failed = runbook("run", pb, "-i", inv)
    assert failed.rc == 4
    first_lines = log.read_text().splitlines()
    token_b = next(line for line in first_lines if line.startswith("third a"))  # a finished
    assert "first b" in first_lines and not any(x.startswith("third b") for x in first_lines)
    run_id = _history(runbook)[0]["id"]

    flag.touch()
    resumed = runbook("resume", run_id)
    assert resumed.rc == 0, resumed.out + resumed.err
    lines = log.read_text().splitlines()
    assert lines.count("first a") == 1 and lines.count("first b") == 1, "done work not redone"
    assert sum(1 for x in lines if x.startswith("third a")) == 1, "finished host untouched"
    third_b = [x for x in lines if x.startswith("third b")]
    assert len(third_b) == 1 and "token-" in third_b[0], "registered var restored"
    assert token_b  # host a's own third line is unchanged
    assert "nothing to resume" in runbook("resume", "last").out


def test_sigkilled_controller_then_resume(state_dir, write, runbook, tmp_path: Path):
    started = tmp_path / "started"
    log = tmp_path / "log"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: quick
              shell: echo quick >> {log}
            - name: slow
              shell: echo slow >> {log}; touch {started}; sleep 60
              when: not lookup('env', 'FAST') | bool
            - name: slow (fast mode)
              shell: echo slow-fast >> {log}
              when: lookup('env', 'FAST') | bool
            - name: last
              shell: echo last >> {log}
    """)
    proc = subprocess.Popen([sys.executable, "-m", "runbook_engine", "run", str(pb), "-i",
                             "localhost,"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(started)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    runs = _history(runbook)
    assert runs[0]["status"] == "interrupted"
    run_id = runs[0]["id"]
    os.environ["FAST"] = "1"
    try:
        resumed = runbook("resume", run_id)
    finally:
        del os.environ["FAST"]
    assert resumed.rc == 0, resumed.out + resumed.err
    assert log.read_text().split() == ["quick", "slow", "slow-fast", "last"]
    shown = runbook("show", _history(runbook)[0]["id"], "--format", "json").out
    assert "rerun" in shown.lower()


def test_second_run_on_a_locked_host_is_refused(state_dir, write, runbook, tmp_path: Path):
    started = tmp_path / "started"
    pb_slow = write("slow.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: touch {started}; sleep 60
    """)
    pb_other = write("other.yml", """
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: "true"
    """)
    holder = subprocess.Popen([sys.executable, "-m", "runbook_engine", "run", str(pb_slow),
                               "-i", "localhost,"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        _wait_for(started)
        refused = runbook("run", pb_other, "-i", "localhost,")
        assert refused.rc == 16
        assert "locked by run" in refused.err and "slow.yml" in refused.err
        assert "--wait-lock" in refused.err
        locks = runbook("locks")
        assert "localhost" in locks.out
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=30)
    assert runbook("run", pb_other, "-i", "localhost,").rc == 0, "lease released at the end"


def test_approval_granted_from_a_second_process(state_dir, write, runbook, tmp_path: Path):
    done = tmp_path / "done"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: Restart the database
              approve:
                message: restart prod db?
                timeout: 120
            - shell: touch {done}
    """)
    proc = subprocess.Popen([sys.executable, "-m", "runbook_engine", "run", str(pb), "-i",
                             "localhost,", "--non-interactive"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    run_id = None
    while time.monotonic() < deadline and run_id is None:
        shown = runbook_process("show", "last", "--format", "json")
        if shown.rc == 0 and "restart prod db" in shown.out:
            run_id = json.loads(shown.out)["id"]
        else:
            time.sleep(0.2)
    assert run_id, "the run never asked for approval"
    assert not done.exists()
    approved = runbook_process("approve", run_id, "--step", "Restart the database")
    assert approved.rc == 0, approved.err
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert done.exists()


def test_denied_approval_fails_cleanly_and_preapproval_passes(state_dir, write, runbook,
                                                                tmp_path: Path):
    done = tmp_path / "done"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: gate
              approve:
                message: go?
                timeout: 1
            - shell: touch {done}
    """)
    timed_out = runbook("run", pb, "-i", "localhost,", "--non-interactive")
    assert timed_out.rc == 4 and "timed out" in timed_out.out
    assert not done.exists()
    assert runbook("run", pb, "-i", "localhost,", "--approve", "gate").rc == 0
    assert done.exists()


def test_secrets_absent_from_every_output_and_the_database(state_dir, write, runbook,
                                                           tmp_path: Path):
    from runbook_engine import vault

    password = "vault-pass-123"
    cipher = vault.encrypt("db-password-S3CR3T", vault.VaultSecret(password.encode()))
    (tmp_path / "pw").write_text(password)
    indented = "\n".join("      " + line for line in cipher.splitlines())
    write("group_vars/all.yml", f"db_password: !vault |\n{indented}\n")
    pb = write("site.yml", """
        - hosts: localhost
          gather_facts: false
          params:
            - {name: api_token, type: secret}
          tasks:
            - shell: echo "connecting with {{ db_password }} and {{ api_token }}"
              register: out
            - debug:
                msg: "{{ out.stdout }}"
            - shell: echo "{{ api_token }}" && exit 3
              ignore_errors: true
    """)
    junit = tmp_path / "r.xml"
    result = runbook("run", pb, "-i", "localhost,", "--vault-password-file", tmp_path / "pw",
                     "-p", "api_token=TOKEN-XYZZY-42", "--format", "json", "--junit", junit,
                     "-e", "ansible_become_password=BECOME-PW-7731", "-vvv")
    assert result.rc == 0, result.out + result.err
    assert "connecting with" in result.out
    everything = result.out + result.err + junit.read_text()
    shown = runbook("show", "last", "--format", "json")
    everything += shown.out + runbook("history", "--format", "json").out
    for path in state_dir.glob("state.db*"):
        everything += path.read_bytes().decode("latin-1")
    assert not list(state_dir.glob("journal/*")), "the run's journal spool was left behind"
    with sqlite3.connect(state_dir / "state.db") as db:
        everything += "\n".join(str(row) for table in ("runs", "task_results", "host_vars")
                                for row in db.execute(f"SELECT * FROM {table}"))
    for secret_text in ("db-password-S3CR3T", "TOKEN-XYZZY-42", "BECOME-PW-7731"):
        assert secret_text not in everything


def test_journal_in_postgresql(postgres_db, write, runbook, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("RUNBOOK_STATE_URL", postgres_db)
    pb = write("site.yml", """
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: /bin/false
    """)
    assert runbook("run", pb, "-i", "localhost,").rc == 4
    runs = _history(runbook)
    assert runs[0]["status"] == "failed" and runs[0]["playbook"].endswith("site.yml")


def test_retry_failed_hosts_and_describe(state_dir, write, runbook, tmp_path: Path):
    log = tmp_path / "log"
    flag = tmp_path / "flag"
    pb = write("site.yml", f"""
        - name: Patch the fleet
          description: |
            Applies the patch; safe to rerun.
          hosts: all
          gather_facts: false
          params:
            - {{name: ticket, type: str, pattern: "^OPS-[0-9]+$", description: the change ticket}}
          tasks:
            - name: Gate
              approve: {{message: "patch {{{{ ticket }}}}?"}}
            - name: Patch
              shell: >
                echo "{{{{ inventory_hostname }}}}" >> {log};
                test -f {flag} || test {{{{ inventory_hostname }}}} = a
    """)
    inv = write("inv.yml", """
        all:
          hosts:
            a: {ansible_connection: local}
            b: {ansible_connection: local}
    """)
    described = runbook("describe", pb, "-i", inv)
    assert described.rc == 0
    for text in ("Patch the fleet", "Applies the patch", "-p ticket=<str>", "the change ticket",
                 "[APPROVAL]", "2 hosts: a, b"):
        assert text in described.out, text
    bad = runbook("run", pb, "-i", inv, "-p", "ticket=nope", "--approve", "all")
    assert bad.rc == 2 and "ticket" in bad.err
    first = runbook("run", pb, "-i", inv, "-p", "ticket=OPS-1", "--approve", "all")
    assert first.rc == 4
    flag.touch()
    retried = runbook("retry", "last", "--failed-hosts", "--approve", "all")
    assert retried.rc == 0, retried.out + retried.err
    assert sorted(log.read_text().split()) == ["a", "b", "b"], "only the failed host ran again"


def test_failure_notification_reaches_a_webhook(state_dir, write, runbook):
    import http.server
    import threading

    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        pb = write("site.yml", f"""
            - hosts: localhost
              gather_facts: false
              notify:
                urls: ["{url}"]
                on: [success]
              tasks:
                - command: "{{{{ cmd }}}}"
        """)
        assert runbook("run", pb, "-i", "localhost,", "-e", "cmd=/bin/false").rc == 4
        assert received == [], "on: [success] does not announce a failure"
        assert runbook("run", pb, "-i", "localhost,", "-e", "cmd=true").rc == 0
        assert len(received) == 1
        assert received[0]["event"] == "success" and received[0]["exit_code"] == 0
        assert "site.yml" in json.dumps(received[0])
        bad = write("bad.yml", """
            - hosts: localhost
              notify: {urls: ["http://127.0.0.1:9/x"], on: [failur]}
              tasks:
                - command: "true"
        """)
        rejected = runbook("run", bad, "-i", "localhost,")
        assert rejected.rc == 2 and "bad.yml:1" in rejected.err
    finally:
        server.shutdown()


def test_resume_never_replays_a_masked_secret(state_dir, write, runbook, tmp_path: Path):
    out = tmp_path / "out"
    flag = tmp_path / "flag"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          params:
            - {{name: token, type: secret}}
          tasks:
            - shell: test -f {flag}
            - shell: echo "{{{{ url }}}}" > {out}
              no_log: true
    """)
    first = runbook("run", pb, "-i", "localhost,", "-p", "token=S3CRET-777",
                    "-e", "url=https://u:S3CRET-777@example.test")
    assert first.rc == 4
    flag.touch()
    missing = runbook("resume", "last", "-p", "token=S3CRET-777")
    assert missing.rc == 2, "the masked url is not replayed: it must be given again"
    assert "url" in missing.err and "give them again with -e" in missing.err
    resumed = runbook("resume", "last", "-p", "token=S3CRET-777",
                      "-e", "url=https://u:S3CRET-777@example.test")
    assert resumed.rc == 0, resumed.out + resumed.err
    assert out.read_text() == "https://u:S3CRET-777@example.test\n"
