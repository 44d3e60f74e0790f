"""Instance policies: ``GET|PUT /api/v2/instance/policies[?policy=<type>]`` (spec §1, §2).

All six policy types with their attribute rules; strict decoding; 204 on PUT; multi-policy PUT
merges (only the policies sent change); ``creationDate``/``createdBy`` kept from the first set,
``lastUpdated``/``updatedBy`` from the latest; the key-policy body shape is rejected with
BAD_BODY_ERR ``json: unknown field "type"`` unless ``lenient_policy_shape`` is on.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from emulator.kms_auth import MANAGER, authorize, check_content_type
from emulator.kms_decode import collection, expect, parse_body, unknown_fields
from emulator.kms_errors import POLICY_NOT_CREATED, KmsError, bad_body, invalid_field, invalid_query
from emulator.state import iso
from emulator.web import Request, Response, Router

if TYPE_CHECKING:
    from emulator.app import Emulator

POLICY_TYPE = "application/vnd.ibm.kms.policy+json"
KCIA_ATTRS = ("create_root_key", "create_standard_key", "import_root_key", "import_standard_key")
# policy type -> allowed attribute names (None: no `attributes` field at all)
POLICY_ATTRIBUTES: dict[str, tuple[str, ...] | None] = {
    "allowedNetwork": ("allowed_network",),
    "allowedIP": ("allowed_ip",),
    "dualAuthDelete": None,
    "keyCreateImportAccess": (*KCIA_ATTRS, "enforce_token"),
    "metrics": None,
    "rotation": ("interval_month",),
}
HPCS_DOCUMENTED = ("allowedNetwork", "dualAuthDelete", "keyCreateImportAccess", "metrics")
READ_ONLY = {"createdBy", "creationDate", "updatedBy", "lastUpdated"}
STRUCT = "InstancePolicies"
E = POLICY_NOT_CREATED


def _collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"collectionType": POLICY_TYPE, "collectionTotal": len(items)}}
    if items:
        body["resources"] = items
    return body


def _lenient(doc: Any) -> Any:
    """The documented-but-wrong disable body (§2) turned into the canonical one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        return doc
    out = []
    for res in doc["resources"]:
        if isinstance(res, dict) and "type" in res and isinstance(res.get("dualAuthDelete"), dict):
            out.append({"policy_type": "dualAuthDelete", "policy_data": res["dualAuthDelete"]})
        else:
            out.append(res)
    meta = doc.get("metadata") or {"collectionType": POLICY_TYPE, "collectionTotal": len(out)}
    return {"metadata": meta, "resources": out}


def _decode_resource(res: dict[str, Any], index: int) -> None:
    path = f"{STRUCT}.resources.policy_data"
    expect(res.get("policy_type"), str, f"{STRUCT}.resources.policy_type", "string", E)
    data = res.get("policy_data")
    expect(data, dict, path, "PolicyData", E)
    if not isinstance(data, dict):
        return
    attrs_allowed = POLICY_ATTRIBUTES.get(str(res.get("policy_type")), ())
    unknown_fields(data, {"enabled"} if attrs_allowed is None else {"enabled", "attributes"}, E)
    expect(data.get("enabled"), bool, f"{path}.enabled", "bool", E)
    attrs = data.get("attributes")
    expect(attrs, dict, f"{path}.attributes", "Attributes", E)
    if isinstance(attrs, dict) and attrs_allowed:
        unknown_fields(attrs, set(attrs_allowed), E)
        for name, value in attrs.items():
            kind: type = {"allowed_network": str, "allowed_ip": list, "interval_month": int}.get(name, bool)
            go = {str: "string", list: "[]string", int: "int"}.get(kind, "bool")
            expect(value, kind, f"{path}.attributes.{name}", go, E)


def _validated_data(ptype: str, data: dict[str, Any]) -> dict[str, Any]:
    """The policy_data to store, after the per-type attribute rules."""
    enabled = data.get("enabled")
    if enabled is None:
        raise invalid_field("enabled", "a boolean value", E)
    attrs = data.get("attributes") or {}
    if ptype == "allowedNetwork":
        if attrs.get("allowed_network") not in ("public-and-private", "private-only"):
            raise invalid_field("allowed_network", "one of public-and-private, private-only", E)
        return {"enabled": enabled, "attributes": {"allowed_network": attrs["allowed_network"]}}
    if ptype == "allowedIP":
        ips = attrs.get("allowed_ip") or []
        if enabled and not ips:
            raise invalid_field("allowed_ip", "a non-empty list of CIDR ranges when enabled", E)
        if not enabled and ips:
            raise invalid_field("allowed_ip", "absent when the policy is disabled", E)
        for cidr in ips:
            try:
                ipaddress.ip_network(str(cidr), strict=False)
            except ValueError as exc:
                raise invalid_field("allowed_ip", "a list of valid CIDR ranges", E) from exc
        return {"enabled": True, "attributes": {"allowed_ip": list(ips)}} if enabled else {"enabled": False}
    if ptype == "rotation":
        month = attrs.get("interval_month")
        if enabled and (not isinstance(month, int | float) or not 1 <= int(month) <= 12):
            raise invalid_field("interval_month", "an integer between 1 and 12", E)
        if not enabled and month is not None:
            raise invalid_field("interval_month", "absent when the policy is disabled", E)
        if not enabled:
            return {"enabled": False}
        return {"enabled": True, "attributes": {"interval_month": int(month or 0)}}
    if ptype == "keyCreateImportAccess":
        if not enabled:
            if attrs:
                raise invalid_field("attributes", "absent when the policy is disabled", E)
            return {"enabled": False}
        full = {name: bool(attrs.get(name, True)) for name in KCIA_ATTRS}
        full["enforce_token"] = bool(attrs.get("enforce_token", False))
        return {"enabled": True, "attributes": full}
    return {"enabled": enabled}


def put_policies(emu: Emulator, req: Request) -> Response:
    """PUT /api/v2/instance/policies: set one (``?policy=``) or several instance policies."""
    ctx = authorize(emu, req, MANAGER)
    problem = check_content_type(req)
    if problem:
        raise problem
    wanted = req.arg("policy")
    doc = parse_body(req.body, E)
    if emu.options.lenient_policy_shape:
        doc = _lenient(doc)
    resources = collection(doc, {"policy_type", "policy_data", *READ_ONLY}, E, STRUCT)
    for i, res in enumerate(resources):
        _decode_resource(res, i)
    if wanted is not None:
        if wanted not in POLICY_ATTRIBUTES:
            raise invalid_query("policy", f"one of {', '.join(POLICY_ATTRIBUTES)}", E)
        if len(resources) != 1:
            raise KmsError(400, "NUM_COLLECTION_RESOURCE_ERR", "Only a single instance policy may be created "
                           "per query parameter. Please pass single resource object", E)
        if resources[0].get("policy_type") != wanted:
            raise KmsError(400, "BODY_QUERY_PARAM_MISMATCH_ERR",
                           "Data in body does not match data required by query parameter", E)
    if not resources:
        raise bad_body("resources must contain at least one policy", E)
    seen: set[str] = set()
    hpcs = ctx.instance["service"] == "hs-crypto"
    updates: list[tuple[str, dict[str, Any]]] = []
    for res in resources:
        ptype = str(res.get("policy_type") or "")
        if ptype not in POLICY_ATTRIBUTES or (
                hpcs and emu.options.hpcs_documented_policies_only and ptype not in HPCS_DOCUMENTED):
            raise invalid_field("policy_type", f"one of {', '.join(POLICY_ATTRIBUTES)}", E)
        if ptype in seen:
            raise bad_body("Only one of each policy can be created", E)
        seen.add(ptype)
        if not isinstance(res.get("policy_data"), dict):
            raise invalid_field("policy_data", "an object with an `enabled` boolean", E)
        updates.append((ptype, _validated_data(ptype, res["policy_data"])))
    now = iso(emu.store.now())
    with emu.store.lock:
        stored = emu.store.world["policies"][ctx.guid]
        for ptype, data in updates:
            old = stored.get(ptype)
            stored[ptype] = {
                "createdBy": old["createdBy"] if old else ctx.caller.iam_id,
                "creationDate": old["creationDate"] if old else now,
                "updatedBy": ctx.caller.iam_id,
                "lastUpdated": now,
                "policy_type": ptype,
                "policy_data": data,
            }
    return Response.empty(204)


def get_policies(emu: Emulator, req: Request) -> Response:
    """GET /api/v2/instance/policies[?policy=<type>]."""
    ctx = authorize(emu, req, MANAGER)
    wanted = req.arg("policy")
    if wanted is not None and wanted not in POLICY_ATTRIBUTES:
        raise invalid_query("policy", f"one of {', '.join(POLICY_ATTRIBUTES)}",
                            "Bad Request: Instance policy could not be retrieved. "
                            "Please see `reasons` for more details.")
    with emu.store.lock:
        stored = emu.store.world["policies"][ctx.guid]
        items = [dict(stored[t]) for t in POLICY_ATTRIBUTES if t in stored and wanted in (None, t)]
    return Response.json(200, _collection(items))


def dual_auth_enabled(emu: Emulator, guid: str) -> bool:
    pol = emu.store.world["policies"].get(guid, {}).get("dualAuthDelete")
    return bool(pol and pol["policy_data"].get("enabled"))


def create_import_denied(emu: Emulator, guid: str, extractable: bool, imported: bool) -> str | None:
    """The keyCreateImportAccess attribute that forbids this key kind, or None when allowed.

    Root/standard = ``extractable`` false/true; import = a ``payload`` was sent. Attributes default
    to true when missing; ``enforce_token`` is stored but not enforced (no import tokens here).
    """
    pol = emu.store.world["policies"].get(guid, {}).get("keyCreateImportAccess")
    if not pol or not pol["policy_data"].get("enabled"):
        return None
    attr = f"{'import' if imported else 'create'}_{'standard' if extractable else 'root'}_key"
    allowed = (pol["policy_data"].get("attributes") or {}).get(attr, True)
    return None if allowed else attr


def register(router: Router, emu: Emulator) -> None:
    router.add("GET", "/api/v2/instance/policies", lambda req: get_policies(emu, req))
    router.add("PUT", "/api/v2/instance/policies", lambda req: put_policies(emu, req))
