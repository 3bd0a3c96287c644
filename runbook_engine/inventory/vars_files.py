"""`host_vars/` and `group_vars/` beside an inventory or a playbook.

For an entity `name`, the first that exists of `name` (a file, or a directory whose files are
read in sorted order, later ones overriding), `name.yml`, `name.yaml`, `name.json` is read,
as Ansible does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from runbook_engine.errors import InputError, Position
from runbook_engine.loader.yaml_source import YamlMap, load_yaml_text, position_of

VaultFileDecoder = Callable[[str, Path], str]  # (whole-file ciphertext, path) -> plaintext
VAULT_HEADER = "$ANSIBLE_VAULT;"

VARS_EXTENSIONS = (".yml", ".yaml", ".json")
_PREFERENCE = ("", *VARS_EXTENSIONS)


def load_vars_dir(
    directory: Path, names: Iterable[str], vault: VaultFileDecoder | None = None
) -> dict[str, dict[str, Any]]:
    """Variables for each of `names` found in `directory` (e.g. `inventories/group_vars`)."""
    if not directory.is_dir():
        return {}
    present = {entry.name for entry in directory.iterdir() if not entry.name.startswith(".")}
    result: dict[str, dict[str, Any]] = {}
    for name in names:
        chosen = next((name + ext for ext in _PREFERENCE if name + ext in present), None)
        if chosen is None:
            continue
        merged = YamlMap()  # keeps where each variable was written, for error messages
        for path in _files_in(directory / chosen):
            values = _load_mapping(path, vault)
            merged.update(values)
            for key in values:
                where = values.key_positions.get(key) if isinstance(values, YamlMap) else None
                merged.key_positions[key] = where or Position(str(path))
        result[name] = merged
    return result


def _files_in(entry: Path) -> list[Path]:
    if not entry.is_dir():
        return [entry]
    found = [
        p
        for p in sorted(entry.rglob("*"))
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(entry).parts)
        and (p.suffix in VARS_EXTENSIONS or p.suffix == "")
    ]
    return found


def read_text_maybe_vaulted(path: Path, vault: VaultFileDecoder | None) -> str:
    """A file's text, decrypted first when it is a whole-file ansible-vault envelope."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", Position(str(path))) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if not text.lstrip().startswith(VAULT_HEADER):
        return text
    if vault is None:
        raise InputError(
            "this file is vault-encrypted and no vault password was given",
            Position(str(path)),
            hint="pass --vault-password-file FILE or set RUNBOOK_VAULT_PASSWORD",
        )
    return vault(text, path)


def _load_mapping(path: Path, vault: VaultFileDecoder | None) -> dict[str, Any]:
    data = load_yaml_text(read_text_maybe_vaulted(path, vault), str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            f"a vars file holds a mapping of variable names, got {type(data).__name__}",
            position_of(data) or Position(str(path)),
            hint="write one 'name: value' per line",
        )
    return data
