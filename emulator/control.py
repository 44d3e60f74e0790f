"""The control API under ``/emulator/`` (not part of IBM Cloud): reset, state, journal,
provisioning with lifecycle events, deliveries, faults, token expiry, rate limits, settings, clock.

    ServiceError
    └── ControlError(status, message, details)   -> {"error": message, "details": [...]}

Bodies are strict JSON: ``NaN`` / ``Infinity``, numbers that overflow a float and integers beyond
64 bits are refused with 400 before any handler looks at them.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

from emulator import events, faults, strict_json
from emulator.checks import header_problems, url_problem
from emulator.kms_keys import render
from emulator.resource_controller import record
from emulator.state import SERVICES, add_instance, iso
from emulator.web import Request, Response, Router, ServiceError

if TYPE_CHECKING:
    from emulator.app import Emulator

REGIONS = {
    "kms": ("us-south", "us-east", "eu-gb", "eu-de", "eu-es", "au-syd", "jp-tok", "jp-osa", "ca-tor",
            "ca-mon", "br-sao", "in-che", "in-mum"),
    "hs-crypto": ("us-south", "us-east", "eu-de", "eu-gb", "eu-es", "br-sao", "jp-tok", "ca-tor", "au-syd"),
}
PROVISION_FIELDS = {"service", "region", "name", "event", "headers", "sink", "guid", "resource_group_id",
                    "created_by"}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_CLOCK_OFFSET = 100 * 365.25 * 24 * 3600  # the clock stays within a century of the real one
MAX_RETRY_AFTER = 86_400
JSON_NUMBERS = "numbers must be finite and integers must fit in 64 bits (NaN and Infinity are not JSON)"


class ControlError(ServiceError):
    def __init__(self, status: int, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or []

    def response(self) -> Response:
        return Response.json(self.status, {"error": str(self), "details": self.details})


def _json(req: Request, default: Any = None) -> Any:
    if not req.body.strip():
        return default
    try:
        return strict_json.loads(req.body, int64=True)
    except (strict_json.BadConstant, strict_json.BadNumber) as exc:
        raise ControlError(400, "body is not valid JSON", [JSON_NUMBERS]) from exc
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ControlError(400, "body is not valid JSON") from exc


def json_object(req: Request) -> dict[str, Any]:
    doc = _json(req, {})
    if not isinstance(doc, dict):
        raise ControlError(400, "body must be a JSON object")
    return doc


def reset(emu: Emulator, req: Request) -> Response:
    emu.reset()
    return Response.json(200, {"reset": True})


def state(emu: Emulator, req: Request) -> Response:
    store = emu.store
    with store.lock:
        world, now = store.world, store.now()
        instances = []
        for inst in world["instances"].values():
            keys = []
            for key in world["keys"][inst["guid"]]:
                view = render(key, now)
                auth = key.get("_auth")
                view["pendingAuthorization"] = (
                    {"by": auth["by"], "expires": iso(auth["expires"])} if auth and auth["expires"] > now else None)
                view["registrations"] = int(key.get("_registrations") or 0)
                keys.append(view)
            instances.append({**inst, "policies": list(world["policies"][inst["guid"]].values()), "keys": keys})
        body = {
            "account_id": world["account_id"], "now": iso(now), "instances": instances,
            "principals": [{k: v for k, v in p.items() if k != "apikey"} for p in world["principals"]],
            "profiles": [{k: v for k, v in p.items() if k != "cr_tokens"} for p in world["profiles"]],
            "tokens": {"issued": store.tokens["issued"], "expired_upto": store.tokens["expired_upto"]},
        }
    return Response.json(200, json.loads(json.dumps(body)))


def journal(emu: Emulator, req: Request) -> Response:
    calls = emu.journal.calls(req.arg("method"), req.arg("path"), req.arg("surface"), req.arg("instance"))
    return Response.json(200, {"calls": calls})


def clear_journal(emu: Emulator, req: Request) -> Response:
    emu.journal.clear()
    return Response.empty(204)


def _check_provision(spec: dict[str, Any]) -> list[str]:
    problems = [f"unknown field {k!r}" for k in spec if k not in PROVISION_FIELDS]
    service = spec.get("service")
    region = spec.get("region", "us-south")
    if service not in SERVICES:
        problems.append("service must be 'kms' or 'hs-crypto'")
        if not any(region in regions for regions in REGIONS.values()):
            problems.append("region must be a Key Protect or HPCS region")
    elif region not in REGIONS[str(service)]:
        problems.append(f"region must be one of {', '.join(REGIONS[str(service)])}")
    if spec.get("event", "en") not in ("en", "at", "none"):
        problems.append("event must be 'en', 'at' or 'none'")
    problems += header_problems(spec.get("headers", {}))
    if spec.get("sink") is not None:
        problem = url_problem(spec["sink"], "sink")
        if problem:
            problems.append(problem)
    for name in ("name", "guid", "resource_group_id", "created_by"):
        if spec.get(name) is not None and not isinstance(spec[name], str):
            problems.append(f"{name} must be a string")
    if isinstance(spec.get("guid"), str) and not GUID.fullmatch(spec["guid"]):
        problems.append("guid must be a UUID in lower-case 8-4-4-4-12 form")
    return problems


def _send_event(emu: Emulator, inst: dict[str, Any], verb: str, spec: dict[str, Any]) -> str | None:
    fmt = spec.get("event", "en")
    sink = spec.get("sink") or emu.options.event_sink
    if fmt == "none" or not sink:
        return None
    account = emu.store.world["account_id"]
    subject = str(spec.get("created_by") or inst["created_by"])
    now = emu.store.now()
    if fmt == "en":
        headers, body = events.en_event(inst, account, verb, subject, inst["region"], now)
    else:
        headers, body = events.at_event(inst, account, verb, subject, emu.next_offset(), now)
    headers.update(spec.get("headers") or {})
    return emu.deliveries.create(fmt, inst["guid"], sink, headers, body)


def provision(emu: Emulator, req: Request) -> Response:
    """POST /emulator/instances: 201 {"instance": <RC record>, "delivery": id|null}."""
    spec = json_object(req)
    problems = _check_provision(spec)
    with emu.store.lock:
        if isinstance(spec.get("guid"), str) and spec["guid"] in emu.store.world["instances"]:
            problems.append("an instance with this guid exists")
        if problems:
            raise ControlError(400, "invalid instance", problems)
        inst = add_instance(emu.store.world, spec, emu.store.now())
        rec = record(emu, inst, req.base_url)
    return Response.json(201, {"instance": rec, "delivery": _send_event(emu, inst, "create", spec)})


def deprovision(emu: Emulator, req: Request) -> Response:
    """DELETE /emulator/instances/{guid}: state removed; the delete event goes to the sink."""
    spec = json_object(req)
    problems = [p for p in _check_provision({"service": "kms", **spec}) if "service" not in p]
    if problems:
        raise ControlError(400, "invalid request", problems)
    with emu.store.lock:
        inst = emu.store.instance(req.params["guid"])
        if inst is None or inst["state"] != "active":
            raise ControlError(404, "no such active instance")
        inst["state"] = "removed"
        inst["updated_at"] = iso(emu.store.now())
        rec = record(emu, inst, req.base_url)
    return Response.json(200, {"instance": rec, "delivery": _send_event(emu, inst, "delete", spec)})


def deliveries(emu: Emulator, req: Request) -> Response:
    return Response.json(200, {"deliveries": emu.deliveries.list()})


def delivery(emu: Emulator, req: Request) -> Response:
    item = emu.deliveries.get(req.params["id"])
    if item is None:
        raise ControlError(404, "no such delivery")
    return Response.json(200, item)


def redeliver(emu: Emulator, req: Request) -> Response:
    attempt = emu.deliveries.redeliver(req.params["id"])
    if attempt is None:
        raise ControlError(404, "no such delivery")
    return Response.json(200, attempt)


def add_fault(emu: Emulator, req: Request) -> Response:
    rule = emu.faults.add(_json(req))
    if not isinstance(rule, faults.FaultRule):
        raise ControlError(400, "invalid fault rule", rule)
    return Response.json(201, rule.public())


def list_faults(emu: Emulator, req: Request) -> Response:
    return Response.json(200, {"faults": [r.public() for r in emu.faults.rules()]})


def clear_faults(emu: Emulator, req: Request) -> Response:
    emu.faults.clear()
    return Response.empty(204)


def expire_tokens(emu: Emulator, req: Request) -> Response:
    with emu.store.lock:
        emu.store.tokens["expired_upto"] = emu.store.tokens["issued"]
        upto = emu.store.tokens["issued"]
    return Response.json(200, {"expired_upto": upto})


def set_rate_limit(emu: Emulator, req: Request) -> Response:
    spec = json_object(req)
    inst, per, retry = spec.get("instance"), spec.get("per_second"), spec.get("retry_after", 1)
    problems = []
    if not isinstance(inst, str) or not inst:
        problems.append("instance must be an instance guid")
    if per is not None and (not isinstance(per, int) or isinstance(per, bool) or per < 0):
        problems.append("per_second must be a non-negative integer or null (0/null removes the limit)")
    if not isinstance(retry, int) or isinstance(retry, bool) or not 0 <= retry <= MAX_RETRY_AFTER:
        problems.append(f"retry_after must be an integer from 0 to {MAX_RETRY_AFTER}")
    if problems:
        raise ControlError(400, "invalid rate limit", problems)
    emu.rate_limits.set(str(inst), per, int(retry))
    return Response.json(200, {"rate_limits": emu.rate_limits.all()})


def list_rate_limits(emu: Emulator, req: Request) -> Response:
    return Response.json(200, {"rate_limits": emu.rate_limits.all()})


def clear_rate_limits(emu: Emulator, req: Request) -> Response:
    emu.rate_limits.clear()
    return Response.empty(204)


def get_settings(emu: Emulator, req: Request) -> Response:
    return Response.json(200, emu.options.switches())


def patch_settings(emu: Emulator, req: Request) -> Response:
    problems = emu.options.apply(json_object(req))
    if problems:
        raise ControlError(400, "invalid settings", problems)
    return Response.json(200, emu.options.switches())


def advance_clock(emu: Emulator, req: Request) -> Response:
    seconds = json_object(req).get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ControlError(400, "advance_seconds must be a number")
    with emu.store.lock:
        if not abs(emu.store.clock_offset + seconds) <= MAX_CLOCK_OFFSET:
            raise ControlError(400, "advance_seconds out of range", [
                f"the clock must stay within {MAX_CLOCK_OFFSET:.0f} s (100 years) of the real time; "
                f"it is {emu.store.clock_offset:.0f} s off now"])
        emu.store.clock_offset += float(seconds)
        now = emu.store.now()
    return Response.json(200, {"now": iso(now), "offset_seconds": emu.store.clock_offset})


def health(emu: Emulator, req: Request) -> Response:
    return Response.json(200, {"status": "ok"})


def register(router: Router, emu: Emulator) -> None:
    table = [
        ("GET", "/emulator/health", health), ("POST", "/emulator/reset", reset),
        ("GET", "/emulator/state", state), ("GET", "/emulator/journal", journal),
        ("DELETE", "/emulator/journal", clear_journal), ("POST", "/emulator/instances", provision),
        ("DELETE", "/emulator/instances/{guid}", deprovision), ("GET", "/emulator/deliveries", deliveries),
        ("GET", "/emulator/deliveries/{id}", delivery),
        ("POST", "/emulator/deliveries/{id}/redeliver", redeliver),
        ("POST", "/emulator/faults", add_fault), ("GET", "/emulator/faults", list_faults),
        ("DELETE", "/emulator/faults", clear_faults), ("POST", "/emulator/tokens/expire", expire_tokens),
        ("POST", "/emulator/rate-limits", set_rate_limit), ("GET", "/emulator/rate-limits", list_rate_limits),
        ("DELETE", "/emulator/rate-limits", clear_rate_limits), ("GET", "/emulator/settings", get_settings),
        ("PATCH", "/emulator/settings", patch_settings), ("POST", "/emulator/clock", advance_clock),
    ]
    for method, path, fn in table:
        router.add(method, path, functools.partial(fn, emu))
