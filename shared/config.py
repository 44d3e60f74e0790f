"""Settings: built once from the environment, validated all at once, frozen. The only env reader.

Variable names follow IBM Cloud's own tools where one exists (IBMCLOUD_API_KEY, IBMCLOUD_IAM_URL,
IBMCLOUD_RESOURCE_CONTROLLER_URL, KMS_URL); the rest are ours and start with DUALAUTH_.
Written by hand rather than with a settings library: twenty lines of parsing, one error that
names every bad variable, and no extra dependency in a cold start.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from shared.crn import is_uuid, parse_crn
from shared.endpoints import ALL_REGIONS, is_dns_name
from shared.errors import ConfigError, InvalidTarget

CE_CR_TOKEN_FILE = "/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token"  # noqa: S105 - a path
HPCS_BROKER_URL = "https://{region}.broker.hs-crypto.cloud.ibm.com"
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    api_key: str | None = field(default=None, repr=False)
    trusted_profile_id: str | None = None
    cr_token_file: str = CE_CR_TOKEN_FILE
    iam_url: str = "https://iam.cloud.ibm.com"
    resource_controller_url: str = "https://resource-controller.cloud.ibm.com"
    kms_url: str | None = None
    hpcs_broker_url: str = HPCS_BROKER_URL
    endpoint_type: str = "public"
    dry_run: bool = False
    allowed_regions: frozenset[str] = ALL_REGIONS
    exempt_instances: frozenset[str] = frozenset()
    event_token: str | None = field(default=None, repr=False)
    event_token_header: str = "Authorization"  # noqa: S105 - a header name
    http_timeout: float = 5.0
    retry_max: int = 4
    retry_budget: float = 8.0
    max_body_bytes: int = 256 * 1024
    body_read_seconds: float = 5.0

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, so that logging can redact them wherever they appear."""
        return tuple(s for s in (self.api_key, self.event_token) if s)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        problems: list[str] = []

        def get(name: str, parse: Callable[[str], T], default: T) -> T:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return parse(raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                return default

        settings = cls(
            api_key=get("IBMCLOUD_API_KEY", _visible_ascii, None),
            trusted_profile_id=get("IBMCLOUD_TRUSTED_PROFILE_ID", _visible_ascii, None),
            cr_token_file=get("IBMCLOUD_CR_TOKEN_FILE", str, cls.cr_token_file),
            iam_url=get("IBMCLOUD_IAM_URL", _url, cls.iam_url),
            resource_controller_url=get("IBMCLOUD_RESOURCE_CONTROLLER_URL", _url, cls.resource_controller_url),
            kms_url=get("KMS_URL", _url, None),
            hpcs_broker_url=get("DUALAUTH_HPCS_BROKER_URL", _url_template, cls.hpcs_broker_url),
            endpoint_type=get("DUALAUTH_ENDPOINT_TYPE", _choice("public", "private"), cls.endpoint_type),
            dry_run=get("DRY_RUN", _bool, cls.dry_run),
            allowed_regions=get("DUALAUTH_ALLOWED_REGIONS", _regions, cls.allowed_regions),
            exempt_instances=get("DUALAUTH_EXEMPT_INSTANCES", _instance_ids, cls.exempt_instances),
            event_token=get("DUALAUTH_EVENT_TOKEN", _visible_ascii, None),
            event_token_header=get("DUALAUTH_EVENT_TOKEN_HEADER", _header_name, cls.event_token_header),
            http_timeout=get("DUALAUTH_HTTP_TIMEOUT", _positive(float, 60), cls.http_timeout),
            retry_max=get("DUALAUTH_RETRY_MAX", _positive(int, 10, zero_ok=True), cls.retry_max),
            retry_budget=get("DUALAUTH_RETRY_BUDGET_SECONDS", _positive(float, 300), cls.retry_budget),
            max_body_bytes=get("DUALAUTH_MAX_BODY_BYTES", _positive(int, 10 * 1024 * 1024), cls.max_body_bytes),
            body_read_seconds=get("DUALAUTH_BODY_READ_SECONDS", _positive(float, 60), cls.body_read_seconds),
        )
        given = {name for name in ("IBMCLOUD_API_KEY", "IBMCLOUD_TRUSTED_PROFILE_ID") if env.get(name, "").strip()}
        if not given:
            problems.append("IBMCLOUD_API_KEY: required (or IBMCLOUD_TRUSTED_PROFILE_ID)")
        elif len(given) == 2:
            problems.append("IBMCLOUD_TRUSTED_PROFILE_ID: set it or IBMCLOUD_API_KEY, not both (which one would act?)")
        if problems:
            raise ConfigError(problems)
        return settings


INTEGER = re.compile(r"[0-9]{1,12}")
DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
# Headers that carry the event itself or its framing: a shared secret cannot travel in them.
MESSAGE_HEADERS = {"content-type", "content-length", "content-encoding", "transfer-encoding", "host", "connection"}


def _url(raw: str) -> str:
    try:  # urlsplit's and httpx's own messages quote the value: ours do not
        parts = urlsplit(raw)
        port = parts.port
        httpx.URL(raw)
    except (ValueError, httpx.InvalidURL):
        raise ValueError("must be an absolute http(s) URL with a valid host and port") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not (is_dns_name(host) or _is_ip(host)) or port == 0:
        raise ValueError("must be an absolute http(s) URL with a valid host and port")
    if any(char.isspace() for char in raw):
        raise ValueError("must not contain spaces")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError("must use https (plain http only for a loopback host)")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    return raw.rstrip("/")


def _url_template(raw: str) -> str:
    """A URL that may hold `{region}`, checked as it would be for us-south."""
    _url(raw.replace("{region}", "us-south"))
    return raw.rstrip("/")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bool(raw: str) -> bool:
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError("must be one of " + ", ".join(allowed))
        return raw

    return parse


def _words(raw: str) -> list[str]:
    """The entries of a comma- or space-separated list, in the order given (errors number them so)."""
    return raw.replace(",", " ").split()


def _instance_ids(raw: str) -> frozenset[str]:
    """Instance GUIDs, given as GUIDs or instance CRNs, lower-cased. Exemption compares the GUID only,
    because the GUID alone is what the KMS call acts on (a CRN with another cname still names it)."""
    ids = set()
    for number, word in enumerate(_words(raw), 1):
        try:
            guid = parse_crn(word).instance if word.startswith("crn:") else word
            if word.startswith("crn:") and not parse_crn(word).is_instance:
                raise InvalidTarget("names a resource inside an instance")
        except InvalidTarget:
            raise ValueError(f"entry {number} is not an instance CRN") from None
        if not is_uuid(guid):
            raise ValueError(f"entry {number} does not name an instance GUID")
        ids.add(guid.lower())
    return frozenset(ids)


def _regions(raw: str) -> frozenset[str]:
    words = _words(raw)
    if not words:
        raise ValueError("must name at least one region (leave it unset to allow all)")
    unknown = [str(number) for number, word in enumerate(words, 1) if word not in ALL_REGIONS]
    if unknown:
        raise ValueError("entry " + ", ".join(unknown) + " is not a Key Protect or HPCS region id")
    return frozenset(words)


def _visible_ascii(raw: str) -> str:
    """A credential or shared secret: visible ASCII only, as IAM issues keys and as a header (read as
    latin-1 by servers) can carry it byte for byte."""
    if not all("!" <= char <= "~" for char in raw):
        raise ValueError("must be visible ASCII characters without spaces")
    return raw


def _header_name(raw: str) -> str:
    if not raw.replace("-", "").isalnum() or not raw.isascii():
        raise ValueError("must be an HTTP header name")
    low = raw.lower()
    if low in MESSAGE_HEADERS or low.startswith("ce-"):
        raise ValueError("must be a header of its own, not one that frames or describes the event")
    return raw


def _positive(kind: Callable[[str], T], limit: float, zero_ok: bool = False) -> Callable[[str], T]:
    span = f"from 0 to {limit}" if zero_ok else f"above 0 and at most {limit}"
    wanted = f"must be a {'whole number' if kind is int else 'number'} {span}"

    def parse(raw: str) -> T:
        # ASCII digits only: int() and float() would also take "1_000", other scripts' digits and "inf";
        # and their own messages quote the value, which may be a misplaced secret.
        if not (INTEGER if kind is int else DECIMAL).fullmatch(raw):
            raise ValueError(wanted)
        value = kind(raw)
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number) or number < 0 or (number == 0 and not zero_ok) or number > limit:
            raise ValueError(wanted)
        return value

    return parse


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from os.environ on first use."""
    return Settings.from_env(os.environ)
