"""stat: facts about a path on the host, in Ansible's shape (`result.stat.exists`...)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from runbook_engine.modules import fileops
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext


class Args(ModuleArgs):
    path: str = Field(validation_alias=AliasChoices("path", "dest", "name"))
    follow: bool = False
    get_checksum: bool = True
    checksum_algorithm: Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] = Field(
        "sha1", validation_alias=AliasChoices("checksum_algorithm", "checksum", "checksum_algo")
    )
    # accepted for compatibility; MIME types and attributes are not collected
    get_mime: bool = True
    get_attributes: bool = True


def run(ctx: TaskContext, args: Args) -> Result:
    checksum = args.checksum_algorithm if args.get_checksum else None
    found = fileops.stat(ctx, args.path, follow=args.follow, checksum=checksum)
    return Result(data={"stat": found if found is not None else {"exists": False}})
