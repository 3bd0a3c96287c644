"""certbot: issue a certificate when it is missing, renew it when due, on the host.

Runs the host's certbot (`certbot certonly --webroot|--standalone`, or `certbot renew
--cert-name NAME --no-random-sleep-on-renew`). `changed` means a NEW certificate was
written: the certificate file is compared before and after, whatever certbot printed.
The ACME directory is an argument, so staging, production or a private ACME CA all work.

    - certbot:
        cert_name: example.org
        domains: [example.org, www.example.org]
        webroot: /var/www/html
        acme_server: "{{ acme_directory }}"
        deploy_hook: systemctl reload nginx
      register: cert
    # cert.certbot.fingerprint_sha256: the certificate now on disk (probe it with tls_check)
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Literal

from pydantic import Field, model_validator

from runbook_engine.checks.certs import describe, load_pem_chain
from runbook_engine.connection.base import CommandResult
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext, fail

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
RENEW_BEFORE_DAYS = 30  # certbot's default `renew_before_expiry`
_MARK = "@@runbook-engine-certificate@@"


class Args(ModuleArgs):
    cert_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    domains: list[str] = Field(min_length=1)
    state: Literal["present", "renewed"] = Field(
        "present", description="present: issue if missing, renew when due; renewed: force")
    acme_server: str = LETS_ENCRYPT
    email: str | None = None
    authenticator: Literal["webroot", "standalone"] = "webroot"
    webroot: str | None = None
    http_port: int | None = Field(None, description="standalone: --http-01-port")
    http_address: str | None = Field(None, description="standalone: --http-01-address")
    deploy_hook: str | None = None
    config_dir: str = "/etc/letsencrypt"
    work_dir: str = "/var/lib/letsencrypt"
    logs_dir: str = "/var/log/letsencrypt"
    ca_bundle: str | None = Field(None, description="REQUESTS_CA_BUNDLE for a private ACME CA")
    certbot: str = "certbot"
    extra_args: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _webroot_needs_a_dir(self) -> Args:
        if self.authenticator == "webroot" and not self.webroot:
            raise ValueError("authenticator webroot needs webroot: (the site's document root)")
        return self


def _live(args: Args, name: str) -> str:
    return f"{args.config_dir}/live/{args.cert_name}/{name}"


def _read_cert(ctx: TaskContext, args: Args) -> dict[str, Any] | None:
    out = ctx.run(f"cat -- {shlex.quote(_live(args, 'cert.pem'))} 2>/dev/null || true")
    chain = load_pem_chain(out.stdout_bytes)
    return describe(chain[0]) if chain else None


def _common(args: Args) -> list[str]:
    argv = ["env", f"REQUESTS_CA_BUNDLE={args.ca_bundle}"] if args.ca_bundle else []
    argv += [args.certbot, "--config-dir", args.config_dir, "--work-dir", args.work_dir,
             "--logs-dir", args.logs_dir, "--non-interactive", "--agree-tos",
             "--server", args.acme_server]
    argv += ["--email", args.email] if args.email else ["--register-unsafely-without-email"]
    return argv


def _issue_argv(args: Args) -> list[str]:
    argv = [*_common(args), "certonly", "--cert-name", args.cert_name]
    if args.authenticator == "webroot":
        argv += ["--webroot", "-w", str(args.webroot)]
    else:
        argv.append("--standalone")
        if args.http_port:
            argv += ["--http-01-port", str(args.http_port)]
        if args.http_address:
            argv += ["--http-01-address", args.http_address]
    for domain in args.domains:
        argv += ["-d", domain]
    if args.deploy_hook:
        argv += ["--deploy-hook", args.deploy_hook]
    return argv + args.extra_args


def _renew_argv(args: Args) -> list[str]:
    argv = [*_common(args), "renew", "--cert-name", args.cert_name,
            "--no-random-sleep-on-renew"]
    if args.state == "renewed":
        argv.append("--force-renewal")
    if args.deploy_hook:
        argv += ["--deploy-hook", args.deploy_hook]
    return argv + args.extra_args


def explain_failure(output: str) -> str:
    """The part of certbot's output a person needs: the CA's problem report if any."""
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    report = [ln.strip() for ln in lines
              if re.match(r"\s*(Domain|Type|Detail|Hint):", ln) or "Error" in ln]
    if report:
        return " | ".join(dict.fromkeys(report))
    noise = ("Saving debug log", "Ask for help", "See the logfile", "- - -")
    useful = [ln.strip() for ln in lines if not ln.strip().startswith(noise)]
    return " | ".join(useful[-4:]) or "no output"


def run(ctx: TaskContext, args: Args) -> Result:
    before = _read_cert(ctx, args)
    paths = {"cert_path": _live(args, "cert.pem"), "fullchain_path": _live(args, "fullchain.pem"),
             "key_path": _live(args, "privkey.pem")}
    if before is None:
        action, argv = "issue", _issue_argv(args)
    elif args.state == "renewed" or before["days_left"] < RENEW_BEFORE_DAYS:
        action, argv = "renew", _renew_argv(args)
    else:
        action, argv = "not_due", _renew_argv(args)  # certbot decides; it knows the config
    if ctx.check_mode:
        would = action != "not_due"
        data = {"action": f"would_{action}" if would else action, **paths, "before": before,
                "after": before, "fingerprint_sha256": before and before["fingerprint_sha256"]}
        return Result(changed=would, msg=f"would {action} {args.cert_name}" if would
                      else f"{args.cert_name} is not due", data={"certbot": data})
    # certbot, then the certificate it left, in one round trip
    out = ctx.run(f"{shlex.join(argv)}; rc=$?; echo; echo {_MARK};"
                  f" cat -- {shlex.quote(_live(args, 'cert.pem'))} 2>/dev/null; exit $rc")
    certbot_out, _, cert_text = out.stdout_bytes.partition(f"\n{_MARK}\n".encode())
    chain = load_pem_chain(cert_text)
    after = describe(chain[0]) if chain else None
    out = CommandResult(out.rc, certbot_out, out.stderr_bytes)
    data: dict[str, Any] = {"action": action, **paths, "before": before, "after": after,
                            "fingerprint_sha256": after and after["fingerprint_sha256"]}
    if out.rc != 0:
        why = explain_failure(out.stdout + "\n" + out.stderr)
        verb = "issuing" if action == "issue" else "renewing"
        return fail(f"certbot failed {verb} {args.cert_name} ({', '.join(args.domains)}): {why}",
                    certbot=data, rc=out.rc)
    changed = after is not None and (before is None or
                                     before["fingerprint_sha256"] != after["fingerprint_sha256"])
    if changed:
        data["action"] = "issued" if before is None else "renewed"
    elif action != "issue":
        data["action"] = "not_due"
    msg = f"{args.cert_name}: {data['action'].replace('_', ' ')}"
    if after:
        msg += f", expires {after['not_after'][:19]}"
    return Result(changed=changed, msg=msg, rc=out.rc, stdout=out.stdout, stderr=out.stderr,
                  data={"certbot": data})
