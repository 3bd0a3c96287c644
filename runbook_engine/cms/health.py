"""Health of a served site, checked FROM THE HOST (PHP's HTTP client: no curl needed):
status of the home page and of pages that must render, the WordPress version served (the
generator meta tag, else the RSS feed's generator), and PHP fatals in the error log."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from runbook_engine.cms.php import run_php
from runbook_engine.modules.base import TaskContext

FETCH_PHP = r"""
$pages = json_decode(getenv('RB_PAGES'), true);
$timeout = (float) getenv('RB_TIMEOUT');
$out = array();
foreach ($pages as $url) {
    $context = stream_context_create(array('http' => array(
        'method' => 'GET', 'ignore_errors' => true, 'timeout' => $timeout,
        'follow_location' => 1, 'max_redirects' => 5,
        'header' => "User-Agent: runbook-engine health check\r\n")));
    $body = @file_get_contents($url, false, $context, 0, 2097152);
    $status = 0;
    foreach ((array) ($http_response_header ?? array()) as $line) {
        if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) { $status = (int) $m[1]; }
    }
    $error = $body === false ? (error_get_last()['message'] ?? 'no response') : null;
    $out[] = array('url' => $url, 'status' => $status, 'error' => $error,
                   'body' => $body === false ? '' : $body);
}
rb_out(array('pages' => $out));
"""
GENERATOR = re.compile(r'<meta name="generator" content="WordPress ([0-9][0-9.]*)', re.I)
FEED_GENERATOR = re.compile(r"<generator>https?://wordpress\.org/\?v=([0-9][0-9.]*)</generator>")
FATAL = re.compile(r"PHP (?:Fatal|Parse) error|PHP Fatal|Uncaught Error|Uncaught Exception")


@dataclass
class Health:
    checks: list[dict[str, Any]] = field(default_factory=list)
    version: str | None = None
    log_size: int | None = None

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": ok, "detail": detail})

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.checks)

    def summary(self) -> str:
        failed = [f"{c['check']}: {c['detail']}" for c in self.checks if not c["ok"]]
        if failed:
            return "unhealthy: " + "; ".join(failed)
        return f"healthy (WordPress {self.version or '?'}, {len(self.checks)} checks)"


def fetch(ctx: TaskContext, urls: list[str], timeout: float, php: str) -> list[dict[str, Any]]:
    env = {"RB_PAGES": json.dumps(urls), "RB_TIMEOUT": str(timeout)}
    answer = run_php(ctx, FETCH_PHP, chdir="/", env=env, php=php, what="HTTP health check")
    return list(answer["pages"])


def join_url(base: str, page: str) -> str:
    if page.startswith(("http://", "https://")):
        return page
    return base.rstrip("/") + "/" + page.lstrip("/")


def check_site(
    ctx: TaskContext,
    url: str,
    *,
    pages: list[str],
    expect_status: int,
    expect_version: str | None,
    timeout: float,
    php: str,
) -> Health:
    """Home page (status + version), each page's status, and the feed if the home page
    hides the generator tag."""
    health = Health()
    urls = [url, *(join_url(url, p) for p in pages)]
    results = fetch(ctx, urls, timeout, php)
    home = results[0]
    for result in results:
        detail = f"{result['url']} answered {result['status'] or result['error']}"
        health.add("http", result["status"] == expect_status, detail)
    found = GENERATOR.search(home["body"])
    if not found and home["status"] == expect_status:
        feed = fetch(ctx, [join_url(url, "?feed=rss2")], timeout, php)[0]
        found = FEED_GENERATOR.search(feed["body"])
    health.version = found.group(1) if found else None
    if expect_version:
        health.add(
            "version",
            health.version == expect_version,
            f"serves WordPress {health.version or '(unknown)'}, expected {expect_version}",
        )
    return health


def log_size(ctx: TaskContext, log: str) -> int:
    quoted = shlex.quote(log)
    done = ctx.run(f"if [ -f {quoted} ]; then wc -c < {quoted}; else echo 0; fi")
    return int(done.stdout.strip() or 0) if done.rc == 0 else 0


def check_log(ctx: TaskContext, health: Health, log: str, offset: int) -> None:
    """PHP fatals written to `log` after byte `offset` (a rotated, shorter log is read whole)."""
    size = log_size(ctx, log)
    start = offset if 0 <= offset <= size else 0
    done = ctx.run(f"tail -c +{start + 1} {shlex.quote(log)} 2>/dev/null | tail -c 1048576")
    fatals = [line for line in done.stdout.splitlines() if FATAL.search(line)]
    health.log_size = size
    detail = f"{len(fatals)} PHP fatal(s) in {log}" + (f": {fatals[-1][-300:]}" if fatals else "")
    health.add("error_log", not fatals, detail)
