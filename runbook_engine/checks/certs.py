"""Certificate facts for tls_check and certbot: parse, match names, verify a chain."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import warnings
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification
from cryptography.x509.oid import ExtensionOID, NameOID

_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)


def load_pem_chain(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM text (leaf first, as servers and certbot write them)."""
    with warnings.catch_warnings():
        # System bundles hold a few old roots with negative serials: still usable roots.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return [x509.load_pem_x509_certificate(block) for block in _PEM_BLOCK.findall(data)]


def load_bundle(path: str) -> list[x509.Certificate]:
    with open(path, "rb") as handle:
        return load_pem_chain(handle.read())


def sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return []
    names: list[str] = list(ext.value.get_values_for_type(x509.DNSName))
    names += [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]
    return names


def common_name(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def name_matches(cert: x509.Certificate, name: str) -> bool:
    """RFC 6125 matching: SANs only (CN when there are none), one left-most wildcard label."""
    name = name.lower().rstrip(".")
    candidates = sans(cert) or [common_name(cert)]
    try:
        ip = ipaddress.ip_address(name)
        return any(c == str(ip) for c in candidates)
    except ValueError:
        pass
    for pattern in (c.lower().rstrip(".") for c in candidates):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def verify_chain(
    leaf: x509.Certificate, intermediates: list[x509.Certificate], roots: list[x509.Certificate]
) -> str | None:
    """None when the chain verifies against `roots`, else why not. Expiry counts as failure
    (that is what a browser says); the name is checked separately by name_matches."""
    names = sans(leaf)
    if not roots:
        return "no CA certificates to verify against"
    subject: x509.verification.Subject = (
        x509.DNSName(names[0]) if names else x509.DNSName(common_name(leaf) or "invalid")
    )
    if names and _is_ip(names[0]):
        subject = x509.IPAddress(ipaddress.ip_address(names[0]))
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(roots))
        .time(dt.datetime.now(dt.UTC))
        .build_server_verifier(subject)
    )
    try:
        verifier.verify(leaf, intermediates)
    except verification.VerificationError as exc:
        return str(exc)
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def describe(cert: x509.Certificate) -> dict[str, Any]:
    """The facts every report shows about a certificate."""
    now = dt.datetime.now(dt.UTC)
    not_after = cert.not_valid_after_utc
    return {
        "subject": cert.subject.rfc4514_string(),
        "common_name": common_name(cert),
        "sans": sans(cert),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": round((not_after - now).total_seconds() / 86400, 2),
        "fingerprint_sha256": fingerprint(cert),
    }
