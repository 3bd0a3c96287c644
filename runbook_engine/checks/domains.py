"""Domain registration expiry: RDAP (RFC 9083 `expiration` event) with WHOIS as fallback."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

IANA_WHOIS = "whois.iana.org"


class DomainLookupError(Exception):
    """A registry could not be asked or gave no usable answer."""


@dataclass
class Registration:
    domain: str
    expires: dt.datetime | None
    registrar: str | None
    source: str  # "rdap <url>" or "whois <server>"
    status: list[str]


@cache
def _data(name: str) -> dict[str, Any]:
    text = resources.files("runbook_engine.checks").joinpath("data", name).read_text()
    return dict(json.loads(text))


IANA_BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"
BOOTSTRAP_MAX_AGE = 7 * 86400  # IANA changes it a few times a month at most


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runbook-engine"


def cached_bootstrap(url: str, timeout: float) -> str | None:
    """A local copy of the bootstrap file at `url`, fetched at most once a week. A failed
    download falls back to an older copy, then (None) to the shipped subset."""
    name = "rdap-" + hashlib.sha256(url.encode()).hexdigest()[:16] + ".json"
    path = cache_dir() / name
    if path.exists() and time.time() - path.stat().st_mtime < BOOTSTRAP_MAX_AGE:
        return str(path)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read(4 * 1024 * 1024)
        if not isinstance(json.loads(body).get("services"), list):
            raise ValueError("not an RDAP bootstrap file")
    except (OSError, ValueError):
        return str(path) if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(body)
    partial.replace(path)
    return str(path)


def rdap_base(tld: str, bootstrap_file: str | None = None) -> str | None:
    """The RDAP base URL for a TLD from the IANA bootstrap data (shipped, or a given file)."""
    if bootstrap_file:
        with open(bootstrap_file) as handle:
            data = json.load(handle)
    else:
        data = _data("rdap_dns.json")
    for tlds, urls in data["services"]:
        if tld in tlds and urls:
            https = [u for u in urls if u.startswith("https")]
            return str((https or urls)[0])
    return None


def whois_server(tld: str) -> str | None:
    return _data("whois_servers.json")["servers"].get(tld)


def parse_date(text: str) -> dt.datetime | None:
    text = text.strip().split(" (")[0].strip()
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
        for fmt in ("%Y-%m-%d", "%d-%b-%Y", "%Y.%m.%d", "%d.%m.%Y", "%Y/%m/%d",
                    "%Y-%m-%d %H:%M:%S", "%Y.%m.%d %H:%M:%S", "%d-%b-%Y %H:%M:%S"):
            try:
                value = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _vcard_name(entity: dict[str, Any]) -> str | None:
    vcard = entity.get("vcardArray")
    if isinstance(vcard, list) and len(vcard) == 2:
        for prop in vcard[1]:
            if isinstance(prop, list) and len(prop) >= 4 and prop[0] == "fn":
                return str(prop[3])
    return None


def parse_rdap(domain: str, answer: dict[str, Any], source: str) -> Registration:
    expires = None
    for event in answer.get("events", []):
        if event.get("eventAction") == "expiration":
            expires = parse_date(str(event.get("eventDate", "")))
    registrar = None
    for entity in answer.get("entities", []):
        if "registrar" in entity.get("roles", []):
            registrar = _vcard_name(entity) or entity.get("handle")
    return Registration(domain, expires, registrar, source, list(answer.get("status", [])))


def rdap_lookup(domain: str, base: str, timeout: float) -> Registration:
    url = base.rstrip("/") + "/domain/" + domain
    request = urllib.request.Request(url, headers={"Accept": "application/rdap+json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            answer = json.loads(resp.read(2 * 1024 * 1024))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise DomainLookupError(f"{domain} is not registered (RDAP 404 at {url})") from exc
        raise DomainLookupError(f"RDAP {url} answered {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise DomainLookupError(f"RDAP {url} failed: {getattr(exc, 'reason', exc)}") from exc
    return parse_rdap(domain, answer, f"rdap {url}")


def whois_query(server: str, port: int, query: str, timeout: float) -> str:
    try:
        with socket.create_connection((server, port), timeout=timeout) as sock:
            sock.sendall(query.encode("idna") + b"\r\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise DomainLookupError(f"WHOIS {server}:{port} failed: {exc}") from exc
    return b"".join(chunks).decode("utf-8", "replace")


_EXPIRY = re.compile(
    r"^\s*(?:Registry Expiry Date|Registrar Registration Expiration Date|Expiration Date|"
    r"Expiry Date|Expires On|Expiration Time|paid-till|expires|Expiry)\s*:\s*(\S.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_REGISTRAR = re.compile(r"^\s*Registrar(?: Name)?\s*:\s*(\S.*)$", re.IGNORECASE | re.MULTILINE)
_NOT_FOUND = re.compile(r"no match|not found|no data found|no entries found|status:\s*free",
                        re.IGNORECASE)


def parse_whois(domain: str, text: str, source: str) -> Registration:
    expiry = _EXPIRY.search(text)
    if expiry is None and _NOT_FOUND.search(text):
        raise DomainLookupError(f"{domain} is not registered ({source} says so)")
    registrar = _REGISTRAR.search(text)
    statuses = re.findall(r"^\s*(?:Domain )?Status\s*:\s*(\S+)", text, re.IGNORECASE | re.M)
    return Registration(domain, parse_date(expiry.group(1)) if expiry else None,
                        registrar.group(1).strip() if registrar else None, source, statuses)


def whois_lookup(domain: str, server: str | None, port: int, timeout: float) -> Registration:
    tld = domain.rsplit(".", 1)[-1]
    if server is None:
        server = whois_server(tld)
    if server is None:  # ask IANA which server holds the TLD
        refer = re.search(r"^refer:\s*(\S+)", whois_query(IANA_WHOIS, 43, tld, timeout),
                          re.MULTILINE)
        if refer is None:
            raise DomainLookupError(f"no RDAP or WHOIS service known for .{tld}")
        server = refer.group(1)
    host, _, given_port = server.partition(":")
    port = int(given_port) if given_port else port
    text = whois_query(host, port, domain, timeout)
    return parse_whois(domain, text, f"whois {host}:{port}")
