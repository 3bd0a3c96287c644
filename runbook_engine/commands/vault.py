"""`runbook vault encrypt|decrypt|view|edit|encrypt-string`: ansible-vault compatible files."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runbook_engine.vault import VaultSecret, VaultSecrets

HELP = "Encrypt, decrypt, view or edit vault files (ansible-vault 1.1/1.2 AES256 format)."


def configure(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--vault-password-file", action="append", default=[], metavar="FILE",
                        help="file holding the password (or an executable printing it)")
    common.add_argument("--vault-id", action="append", default=[], metavar="LABEL@SOURCE",
                        help="password with a vault id (SOURCE: a file or 'prompt'); the "
                             "first one's label is written into new 1.2 envelopes")
    actions = parser.add_subparsers(dest="vault_action", metavar="ACTION", required=True)
    for name, text in (("encrypt", "encrypt files in place"),
                       ("decrypt", "decrypt files in place"),
                       ("view", "print the plaintext of vault files"),
                       ("edit", "edit a vault file in $EDITOR, re-encrypting it on save")):
        child = actions.add_parser(name, parents=[common], help=text, description=text)
        child.add_argument("files", nargs="+" if name != "edit" else 1, metavar="FILE")
        if name in ("encrypt", "decrypt"):
            child.add_argument("--output", metavar="FILE",
                               help="write here instead of in place ('-' for stdout)")
    child = actions.add_parser(
        "encrypt-string", parents=[common], help="encrypt one value for an inline !vault",
        description="Encrypt one value; prints a `!vault |` block to paste into YAML.")
    child.add_argument("value", nargs="?", help="the value (default: read from stdin)")
    child.add_argument("--name", help="print it as `NAME: !vault |`")


def main(args: argparse.Namespace) -> int:
    from runbook_engine import vault

    action = args.vault_action
    secrets = vault.gather_secrets(args.vault_password_file, args.vault_id,
                                   confirm=action in ("encrypt", "encrypt-string"))
    if action == "encrypt-string":
        value = args.value if args.value is not None else sys.stdin.read().rstrip("\n")
        ciphertext = vault.encrypt(value, _writer(secrets, args))
        sys.stdout.write(vault.inline_yaml(ciphertext, args.name))
        return 0
    if action == "edit":
        return _edit(Path(args.files[0]), secrets, args)
    output = getattr(args, "output", None)
    if output and len(args.files) > 1:
        raise vault.VaultError("--output takes a single input file")
    for name in args.files:
        path = Path(name)
        text = _read(path)
        if action == "encrypt":
            if vault.is_encrypted(text):
                raise vault.VaultError(f"{path} is already vault-encrypted")
            result = vault.encrypt(text, _writer(secrets, args))
        else:
            result = vault.decrypt(text, secrets)
        if action == "view" or output == "-":
            sys.stdout.write(result)
        else:
            _write_private(Path(output) if output else path, result)
            print(f"{action}ed {path}" if not output else f"{action}ed {path} -> {output}",
                  file=sys.stderr)
    return 0


def _writer(secrets: VaultSecrets, args: argparse.Namespace) -> VaultSecret:
    """The password new envelopes are written with: the first --vault-id's, labelled."""
    label = None
    if args.vault_id and "@" in args.vault_id[0]:
        label = args.vault_id[0].partition("@")[0]
    return secrets.first(label)


def _read(path: Path) -> str:
    from runbook_engine.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def _write_private(path: Path, text: str) -> None:
    """Write atomically; the file keeps its mode, a new one is private."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _edit(path: Path, secrets: VaultSecrets, args: argparse.Namespace) -> int:
    from runbook_engine import vault

    existing = path.exists()
    plaintext = vault.decrypt(_read(path), secrets) if existing else ""
    writer = _writer(secrets, args)
    if existing:
        _version, vault_id, *_ = vault.parse_envelope(_read(path))
        if vault_id:  # keep the file's vault id when re-encrypting
            writer = vault.VaultSecret(secrets.first(vault_id).password, vault_id)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    # The plaintext lives only in a private directory, and is overwritten before removal.
    with tempfile.TemporaryDirectory(prefix="runbook-vault-") as private:
        os.chmod(private, 0o700)
        scratch = Path(private) / path.name
        scratch.write_text(plaintext, encoding="utf-8")
        scratch.chmod(0o600)
        try:
            done = subprocess.run([*shlex.split(editor), str(scratch)], check=False)
            edited = scratch.read_text(encoding="utf-8")
        finally:
            if scratch.exists():
                scratch.write_bytes(b"\0" * max(scratch.stat().st_size, 1))
    if done.returncode != 0:
        print(f"editor exited with {done.returncode}; {path} left unchanged", file=sys.stderr)
        return 1
    if existing and edited == plaintext:
        print(f"{path} unchanged", file=sys.stderr)
        return 0
    _write_private(path, vault.encrypt(edited, writer))
    print(f"saved {path}", file=sys.stderr)
    return 0
