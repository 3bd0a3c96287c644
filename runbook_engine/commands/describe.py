"""`runbook describe PLAYBOOK`: what an on-call engineer needs to know before running it."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "show a runbook's description, parameters, hosts, steps and approval gates"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("playbook", type=Path)
    parser.add_argument("-i", "--inventory", action="append", default=[],
                        help="resolve the host patterns against this inventory")


def main(args: argparse.Namespace) -> int:
    from runbook_engine.inventory import load_inventory
    from runbook_engine.loader.playbook import load_playbook, walk_tasks

    playbook = load_playbook(args.playbook)
    inventory = None
    if args.inventory:
        inventory = load_inventory(args.inventory, extra_var_dirs=[playbook.path.parent])
    print(f"runbook: {playbook.path}")
    for play in playbook.plays:
        print(f"\nplay: {play.name}")
        if play.description:
            for line in play.description.strip().splitlines():
                print(f"  {line}")
        hosts = play.hosts
        if inventory is not None:
            matched = inventory.select(play.hosts, allow_empty=True)
            hosts += f"  -> {len(matched)} hosts: {', '.join(matched[:20])}"
            hosts += " ..." if len(matched) > 20 else ""
        print(f"  hosts: {hosts}")
        if play.serial:
            print(f"  batches: serial {play.serial}"
                  + (f", stop above {play.max_fail_percentage}% failed"
                     if play.max_fail_percentage is not None else ""))
        if play.params:
            print("  parameters:")
            for p in play.params:
                need = "required" if p.is_required else f"default: {p.default!r}"
                extra = f", one of {p.choices}" if p.choices else ""
                secret = " (secret)" if p.secret else ""
                print(f"    -p {p.name}=<{p.type}>{secret}  {need}{extra}")
                if p.description:
                    print(f"        {p.description}")
        print("  steps:")
        number = 0
        for section in (play.pre_tasks, play.tasks, play.post_tasks):
            for task in walk_tasks(section):
                if task.kind not in ("task", "include"):
                    continue
                number += 1
                gate = "  [APPROVAL]" if task.module == "approve" else ""
                when = f"  (when: {' and '.join(map(str, task.when))})" if task.when else ""
                print(f"    {number:>3}. {task.display_name}{gate}{when}")
        gates = [t for s in (play.pre_tasks, play.tasks, play.post_tasks)
                 for t in walk_tasks(s) if t.module == "approve"]
        if gates:
            names = ", ".join(str(t.args.get("step") or t.display_name) for t in gates)
            print(f"  approval gates: {names}  (pre-approve in CI with --approve STEP)")
    return 0
