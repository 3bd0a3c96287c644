"""`runbook serve`: the HTTP API for triggering whitelisted playbooks (see docs/api.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Serve the HTTP API: trigger whitelisted playbooks, follow runs, decide approvals."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=Path("server.yml"), metavar="FILE",
                        help="the server config: playbook whitelist, tokens (server.yml)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument("--add-token", metavar="NAME",
                        help="create a token scoped to --playbooks, print it once, exit")
    tokens.add_argument("--revoke-token", metavar="NAME", help="remove a token, exit")
    parser.add_argument("--playbooks", default="", metavar="A,B",
                        help="with --add-token: the playbook names it may run ('*': all)")


def main(args: argparse.Namespace) -> int:
    import sys

    from runbook_engine.api.config import load_server_config
    from runbook_engine.errors import InputError

    config = load_server_config(args.config)
    if args.add_token:
        from runbook_engine.api.tokens import add_token

        names = [n.strip() for n in args.playbooks.split(",") if n.strip()]
        token = add_token(config, args.add_token, names)
        print(token)
        print(f"token {args.add_token!r} for {', '.join(names)}: shown once, stored hashed "
              f"in {config.tokens_file}", file=sys.stderr)
        return 0
    if args.revoke_token:
        from runbook_engine.api.tokens import revoke_token

        if not revoke_token(config, args.revoke_token):
            raise InputError(f"no token named {args.revoke_token!r} in {config.tokens_file}")
        print(f"token {args.revoke_token!r} revoked")
        return 0
    import uvicorn

    from runbook_engine.api.app import create_app

    # Followers of long runs keep streams open: stop waiting for them after a few seconds,
    # then the app's shutdown stops the runs themselves (cleanly, resumable).
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info",
                timeout_graceful_shutdown=5)
    return 0
