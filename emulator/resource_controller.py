"""Resource Controller ``/v2/resource_instances`` and the HPCS broker ``/crypto_v2/instances/{guid}``.

    ServiceError
    └── RcError(status, error_code, message)   -> {"message", "status_code", "error_code", "transaction_id"}

RC records point ``extensions.endpoints`` at this emulator: ``B`` for Key Protect, ``B/hpcs/{guid}``
for HPCS. Paging: ``limit`` + opaque ``start`` token; ``next_url`` is relative, null on the last
page, always present. Every call needs a valid bearer token (any principal of the account).
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urlsplit

from emulator.kms_auth import bearer_claims
from emulator.kms_errors import KmsError
from emulator.web import Request, Response, Router, ServiceError

if TYPE_CHECKING:
    from emulator.app import Emulator

SERVICE_IDS = {"kms": "ee41347f-b18e-4ca6-bf80-b5467c63f9a6",
               "hs-crypto": "febfc0b4-5ab2-44b5-8b69-8fbd8b0e49d3"}  # hs-crypto id is synthetic
PLAN_IDS = {"kms": "eedd3585-90c6-4c8f-be3d-062069e99fc3",
            "hs-crypto": "0b5e0b8a-5e27-4b8c-9c3b-3a1e2f1c2d3e"}  # hs-crypto plan is synthetic
MAX_LIMIT = 100


class RcError(ServiceError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> Response:
        return Response.json(self.status, {"message": self.message, "status_code": self.status,
                                           "error_code": self.code, "transaction_id": uuid.uuid4().hex})


def endpoint(base_url: str, inst: dict[str, Any]) -> str:
    return f"{base_url}/hpcs/{inst['guid']}" if inst["service"] == "hs-crypto" else base_url


def record(emu: Emulator, inst: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The RC view of an instance."""
    account = emu.store.world["account_id"]
    service, region, crn = inst["service"], inst["region"], inst["crn"]
    rg = inst["resource_group_id"]
    url = endpoint(base_url, inst)
    return {
        "id": crn, "guid": inst["guid"], "url": f"/v2/resource_instances/{inst['guid']}", "crn": crn,
        "name": inst["name"], "region_id": region, "account_id": account,
        "resource_id": SERVICE_IDS[service], "resource_plan_id": PLAN_IDS[service],
        "resource_group_id": rg,
        "resource_group_crn": f"crn:v1:bluemix:public:resource-controller::a/{account}::resource-group:{rg}",
        "target_crn": f"crn:v1:bluemix:public:globalcatalog::::deployment:{PLAN_IDS[service]}%3A{region}",
        "state": inst["state"], "type": "service_instance", "sub_type": service, "locked": False,
        "allow_cleanup": False, "created_at": inst["created_at"], "updated_at": inst["updated_at"],
        "created_by": inst["created_by"],
        "last_operation": {"type": "delete" if inst["state"] == "removed" else "create", "state": "succeeded",
                           "async": False, "description": "Completed", "cancelable": False, "poll": False},
        "extensions": {"endpoints": {"public": url, "private": url}},
    }


def _caller(emu: Emulator, req: Request) -> None:
    try:
        bearer_claims(emu, req)
    except KmsError as exc:
        raise RcError(401, "RC-IamErrorResponse", "The IAM token is missing, invalid or expired.") from exc


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        return max(0, int(text[2:]))
    except ValueError as exc:
        raise RcError(400, "RC-BadRequest", "The start token is not valid.") from exc


def list_instances(emu: Emulator, req: Request) -> Response:
    """GET /v2/resource_instances."""
    _caller(emu, req)
    raw_limit = req.arg("limit")
    try:
        limit = int(raw_limit) if raw_limit is not None else emu.options.rc_default_limit
    except ValueError:
        limit = -1
    if not 1 <= limit <= MAX_LIMIT:
        raise RcError(400, "RC-BadRequest", f"limit must be an integer between 1 and {MAX_LIMIT}.")
    start = _offset(req.arg("start") or "") if req.arg("start") else 0
    states = (req.arg("state") or "active,provisioning").split(",")
    filters = {name: req.arg(name) for name in ("type", "resource_id", "guid", "name", "resource_group_id",
                                                 "resource_plan_id", "sub_type")}
    with emu.store.lock:
        rows = [record(emu, inst, req.base_url) for inst in emu.store.world["instances"].values()]
    rows = [r for r in rows if r["state"] in states
            and all(v is None or r.get(k) == v for k, v in filters.items())]
    page = rows[start:start + limit]
    next_url = None
    if start + limit < len(rows):
        query = {k: v for k, v in req.query.items() if k not in ("start", "limit")}
        flat = [(k, v) for k, vs in query.items() for v in vs]
        flat += [("limit", str(limit)), ("start", _token(start + limit))]
        next_url = f"/v2/resource_instances?{urlencode(flat)}"
    return Response.json(200, {"rows_count": len(page), "next_url": next_url, "resources": page})


def get_instance(emu: Emulator, req: Request) -> Response:
    """GET /v2/resource_instances/{guid or URL-encoded CRN}."""
    _caller(emu, req)
    ident = unquote(req.params["id"])
    with emu.store.lock:
        for inst in emu.store.world["instances"].values():
            if ident in (inst["guid"], inst["crn"]):
                return Response.json(200, record(emu, inst, req.base_url))
    raise RcError(404, "RC-ResourceInstanceNotFound", f"Instance {ident} not found.")


def broker_instance(emu: Emulator, req: Request) -> Response:
    """GET /crypto_v2/instances/{guid}: HPCS endpoints as hosts without scheme (spec §6.3)."""
    _caller(emu, req)
    guid = req.params["guid"]
    with emu.store.lock:
        inst = emu.store.instance(guid)
        if inst is None or inst["service"] != "hs-crypto" or inst["state"] != "active":
            raise RcError(404, "BROKER-InstanceNotFound", f"Instance {guid} not found.")
    url = endpoint(req.base_url, inst)
    host = url if emu.options.broker_with_scheme else url.split("://", 1)[1]
    ep11 = f"{urlsplit(req.base_url).netloc}/hpcs/{guid}/ep11"
    return Response.json(200, {"instance_id": guid, "kms": {"public": host, "private": host},
                               "ep11": {"public": ep11, "private": ep11}})


def register(router: Router, emu: Emulator) -> None:
    router.add("GET", "/v2/resource_instances", lambda req: list_instances(emu, req))
    router.add("GET", "/v2/resource_instances/{id}", lambda req: get_instance(emu, req))
    router.add("GET", "/crypto_v2/instances/{guid}", lambda req: broker_instance(emu, req))
