"""Regions and KMS endpoint resolution for Key Protect and HPCS instances.

Key Protect: `https://<region>.kms.cloud.ibm.com` (private: `https://private.<region>...`), or the
KMS_URL override (the emulator, or a proxy) — an override comes from settings, never a request.
HPCS: every instance has its own endpoint (old port-based or new instance-based host), read from
the instance's Resource Controller record (`extensions.endpoints`). Such an endpoint is trusted
only on an IBM HPCS domain over https, or on the same origin as the configured Resource Controller
(the emulator), so a tampered record cannot send our bearer token elsewhere.
"""

from __future__ import annotations

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


def check_region(crn: Crn, allowed: frozenset[str]) -> None:
    served = KP_REGIONS if crn.service == "kms" else HPCS_REGIONS
    if crn.location not in allowed or crn.location not in served:
        raise RegionNotAllowed(f"region {crn.location!r} is not in the allow-list for {crn.service}")


def key_protect_url(region: str, endpoint_type: str, override: str | None) -> str:
    if override:
        return override
    prefix = "private." if endpoint_type == "private" else ""
    return f"https://{prefix}{region}.kms.cloud.ibm.com"


def hpcs_url(record: Mapping[str, Any], endpoint_type: str, resource_controller_url: str) -> str:
    extensions = record.get("extensions")
    endpoints = extensions.get("endpoints") if isinstance(extensions, Mapping) else None
    url = endpoints.get(endpoint_type) if isinstance(endpoints, Mapping) else None
    if not isinstance(url, str) or not url:
        raise EndpointError(f"instance record has no {endpoint_type} KMS endpoint")
    if "://" not in url:  # some records give a bare host
        url = "https://" + url
    parts = urlsplit(url)
    trusted_ibm = parts.scheme == "https" and (parts.hostname or "").endswith(HPCS_DOMAINS)
    if not (trusted_ibm or _same_origin(url, resource_controller_url)) or parts.query or parts.fragment:
        raise EndpointError("instance record names an endpoint outside the trusted HPCS domains")
    return url.rstrip("/")


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def kms_base_url(
    crn: Crn,
    *,
    endpoint_type: str,
    kms_url: str | None,
    resource_controller_url: str,
    lookup: InstanceLookup,
) -> str:
    """The base URL (without /api/v2) of the KMS API serving this instance."""
    if crn.service == "kms":
        return key_protect_url(crn.location, endpoint_type, kms_url)
    return hpcs_url(lookup(crn), endpoint_type, resource_controller_url)
