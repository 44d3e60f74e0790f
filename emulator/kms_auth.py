"""Who is calling the KMS API, on which instance, with which role (spec §1.2, §5.2, §10).

Order of checks: bearer token (401 missing / 400 BEARER_SUB_EXTRACTION_ERR unreadable / 401 bad
signature, expired or unknown subject) → instance (``bluemix-instance``; on the HPCS endpoint it
must name that HPCS instance) → role (401 UNAUTHORIZED_ERR below the operation's role).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulator import jwt
from emulator.kms_errors import KmsError, bearer_sub_extraction, unauthorized
from emulator.state import ROLE_RANK
from emulator.web import Request

if TYPE_CHECKING:
    from emulator.app import Emulator

READER, WRITER, MANAGER = "Reader", "Writer", "Manager"
KMS_CONTENT_TYPES = ("application/json",)


@dataclass
class Caller:
    iam_id: str
    principal: dict[str, Any]
    claims: dict[str, Any]


@dataclass
class KmsContext:
    caller: Caller
    instance: dict[str, Any]

    @property
    def guid(self) -> str:
        return str(self.instance["guid"])


def bearer_claims(emu: Emulator, req: Request) -> Caller:
    """The verified caller of an IBM-surface request; raises KmsError like the KMS API does."""
    auth = req.header("authorization") or ""
    scheme, _, token = auth.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    store = emu.store
    try:
        claims = jwt.read_claims(token.strip())
    except jwt.TokenFormatError as exc:
        raise bearer_sub_extraction() from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise bearer_sub_extraction()
    with store.lock:
        secret = bytes.fromhex(store.tokens["secret"])
        watermark = int(store.tokens["expired_upto"])
        now = store.now()
        try:
            jwt.decode(token.strip(), secret)
        except jwt.TokenFormatError as exc:
            raise unauthorized() from exc
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            raise unauthorized()
        jti = str(claims.get("jti", ""))
        seq = int(jti[4:]) if jti.startswith("emu-") and jti[4:].isdigit() else 0
        if seq <= watermark:
            raise unauthorized()
        principal = store.principal(str(claims.get("iam_id") or claims["sub"]))
    if principal is None:
        raise unauthorized()
    return Caller(str(principal["iam_id"]), principal, claims)


def _instance_error(status: int, missing: bool) -> KmsError:
    if status == 401:
        return unauthorized()
    if missing:
        return KmsError(status, "MISSING_INSTANCE_ERR", "The bluemix-instance header is required",
                        "Bad Request: The bluemix-instance header is missing. Please see `reasons` for more details.")
    return KmsError(status, "INSTANCE_NOT_FOUND_ERR", "The service instance could not be found",
                    "Not Found: The service instance could not be found. Please see `reasons` for more details.")


def resolve_instance(emu: Emulator, req: Request) -> dict[str, Any]:
    """The KMS instance this request is for (header, and the HPCS path segment when present)."""
    guid = (req.header("bluemix-instance") or "").strip()
    if not guid:
        raise _instance_error(emu.options.missing_instance_status, True)
    inst = emu.store.instance(guid)
    wanted = "hs-crypto" if req.hpcs_guid else "kms"
    if (inst is None or inst["state"] != "active" or inst["service"] != wanted
            or (req.hpcs_guid and req.hpcs_guid != guid)):
        raise _instance_error(emu.options.unknown_instance_status, False)
    return inst


def authorize(emu: Emulator, req: Request, role: str) -> KmsContext:
    """Authenticate, resolve the instance and require ``role`` on it."""
    caller = bearer_claims(emu, req)
    with emu.store.lock:
        inst = resolve_instance(emu, req)
        if emu.store.role_rank(caller.principal, inst["guid"]) < ROLE_RANK[role]:
            raise unauthorized()
    return KmsContext(caller, inst)


def check_content_type(req: Request) -> KmsError | None:
    """Accept application/json, application/vnd.ibm.kms.*+json, or none (spec §1.2)."""
    ctype = (req.header("content-type") or "").split(";", 1)[0].strip().lower()
    if not ctype or ctype == "application/json":
        return None
    if ctype.startswith("application/vnd.ibm.") and ctype.endswith("+json"):
        return None
    return KmsError(415, "UNSUPPORTED_MEDIA_TYPE_ERR", f"Content-Type {ctype} is not supported",
                    "Unsupported Media Type: Please see `reasons` for more details.")
