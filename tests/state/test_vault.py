"""Vault: files made by the real ansible-vault (core 2.19) decrypt; our files use the same format.

The fixtures under data/ were produced once with `ansible-vault encrypt` / `encrypt_string`
(1.1, and 1.2 with vault id `prod`); their password is data/vault-password.txt.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_engine.loader.yaml_source import VaultTagged, load_yaml_file, load_yaml_text
from runbook_engine.secrets import SecretRegistry
from runbook_engine.vault import (
    VaultError,
    VaultSecret,
    VaultSecrets,
    decrypt,
    decrypt_file_text,
    encrypt,
    read_password_file,
    resolve_vault_values,
)
from tests.state.journal_helpers import REPO_ROOT

DATA = Path(__file__).parent / "data"
PASSWORD_FILE = DATA / "vault-password.txt"
PASSWORD = PASSWORD_FILE.read_text().strip().encode()


def secrets() -> VaultSecrets:
    return VaultSecrets([read_password_file(PASSWORD_FILE)])


@pytest.mark.parametrize("name", ["vars-1.1.vault.yml", "vars-1.2-prod.vault.yml"])
def test_whole_files_from_ansible_vault_decrypt(name: str) -> None:
    text = (DATA / name).read_text()
    assert text.startswith("$ANSIBLE_VAULT;1.")
    assert decrypt(text, secrets()) == (DATA / "plain-vars.yml").read_text()


def test_inline_values_from_ansible_vault_decrypt_and_become_secrets() -> None:
    registry = SecretRegistry()
    values = {}
    for name in ("inline-1.1.yml", "inline-1.2-prod.yml"):
        loaded = load_yaml_file(DATA / name)
        assert all(isinstance(v, VaultTagged) for v in loaded.values())
        values.update(resolve_vault_values(loaded, secrets(), registry))
    assert values == {"db_password": "inline-S3cret-3", "api_token": "inline-Token-4"}
    assert registry.mask("token inline-Token-4 used") == "token ******** used"


def test_a_1_2_file_prefers_the_password_of_its_vault_id() -> None:
    wrong = VaultSecret(b"not it", "default")
    right = VaultSecret(PASSWORD, "prod")
    text = (DATA / "vars-1.2-prod.vault.yml").read_text()
    assert "vault-fixture-S3cret-1" in decrypt(text, VaultSecrets([wrong, right]))


def test_whole_file_decryption_registers_every_value() -> None:
    registry = SecretRegistry()
    decrypt_file_text((DATA / "vars-1.1.vault.yml").read_text(), secrets(), registry)
    assert "vault-fixture-S3cret-1" in registry and "vault-fixture-Token-2" in registry


def test_wrong_password_and_tampering_are_clear_errors_without_secrets() -> None:
    text = (DATA / "vars-1.1.vault.yml").read_text()
    with pytest.raises(VaultError, match="wrong password") as caught:
        decrypt(text, VaultSecrets([VaultSecret(b"guess")]))
    assert "guess" not in caught.value.render()
    lines = text.splitlines()
    lines[3] = ("0" if lines[3][0] != "0" else "1") + lines[3][1:]
    with pytest.raises(VaultError):
        decrypt("\n".join(lines), secrets())
    with pytest.raises(VaultError, match="password is needed"):
        decrypt(text, VaultSecrets())


def test_our_envelopes_have_ansible_vaults_shape_and_round_trip() -> None:
    plain = "key: välue\n" * 20
    v11 = encrypt(plain, VaultSecret(PASSWORD))
    v12 = encrypt(plain, VaultSecret(PASSWORD, "prod"))
    assert v11.splitlines()[0] == "$ANSIBLE_VAULT;1.1;AES256"
    assert v12.splitlines()[0] == "$ANSIBLE_VAULT;1.2;AES256;prod"
    assert all(len(line) == 80 for line in v11.splitlines()[1:-1])
    assert decrypt(v11, secrets()) == plain == decrypt(v12, secrets())
    assert encrypt(plain, VaultSecret(PASSWORD)) != v11  # a fresh salt every time


def runbook(*argv: str, env: dict[str, str] | None = None,
            stdin: str = "") -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "RUNBOOK_VAULT_PASSWORD"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "runbook_engine", *argv], cwd=REPO_ROOT,
                          input=stdin, capture_output=True, text=True, env=full_env,
                          timeout=60, check=False)


def test_cli_encrypt_view_decrypt_in_place(tmp_path: Path) -> None:
    target = tmp_path / "secrets.yml"
    target.write_text("token: cli-S3cret-5\n")
    done = runbook("vault", "encrypt", "--vault-id", f"prod@{PASSWORD_FILE}", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;prod")
    assert "cli-S3cret-5" not in target.read_text() + done.stdout + done.stderr
    viewed = runbook("vault", "view", str(target),
                     env={"RUNBOOK_VAULT_PASSWORD": PASSWORD.decode()})
    assert viewed.stdout == "token: cli-S3cret-5\n"
    done = runbook("vault", "decrypt", "--vault-password-file", str(PASSWORD_FILE), str(target))
    assert done.returncode == 0 and target.read_text() == "token: cli-S3cret-5\n"


def test_cli_without_a_password_in_ci_exits_2(tmp_path: Path) -> None:
    done = runbook("vault", "view", str(DATA / "vars-1.1.vault.yml"))
    assert done.returncode == 2 and "RUNBOOK_VAULT_PASSWORD" in done.stderr
    done = runbook("vault", "view", str(DATA / "vars-1.1.vault.yml"),
                   env={"RUNBOOK_VAULT_PASSWORD": "wrong"})
    assert done.returncode == 2 and "wrong password" in done.stderr


def test_cli_encrypt_string_prints_yaml_that_loads_and_decrypts() -> None:
    done = runbook("vault", "encrypt-string", "--name", "db_password",
                   "--vault-password-file", str(PASSWORD_FILE), stdin="str-S3cret-6\n")
    assert done.returncode == 0, done.stderr
    loaded = load_yaml_text(done.stdout, "pasted.yml")
    assert isinstance(loaded["db_password"], VaultTagged)
    assert resolve_vault_values(loaded, secrets()) == {"db_password": "str-S3cret-6"}


def test_cli_edit_reencrypts_what_the_editor_saved(tmp_path: Path) -> None:
    target = tmp_path / "prod.yml"
    target.write_text(encrypt("replicas: 2\n", VaultSecret(PASSWORD, "prod")))
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/replicas: 2/replicas: 3/' \"$1\"\n")
    editor.chmod(0o700)
    done = runbook("vault", "edit", "--vault-password-file", str(PASSWORD_FILE), str(target),
                   env={"EDITOR": str(editor)})
    assert done.returncode == 0, done.stderr
    text = target.read_text()
    assert text.startswith("$ANSIBLE_VAULT;1.2;AES256;prod")  # the vault id is kept
    assert decrypt(text, secrets()) == "replicas: 3\n"


def test_an_executable_password_file_is_run(tmp_path: Path) -> None:
    script = tmp_path / "get-password"
    script.write_text(f"#!/bin/sh\necho '{PASSWORD.decode()}'\n")
    script.chmod(0o700)
    assert read_password_file(script).password == PASSWORD
