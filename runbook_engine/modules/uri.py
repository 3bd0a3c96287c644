"""uri: make an HTTP request FROM THE HOST with curl, and report the response.

Everything about the request (URL, headers, credentials, body) reaches curl as a config
file on stdin (`curl -q -K -`), so nothing of it shows on a command line (`ps`) nor passes
through a shell. Needs curl >= 7.83 on the host (`%{json}` / `%{header_json}`).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import BeforeValidator, Field, field_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import tokens
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

_METHOD = re.compile(r"^[A-Z]+$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_READ_ONLY = ("GET", "HEAD", "OPTIONS")
# curl exit codes worth naming; any other is reported with curl's own text.
CURL_MISSING = 127

FollowRedirects = bool | Literal["all", "safe", "none", "urllib2", "yes", "no"]


def _values_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return value


# YAML gives `X-Retries: 3` as an int: header values are sent as text whatever their type.
Headers = Annotated[dict[str, str], BeforeValidator(_values_as_text)]


def curl_string(value: str) -> str:
    """A value quoted for a curl config file: within double quotes, curl honours the
    escapes \\\\ \\" \\n \\r \\t and takes everything else literally."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def header_lines(headers: dict[str, str]) -> list[str]:
    """`header = "Name: value"` lines; a name or value that could smuggle a second header
    (CR/LF) is refused rather than sent."""
    lines = []
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise ModuleFailure(f"invalid HTTP header name {name!r}")
        if "\r" in value or "\n" in value:
            raise ModuleFailure(f"the value of header {name!r} contains a line break")
        lines.append(f"header = {curl_string(f'{name}: {value}')}")
    return lines


def common_lines(
    *,
    url: str,
    timeout: float,
    validate_certs: bool,
    username: str | None,
    password: str | None,
    headers: dict[str, str],
    ca_path: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
) -> list[str]:
    """The curl config shared by uri and get_url."""
    if not re.match(r"^(https?|ftp)://", url, re.IGNORECASE):
        raise ModuleFailure(f"unsupported URL {url!r}: use http://, https:// or ftp://")
    lines = [
        f"url = {curl_string(url)}",
        "globoff",  # [] and {} in a URL are data, not curl's globbing
        "silent",
        "show-error",
        f"max-time = {max(timeout, 0.001):g}",
        'proto = "=http,https,ftp"',
        'proto-redir = "=http,https,ftp"',
    ]
    if not validate_certs:
        lines.append("insecure")
    if username is not None or password is not None:
        credentials = f"{username or ''}:{password or ''}"
        lines.append(f"user = {curl_string(credentials)}")
    for option, path in (("cacert", ca_path), ("cert", client_cert), ("key", client_key)):
        if path:
            lines.append(f"{option} = {curl_string(path)}")
    lines.extend(header_lines(headers))
    return lines


def config_bytes(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def curl_command() -> str:
    """Run curl with its config on stdin, ignoring ~/.curlrc (-q must come first)."""
    return (
        "command -v curl >/dev/null 2>&1 || { echo 'curl is not installed on the host' >&2; "
        f"exit {CURL_MISSING}; }}; exec curl -q -K -"
    )


class Args(ModuleArgs):
    url: str
    method: str = "GET"
    body: Any = None
    body_format: Literal["raw", "json", "form-urlencoded", "form"] = "raw"
    headers: Headers = {}
    status_code: list[int] = [200]
    return_content: bool = False
    timeout: float = 30
    validate_certs: bool = True
    follow_redirects: FollowRedirects = "safe"
    url_username: str | None = Field(default=None, alias="user")
    url_password: str | None = Field(default=None, alias="password", repr=False)
    force_basic_auth: bool = False  # curl always sends basic auth up front
    ca_path: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    creates: str | None = None
    removes: str | None = None

    @field_validator("status_code", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int | str) else value

    @field_validator("method")
    @classmethod
    def _method_word(cls, value: str) -> str:
        value = value.upper()
        if not _METHOD.match(value):
            raise ValueError(f"invalid HTTP method {value!r}")
        return value


def _follows(args: Args) -> bool:
    policy = args.follow_redirects
    if policy in (False, "none", "no"):
        return False
    if policy == "safe":
        return args.method in ("GET", "HEAD")
    return True


def _body(args: Args, headers: dict[str, str]) -> str | None:
    if args.body is None:
        return None
    lower = {k.lower() for k in headers}
    if args.body_format == "json":
        if "content-type" not in lower:
            headers["Content-Type"] = "application/json"
        return args.body if isinstance(args.body, str) else json.dumps(args.body)
    if args.body_format in ("form-urlencoded", "form"):
        if "content-type" not in lower:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if isinstance(args.body, dict | list):
            return urlencode(args.body, doseq=True)
        return str(args.body)
    return args.body if isinstance(args.body, str) else json.dumps(args.body)


def _request_lines(args: Args, marker: str) -> list[str]:
    headers = dict(args.headers)
    body = _body(args, headers)
    lines = common_lines(
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
    if args.method == "HEAD":
        lines.append("head")
    elif not (args.method == "POST" and body is not None):
        lines.append(f"request = {curl_string(args.method)}")
    if body is not None:
        lines.append(f"data-raw = {curl_string(body)}")  # data-raw: a leading @ is literal
    if _follows(args):
        lines.append("location")
    lines.append(f"write-out = {curl_string(f'{marker}%{{json}}{marker}%{{header_json}}')}")
    return lines


def _guard(args: Args) -> str:
    """Shell tests for creates/removes, run in the same round trip as the request."""
    tests = []
    if args.creates:
        tests.append(f"if [ -e {shlex.quote(args.creates)} ]; then echo SKIP-creates; exit 0; fi")
    if args.removes:
        tests.append(f"if [ ! -e {shlex.quote(args.removes)} ]; then echo SKIP-removes; exit 0; fi")
    return "; ".join(tests) + ("; " if tests else "")


def _header_facts(raw: str) -> dict[str, Any]:
    try:
        headers = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        return {}
    facts: dict[str, Any] = {}
    for name, values in headers.items():
        key = name.lower().replace("-", "_")
        facts[key] = ", ".join(values) if isinstance(values, list) else values
    return facts


def run(ctx: TaskContext, args: Args) -> Result:
    if ctx.check_mode and args.method not in _READ_ONLY:
        return Result(skipped=True, msg=f"check mode: a {args.method} request was not sent")
    marker = f"\n--rb-{tokens.token_hex(8)}--\n"
    config = config_bytes(_request_lines(args, marker))
    done = ctx.run(_guard(args) + curl_command(), stdin=config)
    if done.rc == 0 and done.stdout.startswith("SKIP-"):
        which = done.stdout.strip().removeprefix("SKIP-")
        path = args.creates if which == "creates" else args.removes
        verb = "exists" if which == "creates" else "does not exist"
        return Result(skipped=True, msg=f"skipped, since {path} {verb}")
    if done.rc == CURL_MISSING:
        raise ModuleFailure(done.stderr.strip() or "curl is not installed on the host")
    parts = done.stdout_bytes.split(marker.encode())
    if len(parts) < 3:
        raise ModuleFailure(f"curl failed (rc={done.rc}): {done.stderr.strip()}")
    body_bytes, info_raw, headers_raw = parts[0], parts[-2], parts[-1]
    info = json.loads(info_raw)
    status = int(info.get("http_code") or 0) if done.rc == 0 else -1
    content = body_bytes.decode("utf-8", "replace")
    data: dict[str, Any] = _header_facts(headers_raw.decode("utf-8", "replace"))
    data.update(
        status=status,
        url=info.get("url_effective") or args.url,
        redirected=int(info.get("num_redirects") or 0) > 0,
        elapsed=round(float(info.get("time_total") or 0)),
    )
    content_type = str(info.get("content_type") or "")
    if re.search(r"[/+]json\b", content_type) and body_bytes:
        try:
            data["json"] = json.loads(content)
        except json.JSONDecodeError:
            pass
    if args.return_content or status not in args.status_code:
        data["content"] = content
    if status == -1:
        reason = info.get("errormsg") or done.stderr.strip()
        msg = f"Status code was -1 and not {args.status_code}: Request failed: {reason}"
        return Result(failed=True, msg=msg, data=data)
    if status not in args.status_code:
        msg = f"Status code was {status} and not {args.status_code}: HTTP Error {status}"
        return Result(failed=True, msg=msg, data=data)
    return Result(msg=f"OK ({len(body_bytes)} bytes)", data=data)
