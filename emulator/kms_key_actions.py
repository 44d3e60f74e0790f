"""Key actions and deletion under dual authorization (spec §4).

``POST /keys/{id}/actions/<action>`` and the legacy ``POST /keys/{id}?action=<action>``:
setKeyForDeletion / unsetKeyForDeletion (Writer, 204, 7-day window), enable / disable (Manager).
``DELETE /keys/{id}`` (Manager): a dual-auth key needs a live authorization by *another* user,
else 409 AUTHORIZATIONS_NOT_MET; then a key with registrations needs ``?force=true``, else 409
PROTECTED_RESOURCE_ERR (dual auth is checked first: ``force`` never replaces the second
authorization, and a refused DELETE leaves a pending authorization in place); ``prefer`` picks
200 + body or 204; a second delete is 410.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.kms_auth import MANAGER, WRITER, authorize
from emulator.kms_errors import (
    authorizations_not_met,
    invalid_query,
    invalid_state,
    not_dual_auth,
    not_found_route,
    protected_resource,
)
from emulator.kms_keys import auth_pending, find_key, key_collection, render
from emulator.registrations import force_requested, registrations
from emulator.state import iso
from emulator.web import Request, Response, Router

if TYPE_CHECKING:
    from emulator.app import Emulator

AUTH_WINDOW = 7 * 24 * 3600
ACTIONS = {"setKeyForDeletion": WRITER, "unsetKeyForDeletion": WRITER, "enable": MANAGER, "disable": MANAGER}


def _act(emu: Emulator, req: Request, action: str) -> Response:
    ctx = authorize(emu, req, ACTIONS[action])
    now = emu.store.now()
    with emu.store.lock:
        key = find_key(emu, ctx, req, verb="actioned")
        if action in ("setKeyForDeletion", "unsetKeyForDeletion"):
            if not key["_dual"]:
                raise not_dual_auth()
            if key["state"] != 1:
                raise invalid_state("set for deletion" if action == "setKeyForDeletion" else "unset for deletion")
            if action == "setKeyForDeletion":
                if not auth_pending(key, now):
                    key["_auth"] = {"by": ctx.caller.iam_id, "at": now, "expires": now + AUTH_WINDOW}
            else:
                key["_auth"] = None
        elif action == "disable":
            if key["state"] != 1:
                raise invalid_state("disabled")
            key["state"] = 2
        else:
            if key["state"] != 2:
                raise invalid_state("enabled")
            key["state"] = 1
        key["lastUpdateDate"] = iso(now)
    return Response.empty(204)


def key_action(emu: Emulator, req: Request) -> Response:
    """POST /api/v2/keys/{id}/actions/{action}."""
    action = req.params["action"]
    if action not in ACTIONS:
        raise not_found_route()
    return _act(emu, req, action)


def legacy_key_action(emu: Emulator, req: Request) -> Response:
    """POST /api/v2/keys/{id}?action=<action> (the pre-2021 form the Java SDK still uses)."""
    action = req.arg("action")
    if action not in ACTIONS:
        raise invalid_query("action", f"one of {', '.join(ACTIONS)}",
                            "Bad Request: Action could not be performed on key. Please see `reasons` for more details.")
    return _act(emu, req, action)


def delete_key(emu: Emulator, req: Request) -> Response:
    """DELETE /api/v2/keys/{id}: the second authorization of a dual-auth key."""
    ctx = authorize(emu, req, MANAGER)
    force = force_requested(req)
    now = emu.store.now()
    with emu.store.lock:
        key = find_key(emu, ctx, req, verb="deleted")
        if key["_dual"]:
            auth = key.get("_auth")
            if not auth_pending(key, now) or auth is None or auth["by"] == ctx.caller.iam_id:
                raise authorizations_not_met()
        if registrations(key) and not force:
            raise protected_resource()
        key.update(state=5, deleted=True, deletionDate=iso(now), deletedBy=ctx.caller.iam_id,
                   lastUpdateDate=iso(now))
        key["_auth"] = None
        body = key_collection([render(key, now)])
    prefer = (req.header("prefer") or f"return={emu.options.delete_default_prefer}").replace(" ", "").lower()
    if prefer == "return=representation":
        return Response.json(200, body)
    return Response.empty(204)


def register(router: Router, emu: Emulator) -> None:
    router.add("POST", "/api/v2/keys/{id}/actions/{action}", lambda req: key_action(emu, req))
    router.add("POST", "/api/v2/keys/{id}", lambda req: legacy_key_action(emu, req))
    router.add("DELETE", "/api/v2/keys/{id}", lambda req: delete_key(emu, req))
