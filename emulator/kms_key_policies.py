"""Key-level policies: ``GET|PUT /api/v2/keys/{id}/policies[?policy=dualAuthDelete|rotation]`` (§3.1).

A key's dualAuthDelete can be switched on but never off again (the error for trying is
unconfirmed: 400 INVALID_FIELD_ERR by default, 409 DUAL_AUTH_POLICY_LOCKED_ERR with
``key_dual_auth_disable_status=409``). Keys that inherited dual auth show the policy unless
``hide_inherited_key_policy`` is on. PUT answers 200 with the policies it set. Each policy resource
carries ``type`` (``application/vnd.ibm.kms.policy+json``): IBM's API definition, as generated into
the keyprotect SDK's ``GetKeyPolicy*ResourcesItem`` models, makes it a required field.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from emulator.kms_auth import MANAGER, KmsContext, authorize, check_content_type
from emulator.kms_decode import collection, expect, parse_body, unknown_fields
from emulator.kms_errors import KEY_POLICY_NOT_CREATED, KmsError, bad_body, invalid_field, invalid_query
from emulator.kms_keys import find_key
from emulator.state import iso
from emulator.web import Request, Response, Router

if TYPE_CHECKING:
    from emulator.app import Emulator

POLICY_TYPE = "application/vnd.ibm.kms.policy+json"
KINDS = ("rotation", "dualAuthDelete")
E = KEY_POLICY_NOT_CREATED


def _render(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {"id": rec["id"], "crn": rec["crn"], "type": POLICY_TYPE, kind: dict(rec["data"]),
            "createdBy": rec["createdBy"],
            "creationDate": rec["creationDate"], "updatedBy": rec["updatedBy"],
            "lastUpdateDate": rec["lastUpdateDate"]}


def _collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"collectionType": POLICY_TYPE, "collectionTotal": len(items)}}
    if items:
        body["resources"] = items
    return body


def _visible(emu: Emulator, key: dict[str, Any], wanted: str | None) -> list[dict[str, Any]]:
    out = []
    for kind in KINDS:
        rec = key["_policies"].get(kind)
        if rec is None or wanted not in (None, kind):
            continue
        if kind == "dualAuthDelete" and key.get("_inherited_dual") and emu.options.hide_inherited_key_policy:
            continue
        out.append(_render(kind, rec))
    return out


def _wanted(req: Request, error_msg: str) -> str | None:
    wanted = req.arg("policy")
    if wanted is not None and wanted not in KINDS:
        raise invalid_query("policy", "one of rotation, dualAuthDelete", error_msg)
    return wanted


def get_key_policies(emu: Emulator, req: Request) -> Response:
    """GET /api/v2/keys/{id}/policies (Manager)."""
    ctx = authorize(emu, req, MANAGER)
    wanted = _wanted(req, "Bad Request: Policy could not be retrieved. Please see `reasons` for more details.")
    with emu.store.lock:
        key = find_key(emu, ctx, req)
        return Response.json(200, _collection(_visible(emu, key, wanted)))


def _decoded(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    path = "KeyPolicies.resources"
    for kind in KINDS:
        if kind not in res:
            continue
        expect(res[kind], dict, f"{path}.{kind}", "Policy", E)
        data = res[kind] or {}
        allowed = {"enabled"} if kind == "dualAuthDelete" else {"enabled", "interval_month"}
        unknown_fields(data, allowed, E)
        expect(data.get("enabled"), bool, f"{path}.{kind}.enabled", "bool", E)
        expect(data.get("interval_month"), int, f"{path}.{kind}.interval_month", "int", E)
        found[kind] = data
    return found


def _locked_error(emu: Emulator) -> KmsError:
    if emu.options.key_dual_auth_disable_status == 409:
        return KmsError(409, "DUAL_AUTH_POLICY_LOCKED_ERR",
                        "The dual authorization policy of a key cannot be disabled once enabled",
                        "Conflict: Policy could not be created. Please see `reasons` for more details.")
    return invalid_field("dualAuthDelete.enabled", "true; dual authorization cannot be disabled once enabled", E)


def put_key_policies(emu: Emulator, req: Request) -> Response:
    """PUT /api/v2/keys/{id}/policies (Manager): 200 with the policies set."""
    ctx: KmsContext = authorize(emu, req, MANAGER)
    problem = check_content_type(req)
    if problem:
        raise problem
    wanted = _wanted(req, E)
    resources = collection(parse_body(req.body, E), {"type", *KINDS}, E, "KeyPolicies")
    updates: dict[str, dict[str, Any]] = {}
    for res in resources:
        expect(res.get("type"), str, "KeyPolicies.resources.type", "string", E)
        for kind, data in _decoded(res).items():
            if kind in updates:
                raise bad_body("Only one of each policy can be created", E)
            updates[kind] = data
    if not updates or (wanted is not None and (wanted not in updates or len(updates) != 1)):
        raise KmsError(400, "BODY_QUERY_PARAM_MISMATCH_ERR",
                       "Data in body does not match data required by query parameter", E)
    now = emu.store.now()
    with emu.store.lock:
        key = find_key(emu, ctx, req)
        for kind, data in updates.items():
            if data.get("enabled") is None and kind == "dualAuthDelete":
                raise invalid_field("enabled", "a boolean value", E)
            if kind == "dualAuthDelete" and key["_dual"] and data["enabled"] is False:
                raise _locked_error(emu)
            if kind == "rotation":
                month = data.get("interval_month")
                if data.get("enabled", True) and (month is None or not 1 <= int(month) <= 12):
                    raise invalid_field("interval_month", "an integer between 1 and 12", E)
        items = []
        for kind, data in updates.items():
            clean: dict[str, Any] = {"enabled": bool(data.get("enabled", True))}
            if kind == "rotation" and data.get("interval_month") is not None:
                clean["interval_month"] = int(data["interval_month"])
            old = key["_policies"].get(kind)
            rec = dict(old) if old else {"id": _new_id(), "createdBy": ctx.caller.iam_id, "creationDate": iso(now)}
            if "crn" not in rec:
                rec["crn"] = f"{key['crn'].rsplit(':key:', 1)[0]}:policy:{rec['id']}"
            rec.update(data=clean, updatedBy=ctx.caller.iam_id, lastUpdateDate=iso(now))
            key["_policies"][kind] = rec
            if kind == "dualAuthDelete" and clean["enabled"]:
                key["_dual"] = True
                key["_inherited_dual"] = False
            items.append(_render(kind, rec))
        key["lastUpdateDate"] = iso(now)
    return Response.json(200, _collection(items))


def _new_id() -> str:
    return str(uuid.uuid4())


def register(router: Router, emu: Emulator) -> None:
    router.add("GET", "/api/v2/keys/{id}/policies", lambda req: get_key_policies(emu, req))
    router.add("PUT", "/api/v2/keys/{id}/policies", lambda req: put_key_policies(emu, req))
