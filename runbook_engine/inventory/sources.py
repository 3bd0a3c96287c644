"""`-i` sources: files (YAML, INI, executable scripts), directories and `h1,h2,` lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from runbook_engine.errors import InputError
from runbook_engine.inventory.data import UNGROUPED, InventoryData
from runbook_engine.inventory.ini_format import parse_ini_inventory
from runbook_engine.inventory.inventory import Inventory
from runbook_engine.inventory.patterns import LOCALHOST_NAMES
from runbook_engine.inventory.script_format import is_inventory_script, run_inventory_script
from runbook_engine.inventory.vars_files import (
    VaultFileDecoder,
    load_vars_dir,
    read_text_maybe_vaulted,
)
from runbook_engine.inventory.yaml_format import parse_yaml_inventory
from runbook_engine.loader.yaml_source import load_yaml_text

YAML_SUFFIXES = (".yml", ".yaml", ".json")
VARS_DIR_NAMES = ("group_vars", "host_vars")
# files a directory source skips, as Ansible's INVENTORY_IGNORE_EXTS does
IGNORED_SUFFIXES = (".orig", ".cfg", ".retry", ".pyc", ".pyo", ".swp", ".bak", ".rpm", ".md",
                    ".txt", ".rst")
_HOST_PORT = re.compile(r"^(?P<name>[^:]+):(?P<port>\d+)$")


def load_inventory(
    sources: Sequence[str | Path],
    extra_var_dirs: Sequence[Path] = (),
    *,
    vault: VaultFileDecoder | None = None,
) -> Inventory:
    """Load every `-i` source into one inventory, with the host_vars/ and group_vars/
    beside each source, then beside each of `extra_var_dirs` (the playbook's directory).
    `vault` decrypts whole-file encrypted inventories and vars files."""
    data = InventoryData()
    base_dirs: list[Path] = []
    for source in sources:
        _load_source(str(source), data, base_dirs, vault)
    data.reconcile()
    var_dirs = list(dict.fromkeys(p.resolve() for p in [*base_dirs, *map(Path, extra_var_dirs)]))
    host_names = [*data.hosts, *LOCALHOST_NAMES]
    group_layers = [load_vars_dir(d / "group_vars", data.groups, vault) for d in var_dirs]
    host_layers = [load_vars_dir(d / "host_vars", host_names, vault) for d in var_dirs]
    return Inventory(data, group_layers, host_layers, [str(s) for s in sources])


def _load_source(
    source: str, data: InventoryData, base_dirs: list[Path], vault: VaultFileDecoder | None
) -> None:
    path = Path(source)
    if path.is_dir():
        base_dirs.append(path)
        _load_directory(path, data, vault)
    elif path.exists():
        base_dirs.append(path.parent)
        load_inventory_file(path, data, vault)
    elif "," in source:
        _load_host_list(source, data)
    else:
        raise InputError(
            f"inventory source '{source}' not found",
            hint=f"to target one host without an inventory file, write '-i {source},'",
        )


def _load_directory(directory: Path, data: InventoryData, vault: VaultFileDecoder | None) -> None:
    for entry in sorted(directory.iterdir()):
        name = entry.name
        if name.startswith(".") or name.endswith("~") or name in VARS_DIR_NAMES:
            continue
        if entry.is_dir():
            _load_directory(entry, data, vault)
        elif entry.suffix not in IGNORED_SUFFIXES:
            load_inventory_file(entry, data, vault)


def load_inventory_file(
    path: Path, data: InventoryData, vault: VaultFileDecoder | None = None
) -> None:
    """One file, by kind: an executable script, YAML (by suffix or content), else INI."""
    if is_inventory_script(path):
        run_inventory_script(path, data)
        return
    text = read_text_maybe_vaulted(path, vault)
    if path.suffix in YAML_SUFFIXES:
        parse_yaml_inventory(load_yaml_text(text, str(path)), path, data)
        return
    if path.suffix != ".ini":
        try:
            document = load_yaml_text(text, str(path))
        except InputError:
            document = None
        if isinstance(document, dict):
            parse_yaml_inventory(document, path, data)
            return
    parse_ini_inventory(text, path, data)


def _load_host_list(source: str, data: InventoryData) -> None:
    for item in source.split(","):
        name = item.strip()
        if not name:
            continue
        port = None
        match = _HOST_PORT.match(name)
        if match:
            name, port = match["name"], int(match["port"])
        host = data.add_host(name, UNGROUPED)
        if port is not None:
            host.set_vars({"ansible_port": port}, None)
