"""tls_check: the certificate a server presents (or a file on the host): expiry, names, chain.

Served certificates are read from the controller with SNI (Python ssl), or from the host
with `from_host: true` (`openssl s_client`, for servers only the host can reach); a file
with `path:` is read on the host. Verification uses `ca_file` (a bundle on the controller)
or the controller's system CAs.

    - tls_check: {host: example.org, port: 443, warn_days: 30, fail_days: 7}
    - tls_check: {path: /etc/letsencrypt/live/example.org/fullchain.pem}
    - tls_check: {host: 127.0.0.1, server_name: example.org, expect_fingerprint: "...",
                  wait: 10}     # after a reload: the NEW certificate must be the one served
"""

from __future__ import annotations

import os
import shlex
import socket
import ssl
import time

from cryptography import x509
from pydantic import Field

from runbook_engine.checks import check_item, check_result, status_below, worst
from runbook_engine.checks.certs import describe, load_bundle, load_pem_chain, name_matches
from runbook_engine.checks.certs import verify_chain as verify_with_roots
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                   "/etc/ssl/cert.pem")


class Args(ModuleArgs):
    host: str | None = Field(None, description="server to connect to; default the host")
    port: int = Field(443, ge=1, le=65535)
    server_name: str | None = Field(None, description="SNI and the name to match")
    path: str | None = Field(None, description="read a PEM file on the host instead")
    from_host: bool = Field(False, description="connect from the host (openssl s_client)")
    ca_file: str | None = Field(None, description="CA bundle on the controller")
    verify_chain: bool = True
    check_hostname: bool = True
    warn_days: float = 30
    fail_days: float = 7
    expect_fingerprint: str | None = Field(None, description="SHA-256 the cert must have")
    reject_fingerprint: str | None = Field(None, description="SHA-256 it must NOT have")
    wait: float = Field(0, ge=0, description="seconds to wait for the expected certificate")
    timeout: float = 10


class _ProbeError(Exception):
    pass


def _fetch_served(host: str, port: int, sni: str | None, timeout: float) -> x509.Certificate:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                context.wrap_socket(sock, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        raise _ProbeError(f"could not complete a TLS handshake with {host}:{port}: {exc}") \
            from exc
    if not der:
        raise _ProbeError(f"{host}:{port} presented no certificate")
    return x509.load_der_x509_certificate(der)


def _fetch_verified(host: str, port: int, sni: str | None, ca_file: str | None,
                   timeout: float) -> tuple[x509.Certificate, str | None]:
    """The served certificate and why its chain is not trusted (None: trusted), from ONE
    verifying handshake when the chain is trusted. A server in the middle of a reload (or
    behind a load balancer) may serve another certificate on the next connection, so the
    certificate described is the one that was verified."""
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                context.wrap_socket(sock, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
        if der:
            return x509.load_der_x509_certificate(der), None
        error = "no certificate presented"
    except ssl.SSLCertVerificationError as exc:
        error = exc.verify_message or str(exc)
    except (OSError, ssl.SSLError) as exc:
        error = f"verification handshake failed: {exc}"
    # Not trusted: fetch it again, unverified, to say what it is.
    return _fetch_served(host, port, sni, timeout), error


def _system_roots() -> list[x509.Certificate]:
    paths = [ssl.get_default_verify_paths().cafile, *_SYSTEM_BUNDLES]
    for path in paths:
        if path and os.path.exists(path):
            return load_bundle(path)
    return []


def _read_file(ctx: TaskContext, args: Args) -> tuple[list[x509.Certificate], str | None]:
    assert args.path is not None
    out = ctx.run(["cat", "--", args.path])
    if out.rc != 0:
        raise _ProbeError(f"could not read {args.path}: {out.stderr.strip()}")
    chain = load_pem_chain(out.stdout_bytes)
    if not chain:
        raise _ProbeError(f"{args.path} holds no PEM certificate")
    error = None
    if args.verify_chain:
        roots = load_bundle(args.ca_file) if args.ca_file else _system_roots()
        error = verify_with_roots(chain[0], chain[1:], roots)
    return chain, error


def _fetch_from_host(ctx: TaskContext, args: Args, host: str,
                     sni: str) -> tuple[x509.Certificate, str | None]:
    address = f"[{host}]:{args.port}" if ":" in host else f"{host}:{args.port}"
    argv = shlex.join(["openssl", "s_client", "-connect", address, "-servername", sni,
                       "-showcerts"])
    limit = shlex.quote(str(int(args.timeout) or 1))
    out = ctx.run(f"if command -v timeout >/dev/null; then t='timeout {limit}'; else t=; fi;"
                  f" $t {argv} </dev/null 2>&1")
    chain = load_pem_chain(out.stdout_bytes)
    if not chain:
        last = out.stdout.strip().splitlines()[-1:] or ["no output"]
        raise _ProbeError(f"openssl s_client on the host got no certificate from "
                          f"{address}: {last[0]}")
    error = None
    if args.verify_chain:
        roots = load_bundle(args.ca_file) if args.ca_file else _system_roots()
        error = verify_with_roots(chain[0], chain[1:], roots)
    return chain[0], error


def _probe(ctx: TaskContext, args: Args) -> tuple[x509.Certificate, str | None, str]:
    if args.path:
        chain, error = _read_file(ctx, args)
        return chain[0], error, args.path
    host = args.host or str(ctx.vars.get("ansible_host", ctx.host))
    sni = args.server_name or host
    deadline = time.monotonic() + args.wait
    where = f"{host}:{args.port}" + (f" ({sni})" if sni != host else "")
    if args.from_host:
        cert, error = _fetch_from_host(ctx, args, host, sni)
        return cert, error, f"{where} from {ctx.host}"
    while True:
        if args.verify_chain:
            cert, error = _fetch_verified(host, args.port, sni, args.ca_file, args.timeout)
        else:
            cert, error = _fetch_served(host, args.port, sni, args.timeout), None
        settled = _same(cert, args.expect_fingerprint) and error is None \
            if args.expect_fingerprint else True
        if settled or time.monotonic() >= deadline:
            return cert, error, where
        time.sleep(0.25)  # a reloaded server swaps workers gradually


def _same(cert: x509.Certificate, wanted: str) -> bool:
    return describe(cert)["fingerprint_sha256"] == wanted.replace(":", "").lower()


def run(ctx: TaskContext, args: Args) -> Result:
    try:
        cert, verify_error, where = _probe(ctx, args)
    except _ProbeError as exc:
        item = check_item(f"tls {args.path or args.host}", "fail", None,
                          {"warn_days": args.warn_days, "fail_days": args.fail_days}, str(exc))
        return check_result(item)
    facts = describe(cert)
    name = args.server_name or (None if args.path else args.host)
    statuses = [status_below(facts["days_left"], args.warn_days, args.fail_days)]
    problems: list[str] = []
    facts["hostname_match"] = None
    if args.check_hostname and name:
        facts["hostname_match"] = name_matches(cert, name)
        if not facts["hostname_match"]:
            statuses.append("fail")
            problems.append(f"name {name} not in {', '.join(facts['sans']) or 'the cert'}")
    facts["chain_verified"] = None if not args.verify_chain else verify_error is None
    facts["verify_error"] = verify_error
    if verify_error:
        statuses.append("fail")
        problems.append(f"chain not trusted: {verify_error}")
    if args.expect_fingerprint and not _same(cert, args.expect_fingerprint):
        statuses.append("fail")
        problems.append("served certificate is not the expected one (old one still live?)")
    if args.reject_fingerprint and _same(cert, args.reject_fingerprint):
        statuses.append("fail")
        problems.append("the old certificate is still served")
    days = facts["days_left"]
    expiry = f"expired {-days:.1f} days ago" if days < 0 else f"{days:.1f} days left"
    detail = f"{facts['common_name'] or facts['subject']}: {expiry} ({facts['not_after'][:10]})"
    if problems:
        detail += "; " + "; ".join(problems)
    item = check_item(f"tls {where}", worst(statuses), days,
                      {"warn_days": args.warn_days, "fail_days": args.fail_days}, detail)
    return check_result(item, data={"tls": facts})
