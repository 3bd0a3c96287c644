"""template: render a Jinja2 file from the controller (role `templates/`) onto the host.

Rendered on the controller with the host's variables plus Ansible's `template_*` ones,
then written like `copy` content: one round trip, atomic, only when it differs.
"""

from __future__ import annotations

import getpass
import hashlib
import socket
from collections import ChainMap
from datetime import datetime
from typing import Literal

from pydantic import Field

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import fileops
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.modules.fileops import Mode, Owner
from runbook_engine.templating import TemplateError


class Args(ModuleArgs):
    src: str
    dest: str
    mode: Mode = None
    owner: Owner = None
    group: Owner = None
    backup: bool = False
    force: bool = True
    follow: bool = False
    # `validate` would shadow BaseModel.validate; the YAML name stays `validate`
    validate_cmd: str | None = Field(None, alias="validate")
    newline_sequence: Literal["\n", "\r", "\r\n"] = "\n"
    trim_blocks: bool = True
    lstrip_blocks: bool = False


def render(ctx: TaskContext, args: Args) -> bytes:
    if ctx.templar is None:
        raise ModuleFailure("template needs a templar (no template engine in this context)")
    source = ctx.find_file(args.src, "templates")
    text = source.read_text(encoding="utf-8")
    extra = {
        "template_path": str(source),
        "template_fullpath": str(source.resolve()),
        "template_destpath": args.dest,
        "template_host": socket.gethostname(),
        "template_uid": getpass.getuser(),
        "template_run_date": datetime.now(),
        "ansible_managed": "Ansible managed",
    }
    try:
        rendered = ctx.templar.render_string(
            text, ChainMap(extra, ctx.vars),
            trim_blocks=args.trim_blocks, lstrip_blocks=args.lstrip_blocks,
        )  # fmt: skip
    except TemplateError as exc:
        raise ModuleFailure(f"{args.src}: {exc}") from None
    if args.newline_sequence != "\n":
        rendered = rendered.replace("\r\n", "\n").replace("\n", args.newline_sequence)
    return rendered.encode()


def run(ctx: TaskContext, args: Args) -> Result:
    data = render(ctx, args)
    dest, mode = args.dest, args.mode
    if mode == "preserve":
        mode = f"{ctx.find_file(args.src, 'templates').stat().st_mode & 0o7777:04o}"
    before = fileops.read_file(ctx, dest) if ctx.diff else None
    try:
        written = fileops.write_file(
            ctx, dest, data, mode=mode, owner=args.owner, group=args.group,
            backup=args.backup, validate=args.validate_cmd, force=args.force,
            follow=args.follow,
        )  # fmt: skip
    except fileops.IsADirectory:
        raise ModuleFailure(f"dest {dest} is a directory; give the file's full path") from None
    values = {"dest": dest, "checksum": hashlib.sha1(data).hexdigest(), "size": len(data)}
    if written.backup_file:
        values["backup_file"] = written.backup_file
    result = Result(changed=written.changed, data=values)
    if ctx.diff and written.content_changed:
        result.diff.append(fileops.text_diff(before, data, dest, args.src))
    return result
