"""get_url: download a file ON THE HOST with curl (or wget), idempotently.

One round trip does it all: pick the downloader, decide whether a download is needed
(dest missing, `force`, or `checksum` mismatch), fetch into a private temp file next to
dest, verify the checksum, and move it into place only if its content differs.

The request (URL, headers, credentials) travels on stdin, never on a command line: curl
reads it as a config file (`-K -`); for wget the script writes a private wgetrc and URL
list from the same stdin (lines curl ignores as comments).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import uri
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.modules.fileops import CHECKSUM_TOOLS, Mode, Owner, apply_attributes

_TAG = "@@RBGET@@"
_NO_TOOL = 127


class Args(ModuleArgs):
    url: str
    dest: str
    checksum: str | None = None
    force: bool = False
    headers: uri.Headers = {}
    timeout: float = 10
    validate_certs: bool = True
    url_username: str | None = Field(default=None, alias="username")
    url_password: str | None = Field(default=None, alias="password", repr=False)
    force_basic_auth: bool = False  # both tools send basic auth up front
    http_agent: str = "runbook-httpget"
    ca_path: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    mode: Mode = None
    owner: Owner = None
    group: Owner = None

    @field_validator("checksum")
    @classmethod
    def _algorithm_and_digest(cls, value: str | None) -> str | None:
        if not value:
            return None
        algorithm, sep, digest = value.partition(":")
        if not sep or algorithm.lower() not in CHECKSUM_TOOLS:
            raise ValueError(f"checksum must be 'ALGORITHM:HEX', ALGORITHM one of "
                             f"{', '.join(CHECKSUM_TOOLS)}")
        if not re.fullmatch(r"[0-9a-fA-F]+", digest.strip()):
            raise ValueError("the checksum digest must be hexadecimal")
        return f"{algorithm.lower()}:{digest.strip().lower()}"

    @field_validator("dest")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"dest must be an absolute path: {value!r}")
        return value


def _url_basename(url: str) -> str:
    name = posixpath.basename(unquote(urlsplit(url).path))
    return name if name not in ("", ".", "..") else "index.html"


def _stdin(args: Args) -> bytes:
    """Curl config, then the same request for wget as `#W`/`#U` lines curl ignores."""
    headers = dict(args.headers)
    headers.setdefault("User-Agent", args.http_agent)
    lines = uri.common_lines(
        url=args.url,
        timeout=args.timeout,
        validate_certs=args.validate_certs,
        username=args.url_username,
        password=args.url_password,
        headers=headers,
        ca_path=args.ca_path,
        client_cert=args.client_cert,
        client_key=args.client_key,
    )
    lines += ["location", "fail", "write-out = \"%{http_code}\""]
    wget = ["tries = 1", f"timeout = {args.timeout:g}", "max_redirect = 20"]
    if not args.validate_certs:
        wget.append("check_certificate = off")
    if args.url_username is not None or args.url_password is not None:
        wget += [f"user = {args.url_username or ''}", f"password = {args.url_password or ''}",
                 "auth_no_challenge = on"]
    for option, path in (("ca_certificate", args.ca_path), ("certificate", args.client_cert),
                         ("private_key", args.client_key)):
        if path:
            wget.append(f"{option} = {path}")
    wget += [f"header = {name}: {value}" for name, value in headers.items()]
    for line in [*wget, args.url]:
        if "\n" in line or "\r" in line:
            raise ModuleFailure("a line break in the URL or a credential is not allowed")
    lines += [f"#W {line}" for line in wget] + [f"#U {args.url}"]
    return uri.config_bytes(lines)


def _script(args: Args, check: bool) -> str:
    q = shlex.quote
    algorithm, _, expected = (args.checksum or "").partition(":")
    tool = CHECKSUM_TOOLS.get(algorithm, "sha1sum")
    sums = (
        f'digest() {{ set -- $({tool} < "$1") && echo "$1"; }}; '
        'sha() { set -- $(sha1sum < "$1") && echo "$1"; }'
    )
    head = [
        "set -u",
        sums,
        f"p={q(args.dest)}; want={q(expected)}; force={int(args.force)}",
        f'if [ -d "$p" ]; then p="$p"/{q(_url_basename(args.url))}; fi',
        f'echo "{_TAG}dest $p"',
        'if [ -f "$p" ]; then echo "' + _TAG + 'old $(sha "$p")"; fi',
        # no download when dest is there and trusted: unforced, and no checksum or it matches
        'if [ -f "$p" ] && [ "$force" = 0 ] && '
        '{ [ -z "$want" ] || [ "$(digest "$p")" = "$want" ]; };'
        f' then echo "{_TAG}keep"; cat >/dev/null; exit 0; fi',
    ]
    if check:
        return "\n".join([*head, f'echo "{_TAG}fetch"; cat >/dev/null'])
    fetch = [
        'd=$(dirname -- "$p"); [ -d "$d" ] || { echo "destination directory $d does not exist"'
        " >&2; cat >/dev/null; exit 1; }",
        't=$(mktemp "$d/.rbget.XXXXXX") || { cat >/dev/null; exit 1; }',
        'trap \'rm -f -- "$t" "$t.rc" "$t.url" "$t.hdr"\' EXIT',
        "if command -v curl >/dev/null 2>&1; then",
        '  code=$(curl -q -K - -o "$t"); rc=$?',
        "elif command -v wget >/dev/null 2>&1; then",
        "  ( umask 077; sed -n 's/^#W //p; s/^#U //w '\"$t.url\" > \"$t.rc\" )",
        '  wget -q -S --config="$t.rc" -O "$t" -i "$t.url" 2>"$t.hdr"; rc=$?',
        "  code=$(sed -n 's/^ *HTTP\\/[0-9.]* \\([0-9][0-9][0-9]\\).*/\\1/p' \"$t.hdr\""
        " | tail -n 1)",
        '  [ $rc = 0 ] || sed "/^  /d" "$t.hdr" >&2',
        "else",
        f"  echo 'neither curl nor wget is installed on the host' >&2; exit {_NO_TOOL}",
        "fi",
        f'echo "{_TAG}status ${{code:-0}} $rc"',
        '[ "$rc" = 0 ] || exit 0',
        f'echo "{_TAG}size $(wc -c < "$t")"',
        f'echo "{_TAG}new $(sha "$t")"',
        f'if [ -n "$want" ]; then got=$(digest "$t"); if [ "$got" != "$want" ]; then '
        f'echo "{_TAG}badsum $got"; exit 0; fi; fi',
        f'if [ -f "$p" ] && [ "$(sha "$p")" = "$(sha "$t")" ]; then echo "{_TAG}same"; exit 0; fi',
        'if [ -e "$p" ]; then chmod "$(stat -L -c %a -- "$p")" -- "$t"; '
        'else chmod "$(printf %o $(( 0666 & ~0$(umask) )))" -- "$t"; fi',
        f'mv -f -- "$t" "$p" && echo "{_TAG}written"',
    ]
    return "\n".join(head + fetch)


def _parse(stdout: str) -> dict[str, str]:
    facts: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith(_TAG):
            key, _, value = line[len(_TAG) :].partition(" ")
            facts[key] = value
    return facts


def run(ctx: TaskContext, args: Args) -> Result:
    done = ctx.run(_script(args, ctx.check_mode), stdin=_stdin(args))
    facts = _parse(done.stdout)
    if done.rc == _NO_TOOL:
        raise ModuleFailure(done.stderr.strip())
    if done.rc != 0 or "dest" not in facts:
        raise ModuleFailure(f"get_url failed (rc={done.rc}): {done.stderr.strip()}")
    dest = facts["dest"]
    data: dict[str, Any] = {"dest": dest, "url": args.url}
    if "old" in facts:
        data["checksum_dest"] = facts["old"]
    if "keep" in facts or "fetch" in facts:
        msg = "file already exists" if "keep" in facts else "would download (check mode)"
        changed = "fetch" in facts
        if "keep" in facts:
            changed = apply_attributes(ctx, dest, args.mode, args.owner, args.group)
        return Result(changed=changed, msg=msg, data=data)
    code, _, rc = facts.get("status", "0 1").partition(" ")
    data["status_code"] = int(code or 0)
    if rc != "0":
        reason = done.stderr.strip() or f"download tool exit code {rc}"
        return Result(failed=True, msg=f"Request failed: {reason}", data=data)
    data["size"] = int(facts.get("size", "0"))
    data["checksum_src"] = facts.get("new", "")
    if "badsum" in facts:
        msg = (f"The checksum for {dest} did not match {args.checksum}; "
               f"it was: {facts['badsum']}")
        return Result(failed=True, msg=msg, data=data)
    changed = "written" in facts
    if changed or "same" in facts:
        data["checksum_dest"] = data["checksum_src"]
    attributes_changed = apply_attributes(ctx, dest, args.mode, args.owner, args.group)
    return Result(
        changed=changed or attributes_changed,
        msg=f"OK ({data['size']} bytes)",
        data=data,
    )
