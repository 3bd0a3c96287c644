"""http_check: is a URL answering as it should? Status, latency, body, redirects, TLS.

Runs on the controller (what a user sees from outside), with Python's urllib.

    - http_check:
        url: https://example.org/health
        status: [200]
        body_contains: ["status: ok"]
        body_not_contains: ["error"]
        warn_ms: 500
        fail_ms: 2000
"""

from __future__ import annotations

import base64
import http.client
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Literal

from pydantic import Field, field_validator

from runbook_engine.checks import check_item, check_result, status_above, worst
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

ON_CONTROLLER = True
_MAX_BODY = 1024 * 1024


class Args(ModuleArgs):
    url: str = Field(pattern=r"^https?://")
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    status: list[int] = Field(default_factory=lambda: [200])
    follow_redirects: bool = True
    max_redirects: int = Field(10, ge=0)
    validate_certs: bool = True
    ca_file: str | None = None
    body_contains: list[str] = Field(default_factory=list)
    body_not_contains: list[str] = Field(default_factory=list)
    warn_ms: float | None = None
    fail_ms: float | None = None
    timeout: float = 10

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int | str) else value


class _Redirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, follow: bool, limit: int) -> None:
        self.follow, self.limit = follow, limit
        self.chain: list[str] = []
        self.max_redirections = limit + 1  # our own limit speaks first, with a clear message

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        if not self.follow:
            return None  # the 3xx answer itself is the result
        if len(self.chain) >= self.limit:
            raise urllib.error.HTTPError(newurl, code, f"more than {self.limit} redirects",
                                         headers, fp)
        self.chain.append(f"{code} {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _credentials_to_header(url: str) -> tuple[str, dict[str, str]]:
    """`https://user:pw@host/` -> the URL without them plus a Basic Authorization header."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    netloc = str(parts.hostname) + (f":{parts.port}" if parts.port else "")
    user = urllib.parse.unquote(parts.username)
    token = base64.b64encode(f"{user}:{urllib.parse.unquote(parts.password or '')}".encode())
    bare = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return bare, {"Authorization": "Basic " + token.decode()}


def _fetch(args: Args) -> tuple[int, bytes, str, list[str], float]:
    """(status, body, final url, redirect chain, elapsed ms). Raises OSError when no answer."""
    if args.url.startswith("https"):
        context = ssl.create_default_context(cafile=args.ca_file)
        if not args.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    else:
        context = None
    redirects = _Redirects(args.follow_redirects, args.max_redirects)
    opener = urllib.request.build_opener(redirects, urllib.request.HTTPSHandler(context=context))
    data = args.body.encode() if args.body is not None else None
    url, headers = _credentials_to_header(args.url)
    request = urllib.request.Request(url, data=data, method=args.method,
                                     headers={"User-Agent": "runbook-engine http_check"}
                                     | headers | args.headers)
    start = time.monotonic()
    try:
        with opener.open(request, timeout=args.timeout) as resp:
            body = resp.read(_MAX_BODY)
            status, final = resp.status, resp.geturl()
    except urllib.error.HTTPError as exc:  # a 4xx / 5xx / unfollowed 3xx is still an answer
        body = exc.read(_MAX_BODY) if exc.fp else b""
        status, final = exc.code, exc.geturl() or args.url
        if args.follow_redirects and 300 <= exc.code < 400:
            hops = " -> ".join(redirects.chain)
            raise OSError(f"redirect loop or too many redirects: {hops}") from exc
    elapsed = (time.monotonic() - start) * 1000
    return status, body, final, redirects.chain, round(elapsed, 1)


def redact(url: str) -> str:
    """The URL without a password (`https://user:secret@host/` -> `https://user:***@host/`)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def run(ctx: TaskContext, args: Args) -> Result:
    threshold = {"status": args.status, "warn_ms": args.warn_ms, "fail_ms": args.fail_ms}
    name = f"http {redact(args.url)}"
    try:
        status, body, final, chain, elapsed = _fetch(args)
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        return check_result(check_item(name, "fail", None, threshold, f"no answer: {reason}"))
    text = body.decode("utf-8", "replace")
    statuses = [status_above(elapsed, args.warn_ms, args.fail_ms)]
    problems = []
    if status not in args.status:
        statuses.append("fail")
        problems.append(f"status {status}, expected {'/'.join(map(str, args.status))}")
    missing = [s for s in args.body_contains if s not in text]
    if missing:
        statuses.append("fail")
        problems.append(f"body lacks {missing!r}")
    present = [s for s in args.body_not_contains if s in text]
    if present:
        statuses.append("fail")
        problems.append(f"body contains {present!r}")
    if statuses[0] != "ok":
        problems.append(f"slow: {elapsed:.0f} ms")
    detail = f"{status} in {elapsed:.0f} ms" + (f" via {len(chain)} redirect(s)" if chain
                                                 else "")
    if problems:
        detail += "; " + "; ".join(problems)
    item = check_item(name, worst(statuses), status, threshold, detail)
    return check_result(item, data={"http": {"status": status, "url": redact(final),
                                             "redirects": chain, "elapsed_ms": elapsed,
                                             "body": text[:2000]}})
