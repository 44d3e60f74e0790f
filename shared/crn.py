"""Cloud Resource Names: strict parsing of
`crn:v1:<cname>:<ctype>:<service>:<location>:a/<account>:<instance>:<resource-type>:<resource>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shared.errors import InvalidTarget

KMS_SERVICES = frozenset({"kms", "hs-crypto"})
MAX_CRN_LENGTH = 512

_SEGMENT = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_ACCOUNT = re.compile(r"[A-Za-z0-9]{1,64}\Z")
_FREE = re.compile(r"[A-Za-z0-9_.\-/]*\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


@dataclass(frozen=True)
class Crn:
    cname: str
    ctype: str
    service: str
    location: str
    account: str
    instance: str
    resource_type: str = ""
    resource: str = ""

    def __str__(self) -> str:
        return (
            f"crn:v1:{self.cname}:{self.ctype}:{self.service}:{self.location}:a/{self.account}:"
            f"{self.instance}:{self.resource_type}:{self.resource}"
        )

    @property
    def is_instance(self) -> bool:
        return bool(self.instance) and not self.resource_type and not self.resource

    @property
    def is_kms(self) -> bool:
        return self.service in KMS_SERVICES


def parse_crn(text: object) -> Crn:
    """Parse a CRN or raise InvalidTarget; nothing outside a strict character set gets through."""
    if not isinstance(text, str):
        raise InvalidTarget("CRN must be a string")
    if len(text) > MAX_CRN_LENGTH or not text.isascii() or not text.isprintable():
        raise InvalidTarget("CRN has characters or a length a CRN cannot have")
    parts = text.split(":")
    if len(parts) != 10 or parts[0] != "crn" or parts[1] != "v1":
        raise InvalidTarget(
            "CRN must have the form crn:v1:<cname>:<ctype>:<service>:<location>:a/<account>:<instance>::"
        )
    _, _, cname, ctype, service, location, scope, instance, rtype, resource = parts
    for name, value in (("cname", cname), ("ctype", ctype), ("service name", service)):
        if not _SEGMENT.match(value):
            raise InvalidTarget(f"CRN {name} segment is malformed")
    if location and not _SEGMENT.match(location):
        raise InvalidTarget("CRN location segment is malformed")
    if not scope.startswith("a/") or not _ACCOUNT.match(scope[2:]):
        raise InvalidTarget("CRN scope must be a/<account id>")
    for name, value in (("instance", instance), ("resource type", rtype), ("resource", resource)):
        if not _FREE.match(value) or len(value) > 128:
            raise InvalidTarget(f"CRN {name} segment is malformed")
    return Crn(cname, ctype, service, location, scope[2:], instance, rtype, resource)


def require_kms_instance(crn: Crn) -> Crn:
    """A Key Protect or HPCS instance CRN, with a UUID instance id (returned lower-case) and a region."""
    if not crn.is_kms:
        raise InvalidTarget("CRN is not a Key Protect (kms) or HPCS (hs-crypto) instance")
    if not crn.is_instance:
        raise InvalidTarget("CRN names a resource inside an instance, not the instance itself")
    if not _UUID.match(crn.instance):
        raise InvalidTarget("instance id in the CRN must be a UUID")
    if not crn.location:
        raise InvalidTarget("CRN has no region")
    return replace(crn, instance=crn.instance.lower())


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))
