"""wp-cli, preferred when the host has it and no release archive was given: it fetches
releases from wordpress.org itself and verifies core checksums."""

from __future__ import annotations

import json
from typing import Any

from runbook_engine.connection.base import CommandResult
from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import TaskContext


class WpCli:
    def __init__(self, ctx: TaskContext, path: str, binary: str = "wp") -> None:
        self.ctx, self.path, self.binary = ctx, path, binary

    @staticmethod
    def available(ctx: TaskContext, binary: str = "wp") -> bool:
        return ctx.run(["sh", "-c", 'command -v "$1" >/dev/null', "sh", binary]).rc == 0

    def run(self, *words: str) -> CommandResult:
        return self.ctx.run([self.binary, f"--path={self.path}", "--no-color", *words])

    def check(self, *words: str) -> str:
        done = self.run(*words)
        if done.rc != 0:
            raise ModuleFailure(
                f"wp {' '.join(words)} failed: {(done.stderr or done.stdout).strip()[-600:]}"
            )
        return done.stdout

    def json(self, *words: str) -> Any:
        text = self.check(*words, "--format=json").strip()
        return json.loads(text) if text else []

    def core_updates(self) -> list[dict[str, Any]]:
        return list(self.json("core", "check-update"))

    def component_updates(self, kind: str) -> list[dict[str, Any]]:
        fields = "--fields=name,version,update_version"
        return list(self.json(kind, "list", "--update=available", fields))

    def verify_checksums(self) -> tuple[bool, str]:
        done = self.run("core", "verify-checksums")
        return done.rc == 0, (done.stdout + done.stderr).strip()[-600:]
