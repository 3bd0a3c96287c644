"""domain_expiry: days until a domain's registration expires, and its registrar.

RDAP first (the registry found through the IANA bootstrap data shipped in
runbook_engine/checks/data/), WHOIS on port 43 for TLDs without RDAP. Runs on the controller.

    - domain_expiry: {domain: example.org, warn_days: 30, fail_days: 7}
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from runbook_engine.checks import check_item, check_result, status_below
from runbook_engine.checks.domains import (
    IANA_BOOTSTRAP_URL,
    DomainLookupError,
    Registration,
    cached_bootstrap,
    rdap_base,
    rdap_lookup,
    whois_lookup,
)
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

ON_CONTROLLER = True


class Args(ModuleArgs):
    domain: str = Field(pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z0-9-]+\.?$")
    warn_days: float = 30
    fail_days: float = 7
    rdap_url: str | None = Field(None, description="RDAP base URL, instead of the bootstrap")
    bootstrap_file: str | None = Field(None, description="a newer IANA dns.json to use")
    bootstrap_url: str | None = Field(
        None, description=f"fetch the bootstrap (e.g. {IANA_BOOTSTRAP_URL}), cached a week")
    whois_server: str | None = Field(
        None, description="host or host:port for TLDs without RDAP (default: shipped list)")
    whois_port: int = 43
    timeout: float = 10


def _lookup(args: Args, domain: str) -> Registration:
    bootstrap = args.bootstrap_file
    if bootstrap is None and args.bootstrap_url:
        bootstrap = cached_bootstrap(args.bootstrap_url, args.timeout)
    base = args.rdap_url or rdap_base(domain.rsplit(".", 1)[-1], bootstrap)
    if base is None:
        return whois_lookup(domain, args.whois_server, args.whois_port, args.timeout)
    return rdap_lookup(domain, base, args.timeout)


def run(ctx: TaskContext, args: Args) -> Result:
    domain = args.domain.lower().rstrip(".")
    threshold = {"warn_days": args.warn_days, "fail_days": args.fail_days}
    name = f"domain {domain}"
    try:
        reg = _lookup(args, domain)
    except DomainLookupError as exc:
        return check_result(check_item(name, "fail", None, threshold, str(exc)))
    if reg.expires is None:
        detail = f"no expiry date in the answer ({reg.source})"
        return check_result(check_item(name, "fail", None, threshold, detail))
    days = round((reg.expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400, 1)
    detail = f"expires {reg.expires.date().isoformat()} ({days:.0f} days)"
    if reg.registrar:
        detail += f", registrar {reg.registrar}"
    item = check_item(name, status_below(days, args.warn_days, args.fail_days), days,
                      threshold, detail)
    return check_result(item, data={"domain": {
        "name": domain, "expires": reg.expires.isoformat(), "days_left": days,
        "registrar": reg.registrar, "status": reg.status, "source": reg.source}})
