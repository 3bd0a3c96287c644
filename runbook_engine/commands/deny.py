"""`runbook deny RUN_ID [--step NAME]`: stop a run waiting at an approval gate."""

from __future__ import annotations

import argparse

from runbook_engine.commands import approve

HELP = "Deny a run waiting at an approval step: it fails cleanly and can be resumed later."


def configure(parser: argparse.ArgumentParser) -> None:
    approve.configure(parser)


def main(args: argparse.Namespace) -> int:
    return approve.decide(args, approve=False)
