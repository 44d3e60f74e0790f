"""Keys: create (``/keys`` and ``/keys_with_policy_overrides``), list, count (HEAD), get, metadata (§3).

A key inherits ``dualAuthDelete`` from the instance policy at creation time only. An enabled
``keyCreateImportAccess`` instance policy refuses the kinds it switches off (409
KEY_CREATE_IMPORT_ACCESS_ERR), on both create paths, after body validation and before alias checks.
Stored keys are plain dicts; fields starting with ``_`` are internal (dual-auth flag, pending
authorization, key policies, payload, registration count) and are never sent.
"""

from __future__ import annotations

import base64
import copy
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from emulator.kms_auth import MANAGER, READER, WRITER, KmsContext, authorize, check_content_type
from emulator.kms_decode import collection, expect, parse_body
from emulator.kms_errors import (
    KEY_NOT_CREATED,
    KEY_NOT_CREATED_CONFLICT,
    KmsError,
    invalid_field,
    invalid_query,
    key_create_import_access,
    key_deleted,
    key_not_found,
)
from emulator.kms_policies import create_import_denied, dual_auth_enabled
from emulator.state import iso
from emulator.web import Request, Response, Router

if TYPE_CHECKING:
    from emulator.app import Emulator

KEY_TYPE = "application/vnd.ibm.kms.key+json"
E = KEY_NOT_CREATED
DEFAULT_STATES = (0, 1, 2, 3)
LIST_ERR = "Bad Request: Keys could not be listed. Please see `reasons` for more details."


def key_collection(keys: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"collectionType": KEY_TYPE, "collectionTotal": len(keys)}}
    if keys:
        body["resources"] = keys
    return body


def auth_pending(key: dict[str, Any], now: float) -> bool:
    auth = key.get("_auth")
    return bool(auth and auth["expires"] > now)


def render(key: dict[str, Any], now: float, payload: bool = False) -> dict[str, Any]:
    """The key as the API shows it (metadata; the payload only for standard keys on GET)."""
    out = {k: copy.deepcopy(v) for k, v in key.items() if not k.startswith("_")}
    dual: dict[str, Any] = {"enabled": bool(key["_dual"])}
    if key["_dual"]:
        dual["keySetForDeletion"] = auth_pending(key, now)
        if dual["keySetForDeletion"]:
            dual["authExpiration"] = iso(key["_auth"]["expires"])
    out["dualAuthDelete"] = dual
    if payload and key["extractable"] and key.get("_payload") and not key["deleted"]:
        out["payload"] = key["_payload"]
    return out


def find_key(emu: Emulator, ctx: KmsContext, req: Request, verb: str = "retrieved",
             allow_deleted: bool = False) -> dict[str, Any]:
    """The key named by ``{id}`` (id or alias), honouring ``x-kms-key-ring``."""
    ident = req.params["id"]
    ring = req.header("x-kms-key-ring")
    for key in emu.store.world["keys"][ctx.guid]:
        if key["id"] == ident or ident in key.get("aliases", []):
            if ring and key["keyRingID"] != ring:
                break
            if key["deleted"] and not allow_deleted:
                raise key_deleted(verb)
            found: dict[str, Any] = key
            return found
    raise key_not_found(verb)


def _decode_key(res: dict[str, Any], overrides: bool) -> None:
    path = "KeysCollection.resources"
    for name, kind, go in (("type", str, "string"), ("name", str, "string"), ("description", str, "string"),
                           ("extractable", bool, "bool"), ("payload", str, "string"),
                           ("aliases", list, "[]string"), ("expirationDate", str, "string")):
        expect(res.get(name), kind, f"{path}.{name}", go, E)
    if overrides:
        expect(res.get("dualAuthDelete"), dict, f"{path}.dualAuthDelete", "DualAuth", E)
        expect(res.get("rotation"), dict, f"{path}.rotation", "Rotation", E)
        dual = res.get("dualAuthDelete") or {}
        expect(dual.get("enabled"), bool, f"{path}.dualAuthDelete.enabled", "bool", E)


def _key_material(payload: str) -> bool:
    """True for a non-empty standard base64 string. Anything else is False, non-ASCII text included:
    ``b64decode`` raises a plain ValueError for it, not the ``binascii.Error`` (a ValueError) of bad base64."""
    try:
        return bool(base64.b64decode(payload, validate=True))
    except ValueError:
        return False


def _create(emu: Emulator, req: Request, overrides: bool) -> Response:
    ctx = authorize(emu, req, MANAGER if overrides else WRITER)
    problem = check_content_type(req)
    if problem:
        raise problem
    doc = parse_body(req.body, E)
    res = collection(doc, None, E, "KeysCollection", single="Only creation of one key per request is supported")[0]
    _decode_key(res, overrides)
    name = res.get("name")
    if not isinstance(name, str) or not 2 <= len(name) <= 90:
        raise invalid_field("name", "a string of 2 to 90 characters", E)
    aliases = res.get("aliases") or []
    if len(aliases) > 5 or not all(isinstance(a, str) and 2 <= len(a) <= 90 for a in aliases):
        raise invalid_field("aliases", "at most 5 strings of 2 to 90 characters", E)
    payload = res.get("payload")
    if payload is not None and not _key_material(payload):
        raise invalid_field("payload", "a base64 encoded key material", E)
    now = emu.store.now()
    with emu.store.lock:
        denied = create_import_denied(emu, ctx.guid, bool(res.get("extractable")), payload is not None)
        if denied:
            raise key_create_import_access(denied)
        keys = emu.store.world["keys"][ctx.guid]
        taken = {a for k in keys if not k["deleted"] for a in k.get("aliases", [])}
        if taken & set(aliases):
            raise KmsError(409, "KEY_ALIAS_NOT_UNIQUE_ERR", "One or more aliases are already in use",
                           KEY_NOT_CREATED_CONFLICT)
        inherited = dual_auth_enabled(emu, ctx.guid)
        dual = inherited
        override = res.get("dualAuthDelete") if overrides else None
        if isinstance(override, dict) and override.get("enabled") is not None:
            dual = bool(override["enabled"])
        key = _new_key(emu, ctx, req, res, now, dual, payload, aliases)
        if dual:
            key["_policies"]["dualAuthDelete"] = _policy_record(ctx, key, {"enabled": True}, now)
            key["_inherited_dual"] = inherited and override is None
        keys.append(key)
        prefer = (req.header("prefer") or "").replace(" ", "").lower()
        if prefer == "return=minimal":
            return Response.json(201, key_collection([{"type": KEY_TYPE, "id": key["id"]}]))
        return Response.json(201, key_collection([render(key, now, payload=True)]))


def _new_key(emu: Emulator, ctx: KmsContext, req: Request, res: dict[str, Any], now: float, dual: bool,
             payload: str | None, aliases: list[str]) -> dict[str, Any]:
    kid = str(uuid.uuid4())
    inst = ctx.instance
    key: dict[str, Any] = {
        "type": KEY_TYPE, "id": kid, "name": res["name"], "aliases": list(aliases),
        "description": res.get("description") or "", "state": 1, "extractable": bool(res.get("extractable")),
        "imported": payload is not None,
        "crn": f"crn:v1:bluemix:public:{inst['service']}:{inst['region']}:a/{emu.store.world['account_id']}:"
               f"{inst['guid']}:key:{kid}",
        "keyRingID": req.header("x-kms-key-ring") or "default",
        "creationDate": iso(now), "createdBy": ctx.caller.iam_id, "lastUpdateDate": iso(now),
        "algorithmType": "AES", "algorithmMetadata": {"bitLength": "256", "mode": "CBC_PAD"},
        "keyVersion": {"id": kid, "creationDate": iso(now)}, "deleted": False,
        "_dual": dual, "_auth": None, "_policies": {},
        "_payload": payload or base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    if res.get("expirationDate"):
        key["expirationDate"] = res["expirationDate"]
    return key


def _policy_record(ctx: KmsContext, key: dict[str, Any], data: dict[str, Any], now: float) -> dict[str, Any]:
    pid = str(uuid.uuid4())
    base = key["crn"].rsplit(":key:", 1)[0]
    return {"id": pid, "crn": f"{base}:policy:{pid}", "data": data, "createdBy": ctx.caller.iam_id,
            "creationDate": iso(now), "updatedBy": ctx.caller.iam_id, "lastUpdateDate": iso(now)}


def create_key(emu: Emulator, req: Request) -> Response:
    """POST /api/v2/keys (Writer): 201 with the key; inherits the instance's dualAuthDelete."""
    return _create(emu, req, overrides=False)


def create_key_with_overrides(emu: Emulator, req: Request) -> Response:
    """POST /api/v2/keys_with_policy_overrides (Manager): may override dualAuthDelete."""
    return _create(emu, req, overrides=True)


def _int_arg(req: Request, name: str, default: int, low: int, high: int, must_be: str) -> int:
    raw = req.arg(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise invalid_query(name, must_be, LIST_ERR)
    return value


def _listed(emu: Emulator, req: Request) -> tuple[KmsContext, list[dict[str, Any]], int, int]:
    """Caller, the keys matching state/extractable/``x-kms-key-ring``, and limit/offset."""
    ctx = authorize(emu, req, READER)
    err = LIST_ERR
    limit = _int_arg(req, "limit", 200, 1, 5000, "an integer between 1 and 5000")
    offset = _int_arg(req, "offset", 0, 0, 2**31, "a non-negative integer")
    states: tuple[int, ...] = DEFAULT_STATES
    if req.arg("state"):
        try:
            states = tuple(int(s) for s in str(req.arg("state")).split(","))
        except ValueError:
            states = (-1,)
        if not states or any(s not in (0, 1, 2, 3, 5) for s in states):
            raise invalid_query("state", "a comma-separated list of 0, 1, 2, 3, 5", err)
    extractable = req.arg("extractable") or None
    if extractable not in (None, "true", "false"):
        raise invalid_query("extractable", "true or false", err)
    ring = req.header("x-kms-key-ring")
    keys = [k for k in emu.store.world["keys"][ctx.guid]
            if k["state"] in states and (ring is None or k["keyRingID"] == ring)
            and (extractable is None or k["extractable"] == (extractable == "true"))]
    return ctx, keys, limit, offset


def list_keys(emu: Emulator, req: Request) -> Response:
    """GET /api/v2/keys (Reader): limit/offset/state/extractable, ``x-kms-key-ring``."""
    now = emu.store.now()
    with emu.store.lock:
        _, keys, limit, offset = _listed(emu, req)
        page = [render(k, now) for k in keys[offset:offset + limit]]
    return Response.json(200, key_collection(page))


def count_keys(emu: Emulator, req: Request) -> Response:
    """HEAD /api/v2/keys (Reader): the number of matching keys in a ``Key-Total`` header, no body."""
    with emu.store.lock:
        _, keys, _, _ = _listed(emu, req)
    return Response(200, b"", {"Content-Type": "application/json", "Key-Total": str(len(keys))})


def get_key(emu: Emulator, req: Request) -> Response:
    """GET /api/v2/keys/{id} (Reader): 404 KEY_NOT_FOUND_ERR, 410 KEY_DELETED_ERR when deleted."""
    ctx = authorize(emu, req, READER)
    with emu.store.lock:
        key = find_key(emu, ctx, req)
        return Response.json(200, key_collection([render(key, emu.store.now(), payload=True)]))


def get_key_metadata(emu: Emulator, req: Request) -> Response:
    """GET /api/v2/keys/{id}/metadata (Reader): works for deleted keys too."""
    ctx = authorize(emu, req, READER)
    with emu.store.lock:
        key = find_key(emu, ctx, req, allow_deleted=True)
        return Response.json(200, key_collection([render(key, emu.store.now())]))


def register(router: Router, emu: Emulator) -> None:
    router.add("POST", "/api/v2/keys", lambda req: create_key(emu, req))
    router.add("GET", "/api/v2/keys", lambda req: list_keys(emu, req))
    router.add("HEAD", "/api/v2/keys", lambda req: count_keys(emu, req))
    router.add("POST", "/api/v2/keys_with_policy_overrides", lambda req: create_key_with_overrides(emu, req))
    router.add("GET", "/api/v2/keys/{id}", lambda req: get_key(emu, req))
    router.add("GET", "/api/v2/keys/{id}/metadata", lambda req: get_key_metadata(emu, req))
