"""`runbook inventory`: show hosts, groups and merged variables, like ansible-inventory."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Show an inventory: groups, hosts and their merged variables (like ansible-inventory)."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i", "--inventory", action="append", required=True, metavar="INVENTORY",
        help="inventory file, directory, script or 'h1,h2,' list (repeatable)",
    )
    view = parser.add_mutually_exclusive_group(required=True)
    view.add_argument("--list", action="store_true", help="every group and host, as JSON")
    view.add_argument("--graph", nargs="?", const="all", metavar="GROUP",
                      help="the group tree (from GROUP, default all)")
    view.add_argument("--host", metavar="NAME", help="the merged variables of one host")
    parser.add_argument("-y", "--yaml", action="store_true", help="YAML instead of JSON")
    parser.add_argument("-l", "--limit", metavar="PATTERN",
                        help="only hosts matching PATTERN ('@file' reads names from a file)")
    parser.add_argument("--vars", action="store_true", help="with --graph, show variables")
    parser.add_argument("--playbook-dir", type=Path, metavar="DIR",
                        help="also read group_vars/ and host_vars/ beside DIR")
    parser.add_argument("--vault-password-file", type=Path, metavar="FILE",
                        help="read vault-encrypted files (their values are shown masked); "
                        "or set RUNBOOK_VAULT_PASSWORD")


def main(args: argparse.Namespace) -> int:
    import json

    import yaml

    from runbook_engine.inventory import load_inventory
    from runbook_engine.inventory.render import (
        graph_lines,
        list_view,
        masking_vault_decoder,
        plain,
        yaml_list_view,
    )

    extra = [args.playbook_dir] if args.playbook_dir else []
    decoder = masking_vault_decoder(args.vault_password_file)
    inventory = load_inventory(args.inventory, extra, vault=decoder)
    if args.graph:
        return _emit("\n".join(graph_lines(inventory, args.graph, args.vars)) + "\n")
    if args.host:
        data = plain(inventory.host_vars(args.host))
    elif args.yaml:
        data = yaml_list_view(inventory, args.limit)
    else:
        data = list_view(inventory, args.limit)
    if args.yaml:
        return _emit(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    return _emit(json.dumps(data, indent=4, sort_keys=False) + "\n")


def _emit(text: str) -> int:
    """Print; a reader that stops early (`| head`) is not an error."""
    import os
    import sys

    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no 2nd error at exit
    return 0
