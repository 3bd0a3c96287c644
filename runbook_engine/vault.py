"""ansible-vault compatible encryption: `$ANSIBLE_VAULT;1.1;AES256` and 1.2 (with a vault id).

The format, as ansible-vault writes it:
  key material = PBKDF2-HMAC-SHA256(password, salt(32 bytes), 10000 rounds, 80 bytes)
               = AES-256 key (32) | HMAC key (32) | CTR counter block (16)
  ciphertext   = AES-256-CTR(PKCS7-padded plaintext)
  body         = hex( hex(salt) "\\n" hex(HMAC-SHA256(ciphertext)) "\\n" hex(ciphertext) )
then the header line and the body wrapped at 80 columns. Whole files and inline
`!vault |` YAML values (VaultTagged) use the same envelope.
"""

from __future__ import annotations

import binascii
import getpass
import hmac
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from runbook_engine.errors import InputError
from runbook_engine.loader.yaml_source import VaultTagged
from runbook_engine.secrets import SecretRegistry

HEADER = "$ANSIBLE_VAULT"
PASSWORD_ENV = "RUNBOOK_VAULT_PASSWORD"
DEFAULT_ID = "default"
_ITERATIONS = 10000
_SALT_BYTES = 32


class VaultError(InputError):
    """A vault could not be read: wrong password, damaged or unsupported data."""


@dataclass(frozen=True, slots=True)
class VaultSecret:
    password: bytes
    vault_id: str = DEFAULT_ID


class VaultSecrets:
    """The passwords known for this run; 1.2 envelopes try their vault id's password first."""

    def __init__(self, secrets: Iterable[VaultSecret] = ()) -> None:
        self.secrets = list(secrets)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def for_id(self, vault_id: str | None) -> list[VaultSecret]:
        matching = [s for s in self.secrets if vault_id and s.vault_id == vault_id]
        return matching + [s for s in self.secrets if s not in matching]

    def first(self, vault_id: str | None = None) -> VaultSecret:
        if not self.secrets:
            raise VaultError(
                "a vault password is needed",
                hint=f"give --vault-password-file FILE or set {PASSWORD_ENV}",
            )
        return self.for_id(vault_id)[0]


def is_encrypted(text: str | bytes) -> bool:
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    return text.lstrip().startswith(HEADER + ";")


def _derive(password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
    kdf = PBKDF2HMAC(algorithm=SHA256(), length=80, salt=salt, iterations=_ITERATIONS)
    material = kdf.derive(password)
    return material[:32], material[32:64], material[64:80]


def encrypt(plaintext: str | bytes, secret: VaultSecret, *, with_id: bool | None = None) -> str:
    """The vault envelope of `plaintext`; 1.2 (naming the vault id) unless the id is default."""
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    salt = os.urandom(_SALT_BYTES)
    key, hmac_key, counter = _derive(secret.password, salt)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    mac = hmac.new(hmac_key, ciphertext, sha256).hexdigest().encode()
    body = binascii.hexlify(
        b"\n".join([binascii.hexlify(salt), mac, binascii.hexlify(ciphertext)])
    ).decode()
    if with_id is None:
        with_id = secret.vault_id != DEFAULT_ID
    header = f"{HEADER};1.2;AES256;{secret.vault_id}" if with_id else f"{HEADER};1.1;AES256"
    lines = [header] + [body[i : i + 80] for i in range(0, len(body), 80)]
    return "\n".join(lines) + "\n"


def parse_envelope(text: str) -> tuple[str, str | None, bytes, bytes, bytes]:
    """(version, vault id, salt, hmac hex, ciphertext) of a vault envelope."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines or not lines[0].startswith(HEADER + ";"):
        raise VaultError("not vault-encrypted data (no $ANSIBLE_VAULT header)")
    fields = lines[0].split(";")
    version = fields[1] if len(fields) > 1 else ""
    if version not in ("1.1", "1.2") or len(fields) < 3 or fields[2] != "AES256":
        raise VaultError(f"unsupported vault format: {lines[0]!r} (1.1/1.2 AES256 are read)")
    vault_id = fields[3] if version == "1.2" and len(fields) > 3 else None
    try:
        inner = binascii.unhexlify("".join(lines[1:]))
        salt_hex, mac_hex, cipher_hex = inner.split(b"\n", 2)
        return version, vault_id, binascii.unhexlify(salt_hex), mac_hex.strip(), \
            binascii.unhexlify(cipher_hex.strip())
    except (binascii.Error, ValueError):
        raise VaultError("damaged vault data: the body is not valid hex") from None


def decrypt(text: str, secrets: VaultSecrets) -> str:
    """Plaintext of a vault envelope; a wrong password is a clear error (never shown)."""
    _version, vault_id, salt, mac_hex, ciphertext = parse_envelope(text)
    for secret in secrets.for_id(vault_id):
        key, hmac_key, counter = _derive(secret.password, salt)
        expected = hmac.new(hmac_key, ciphertext, sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, mac_hex):
            continue
        decryptor = Cipher(algorithms.AES(key), modes.CTR(counter)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
        try:
            data = unpadder.update(padded) + unpadder.finalize()
            return data.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise VaultError("damaged vault data: bad padding or not UTF-8 text") from None
    if not secrets:
        secrets.first(vault_id)  # raises: no password at all
    named = f" (vault id {vault_id!r})" if vault_id else ""
    raise VaultError(f"vault decryption failed{named}: wrong password or altered data")


def decrypt_value(value: VaultTagged | str, secrets: VaultSecrets,
                  registry: SecretRegistry | None = None) -> str:
    """Decrypt an inline `!vault` value; the plaintext is registered as a secret."""
    plaintext = decrypt(str(value), secrets)
    if registry is not None:
        registry.add(plaintext)
    return plaintext


def resolve_vault_values(obj: Any, secrets: VaultSecrets,
                         registry: SecretRegistry | None = None) -> Any:
    """Decrypt every VaultTagged inside nested dicts/lists, registering each plaintext."""
    if isinstance(obj, VaultTagged):
        return decrypt_value(obj, secrets, registry)
    if isinstance(obj, dict):
        for key, value in list(obj.items()):  # in place: YamlMap keeps its positions
            obj[key] = resolve_vault_values(value, secrets, registry)
        return obj
    if isinstance(obj, list):
        for index, value in enumerate(obj):
            obj[index] = resolve_vault_values(value, secrets, registry)
        return obj
    return obj


def decrypt_file_text(text: str, secrets: VaultSecrets,
                      registry: SecretRegistry | None = None) -> str:
    """A vars file that may be whole-file encrypted: its plaintext (secret-registered)."""
    if not is_encrypted(text):
        return text
    plaintext = decrypt(text, secrets)
    if registry is not None:
        try:
            register_leaves(yaml.safe_load(plaintext), registry)
        except yaml.YAMLError:
            registry.add(plaintext.strip())
    return plaintext


def register_leaves(obj: Any, registry: SecretRegistry) -> None:
    """Every string value of a decrypted vars file is a secret (keys are not)."""
    if isinstance(obj, dict):
        for value in obj.values():
            register_leaves(value, registry)
    elif isinstance(obj, list):
        for value in obj:
            register_leaves(value, registry)
    elif isinstance(obj, str):
        registry.add(obj)


def inline_yaml(ciphertext: str, name: str | None = None) -> str:
    """How encrypt-string prints a value: ready to paste into a YAML file."""
    body = "\n".join("          " + line for line in ciphertext.rstrip("\n").splitlines())
    prefix = f"{name}: " if name else ""
    return f"{prefix}!vault |\n{body}\n"


# -- passwords --------------------------------------------------------------------------
def read_password_file(path: str | Path, vault_id: str = DEFAULT_ID) -> VaultSecret:
    """A password file, or an executable script printing the password (as ansible does)."""
    path = Path(path)
    try:
        if os.access(path, os.X_OK) and path.is_file():
            done = subprocess.run([str(path)], capture_output=True, timeout=60, check=False)
            if done.returncode != 0:
                raise VaultError(f"vault password script {path} exited with {done.returncode}")
            raw = done.stdout
        else:
            raw = path.read_bytes()
    except FileNotFoundError:
        raise VaultError(f"vault password file not found: {path}") from None
    except OSError as exc:
        raise VaultError(f"cannot read vault password file {path}: {exc.strerror}") from None
    password = raw.strip()
    if not password:
        raise VaultError(f"vault password file {path} is empty")
    return VaultSecret(password, vault_id)


def parse_vault_id(spec: str) -> VaultSecret | None:
    """`--vault-id label@source`: source is a file, or `prompt`."""
    label, sep, source = spec.partition("@")
    if not sep:
        label, source = DEFAULT_ID, spec
    if source == "prompt":
        return prompt_password(label)
    return read_password_file(source, label or DEFAULT_ID)


def prompt_password(vault_id: str = DEFAULT_ID, confirm: bool = False) -> VaultSecret | None:
    if not sys.stdin.isatty():
        return None
    label = "" if vault_id == DEFAULT_ID else f" ({vault_id})"
    password = getpass.getpass(f"Vault password{label}: ")
    if confirm and getpass.getpass(f"Confirm vault password{label}: ") != password:
        raise VaultError("the two passwords differ")
    if not password:
        raise VaultError("an empty vault password is not allowed")
    return VaultSecret(password.encode(), vault_id)


def gather_secrets(
    password_files: Iterable[str] = (),
    vault_ids: Iterable[str] = (),
    *,
    prompt: bool = True,
    confirm: bool = False,
) -> VaultSecrets:
    """Passwords from --vault-id / --vault-password-file, then the env var, then a prompt."""
    found = [s for s in (parse_vault_id(spec) for spec in vault_ids) if s is not None]
    found += [read_password_file(path) for path in password_files]
    env = os.environ.get(PASSWORD_ENV)
    if env:
        found.append(VaultSecret(env.encode()))
    if not found and prompt:
        asked = prompt_password(confirm=confirm)
        if asked is not None:
            found.append(asked)
    return VaultSecrets(found)
