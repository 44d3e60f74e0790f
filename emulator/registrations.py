"""Key registrations (spec §4): the control call that gives a key registrations, and the force rule.

Real registrations link a key to the cloud resources it protects (COS buckets, databases, ...);
the emulator keeps only their number, in the key's internal ``_registrations`` field (persisted
with the world, never shown by the KMS API). ``DELETE /api/v2/keys/{id}`` of a key with
registrations answers 409 PROTECTED_RESOURCE_ERR unless ``?force=true`` (see kms_key_actions).

    POST /emulator/keys/{key_id}/registrations  {"count": n}  -> 200 {"key", "instance", "registrations"}
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from emulator.control import ControlError, json_object
from emulator.kms_errors import REASONS, invalid_query
from emulator.web import Request, Response, Router

if TYPE_CHECKING:
    from emulator.app import Emulator

# strconv.ParseBool, as the Go service parses query parameters
TRUE = ("1", "t", "T", "TRUE", "true", "True")
FALSE = ("0", "f", "F", "FALSE", "false", "False")


def force_requested(req: Request) -> bool:
    """``?force=`` as a Go bool (absent → false); anything else → 400 INVALID_QUERY_PARAM_ERR."""
    raw = req.arg("force")
    if raw is None or raw in FALSE:
        return False
    if raw in TRUE:
        return True
    raise invalid_query("force", "a boolean value (true or false)", f"Bad Request: Key could not be deleted. {REASONS}")


def registrations(key: dict[str, Any]) -> int:
    return int(key.get("_registrations") or 0)


def set_registrations(emu: Emulator, req: Request) -> Response:
    """POST /emulator/keys/{key_id}/registrations: set the key's registration count (0 clears)."""
    count = json_object(req).get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ControlError(400, "invalid registrations", ["count must be a non-negative integer"])
    kid = req.params["key_id"]
    with emu.store.lock:
        for guid, keys in emu.store.world["keys"].items():
            for key in keys:
                if key["id"] == kid:
                    key["_registrations"] = count
                    return Response.json(200, {"key": kid, "instance": guid, "registrations": count})
    raise ControlError(404, "no such key")


def register(router: Router, emu: Emulator) -> None:
    router.add("POST", "/emulator/keys/{key_id}/registrations", functools.partial(set_registrations, emu))
