"""The HTTP edge every function shares: read raw bytes once, verify, run the flow, reply in JSON.

Order matters: the body is read as raw bytes before anything parses it (signatures are over
those bytes), the caller is verified before the body is parsed, and whatever happens the caller
gets JSON with a deliberate status — never an HTML page, a stack trace or an echo of its headers.
Every request ends in exactly one audit line.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask

from shared.enforce import Outcome
from shared.errors import DualAuthError, MethodNotAllowed, PayloadTooLarge, RequestError
from shared.responses import reply_for_error, reply_for_outcome
from shared.runtime import Runtime, get_runtime


@dataclass(frozen=True)
class Inbound:
    """One HTTP delivery as the flows see it: headers with lower-case names, raw body bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    correlation_id: str


Verify = Callable[[Runtime, Inbound], None]
Flow = Callable[[Runtime, Inbound], Outcome]


def read_body(request: flask.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    return body


def serve(
    request: flask.Request,
    trigger: str,
    verify: Verify,
    flow: Flow,
    runtime_factory: Callable[[], Runtime] = get_runtime,
) -> flask.Response:
    started = time.perf_counter()
    correlation_id = str(uuid.uuid4())
    audit: dict[str, Any] = {"trigger": trigger, "correlation_id": correlation_id}
    runtime: Runtime | None = None
    try:
        runtime = runtime_factory()
        if request.method != "POST":
            raise MethodNotAllowed("use POST")
        inbound = Inbound(
            request.method,
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            read_body(request, runtime.settings.max_body_bytes),
            correlation_id,
        )
        verify(runtime, inbound)
        outcome = flow(runtime, inbound)
        status, body, headers = reply_for_outcome(outcome, correlation_id)
        audit.update(
            instance_crn=outcome.instance_crn,
            event_id=outcome.event_id,
            outcome=str(outcome.kind),
            reason_code=outcome.reason_code,
            reason=outcome.reason,
            puts=outcome.puts,
            dry_run=runtime.settings.dry_run,
        )
    except Exception as exc:  # noqa: BLE001 - the edge turns every failure into a JSON reply
        status, body, headers = reply_for_error(exc, correlation_id)
        if not isinstance(exc, DualAuthError) and runtime is not None:
            runtime.log.emit("error", correlation_id=correlation_id, traceback=traceback.format_exc())
        audit.update(
            outcome="rejected" if isinstance(exc, RequestError) else "error",
            reason_code=body["error"],
            reason=body["message"],
            error_type=type(exc).__name__,
        )
    audit.update(status=status, duration_ms=round((time.perf_counter() - started) * 1000, 1))
    if runtime is not None:
        runtime.log.audit(**audit)
    else:
        _fallback_log(audit)
    return json_response(status, body, headers)


def json_response(status: int, body: dict[str, Any], headers: dict[str, str]) -> flask.Response:
    return flask.Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def _fallback_log(audit: dict[str, Any]) -> None:
    from shared.log import JsonLog

    JsonLog().audit(**audit)
