"""A worker decrypts an inline !vault value once, not once per job; each job still learns
the plaintext as a secret (so its reply is masked), and a job without the right vault
password never gets it from the worker's memory."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from runbook_engine import vault
from runbook_engine.distributed.context import CollectingRegistry
from runbook_engine.distributed.worker import WorkerState
from runbook_engine.loader.yaml_source import VaultTagged


def _job_vault(password: bytes) -> tuple[list[list[str]], vault.VaultSecrets]:
    wire = [[vault.DEFAULT_ID, base64.b64encode(password).decode()]]
    return wire, vault.VaultSecrets([vault.VaultSecret(password)])


def test_a_vaulted_value_is_decrypted_once_per_worker(tmp_path: Path, monkeypatch):
    derived: list[bytes] = []
    real_derive = vault._derive

    def counting_derive(password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
        derived.append(salt)
        return real_derive(password, salt)

    monkeypatch.setattr(vault, "_derive", counting_derive)
    secret = VaultTagged(vault.encrypt("s3cret-Quokka", vault.VaultSecret(b"right")))
    derived.clear()  # encrypt derived a key too
    worker = WorkerState("w1", redis=None, sealer=None, cache_dir=tmp_path)  # type: ignore[arg-type]
    wire, secrets = _job_vault(b"right")
    jobs = [CollectingRegistry() for _ in range(3)]
    for registry in jobs:
        assert worker.revealer(wire, secrets, registry)(secret) == "s3cret-Quokka"
    assert len(derived) == 1, "one key derivation for three jobs"
    assert all(r.learnt == ["s3cret-Quokka"] for r in jobs), "every reply is masked"

    wrong_wire, wrong_secrets = _job_vault(b"wrong")
    with pytest.raises(vault.VaultError, match="wrong password"):
        worker.revealer(wrong_wire, wrong_secrets, CollectingRegistry())(secret)
