"""Regions and KMS endpoint resolution for Key Protect and HPCS instances.

Key Protect: `https://<region>.kms.cloud.ibm.com` (private: `https://private.<region>...`), or the
KMS_URL override (the emulator, or a proxy) — an override comes from settings, never a request.
HPCS: every instance has its own endpoint (old port-based or new instance-based host), read from
the instance's Resource Controller record (`extensions.endpoints`, as IBM's Terraform provider
does), or, when the record has none, from the HPCS broker (`/crypto_v2/instances/{id}`, `kms`
hosts). Such an endpoint is trusted only on an IBM HPCS domain over https, or on the origin of
the configured service that gave it (the emulator), so a tampered record cannot send our bearer
token elsewhere. HPCS takes no new instances since 2026-03-28 and removes the rest after 2027-03-28.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from shared.crn import Crn
from shared.errors import EndpointError, RegionNotAllowed

KP_REGIONS = frozenset(
    {
        "us-south",
        "us-east",
        "eu-gb",
        "eu-de",
        "eu-es",
        "au-syd",
        "jp-tok",
        "jp-osa",
        "ca-tor",
        "ca-mon",
        "br-sao",
        "in-che",
        "in-mum",
    }
)
HPCS_REGIONS = frozenset({"us-south", "us-east", "eu-de", "eu-gb", "eu-es", "br-sao", "jp-tok", "ca-tor", "au-syd"})
ALL_REGIONS = KP_REGIONS | HPCS_REGIONS
HPCS_DOMAINS = (".hs-crypto.cloud.ibm.com", ".hs-crypto.appdomain.cloud")

InstanceLookup = Callable[[Crn], Mapping[str, Any]]
_NOT_IN_ENDPOINT = frozenset("?#;%@\\")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def is_dns_name(host: str) -> bool:
    """A plain ASCII DNS name (lower case): labels of 1-63 letters, digits and inner hyphens, 253 at most.

    Anything else (an empty or 64-character label) makes name resolution itself fail with an error
    that is not a network error, so it is refused before any call.
    """
    return 0 < len(host) <= 253 and all(_LABEL.fullmatch(label) for label in host.split("."))


def check_region(crn: Crn, allowed: frozenset[str]) -> None:
    served = KP_REGIONS if crn.service == "kms" else HPCS_REGIONS
    if crn.location not in allowed or crn.location not in served:
        raise RegionNotAllowed(f"region {crn.location[:40]!r} is not in the allow-list for {crn.service[:40]}")


def key_protect_url(region: str, endpoint_type: str, override: str | None) -> str:
    if override:
        return override
    prefix = "private." if endpoint_type == "private" else ""
    return f"https://{prefix}{region}.kms.cloud.ibm.com"


def record_endpoint(record: Mapping[str, Any], endpoint_type: str) -> str | None:
    """The KMS endpoint of an instance's Resource Controller record (`extensions.endpoints`), if any."""
    extensions = record.get("extensions")
    endpoints = extensions.get("endpoints") if isinstance(extensions, Mapping) else None
    url = endpoints.get(endpoint_type) if isinstance(endpoints, Mapping) else None
    return url if isinstance(url, str) and url else None


def broker_endpoint(answer: Mapping[str, Any], endpoint_type: str) -> str | None:
    """The KMS host from an HPCS broker answer (`kms.public` / `kms.private`, hosts without scheme)."""
    kms = answer.get("kms")
    host = kms.get(endpoint_type) if isinstance(kms, Mapping) else None
    return host if isinstance(host, str) and host else None


def trusted_hpcs_url(url: str, source: str) -> str:
    """`url` as a base URL if it may receive our token, else EndpointError.

    Trusted: https on an IBM HPCS domain with no path, or the origin of `source` — the configured
    URL the endpoint came from (Resource Controller or broker; the emulator serves HPCS under a
    path there). A bare host takes `source`'s scheme. Host names are plain ASCII DNS names;
    anything that could steer the path or host (`?`, `#`, `;`, `%`, `@`, `\\`, spaces) is refused.
    """
    if not url.isascii() or not url.isprintable() or any(c in _NOT_IN_ENDPOINT or c.isspace() for c in url):
        raise EndpointError("instance endpoint has characters an endpoint cannot have")
    if "://" not in url:
        url = f"{urlsplit(source).scheme}://{url}"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise EndpointError("instance endpoint is not a valid URL") from None
    host = parts.hostname or ""
    if not is_dns_name(host) or "xn--" in host or port == 0:
        raise EndpointError("instance endpoint host is not a plain DNS name")
    ibm = parts.scheme == "https" and host.endswith(HPCS_DOMAINS) and parts.path in ("", "/")
    if not (ibm or _same_origin(url, source)):
        raise EndpointError("instance endpoint is outside the trusted HPCS domains")
    return url.rstrip("/")


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def broker_url(template: str, region: str) -> str:
    return template.replace("{region}", region).rstrip("/")


def hpcs_base_url(
    crn: Crn,
    *,
    endpoint_type: str,
    resource_controller_url: str,
    lookup_record: InstanceLookup,
    broker_template: str,
    lookup_broker: InstanceLookup,
) -> str:
    """An HPCS instance's KMS base URL: from its Resource Controller record, else from the HPCS broker."""
    url = record_endpoint(lookup_record(crn), endpoint_type)
    if url is not None:
        return trusted_hpcs_url(url, resource_controller_url)
    url = broker_endpoint(lookup_broker(crn), endpoint_type)
    if url is None:
        raise EndpointError(f"neither Resource Controller nor the HPCS broker gives a {endpoint_type} KMS endpoint")
    return trusted_hpcs_url(url, broker_url(broker_template, crn.location))
