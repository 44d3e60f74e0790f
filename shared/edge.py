"""The HTTP edge every function shares: read raw bytes once, verify, run the flow, reply in JSON.

Order matters: method first; a verifier that needs only headers (a shared secret) runs before the
body is read, so an unauthenticated caller cannot hold a thread with a slow body; the body is
read as raw bytes, within a size limit and a total time limit, before anything parses it
(signatures are over those bytes); whatever happens the caller gets JSON with a deliberate
status — never an HTML page, a stack trace, an echo of its headers or a secret (replies pass
through the same redaction as logs). Every request ends in exactly one audit line.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask

from shared.enforce import Outcome
from shared.errors import (
    DualAuthError,
    InvalidEvent,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestError,
    RequestTimeout,
    UpstreamError,
)
from shared.log import JsonLog
from shared.responses import reply_for_error, reply_for_outcome
from shared.retry import request_deadline
from shared.runtime import Runtime, get_runtime

MAX_DETAIL = 300


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


def stop_reading(request: flask.Request) -> None:
    """Stop reading the client's body: shut the read side of its connection (under gunicorn).

    functions-framework reads the whole request before sending any response, and gunicorn drains
    an unread body before the next request on the connection; after an early refusal (401, 404,
    405, 413, 408) either would leave a thread waiting on a client that may never send. The reply
    can still be written; the connection is then closed, never reused. The request's stream
    becomes empty, so the framework's own read afterwards finds nothing instead of failing on a
    chunked body cut short (which it would answer with an HTML 500 in place of our reply).
    """
    sock = request.environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
    body = request.environ.get("wsgi.input")
    if getattr(body, "failed", None) is False:
        # gunicorn's body reader: marked failed, the connection is closed after our reply instead of
        # being drained and reused, since bytes the client sends later could be read as a new request.
        body.failed = True  # type: ignore[union-attr]
    request.stream = io.BytesIO()


def read_body(request: flask.Request, limit: int, seconds: float) -> bytes:
    """The raw body, refusing one over `limit` bytes, shorter than its Content-Length, or slower than `seconds`.

    Under gunicorn the socket's read side is shut when the time is up, which ends a blocked read
    however slowly the client trickles bytes; the reply can still be written.
    """
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        stop_reading(request)

    timer = (
        threading.Timer(seconds, expire) if isinstance(request.environ.get("gunicorn.socket"), socket.socket) else None
    )
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        body = request.stream.read(limit + 1)
    except Exception:  # noqa: BLE001 - the server's framing errors (bad chunk size, reset) are the caller's
        body = None
    finally:
        if timer is not None:
            timer.cancel()
    if expired.is_set():
        raise RequestTimeout(f"body not received within {seconds:g} s")
    if body is None:
        raise InvalidEvent("request body could not be read (malformed framing)")
    if len(body) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    if length is not None and len(body) < length:
        raise InvalidEvent("body is shorter than its Content-Length")
    return body


def serve(
    request: flask.Request,
    trigger: str,
    verify: Verify,
    flow: Flow,
    runtime_factory: Callable[[], Runtime] = get_runtime,
    *,
    verify_before_body: bool = False,
) -> flask.Response:
    started = time.perf_counter()
    correlation_id = str(uuid.uuid4())
    audit: dict[str, Any] = {"trigger": trigger, "correlation_id": correlation_id}
    runtime: Runtime | None = None
    body_read = False
    try:
        runtime = runtime_factory()
        settings = runtime.settings
        if request.method != "POST":
            raise MethodNotAllowed("use POST")
        headers = {k.lower(): v for k, v in request.headers.items()}
        if verify_before_body:
            verify(runtime, Inbound(request.method, request.path, headers, b"", correlation_id))
        body = read_body(request, settings.max_body_bytes, settings.body_read_seconds)
        body_read = True
        inbound = Inbound(request.method, request.path, headers, body, correlation_id)
        if not verify_before_body:
            verify(runtime, inbound)
        with request_deadline(settings.retry_budget):
            outcome = flow(runtime, inbound)
        status, reply, reply_headers = reply_for_outcome(outcome, correlation_id)
        audit.update(
            instance_crn=outcome.instance_crn,
            event_id=outcome.event_id,
            outcome=str(outcome.kind),
            reason_code=outcome.reason_code,
            reason=outcome.reason,
            puts=outcome.puts,
            dry_run=settings.dry_run,
            warning=outcome.warning,
            detail=outcome.detail,
        )
    except Exception as exc:  # noqa: BLE001 - the edge turns every failure into a JSON reply
        status, reply, reply_headers = reply_for_error(exc, correlation_id)
        if not body_read:
            stop_reading(request)
        if not isinstance(exc, DualAuthError) and runtime is not None:
            runtime.log.emit("error", correlation_id=correlation_id, traceback=traceback.format_exc())
        kind = "rejected" if isinstance(exc, RequestError) else "failed" if isinstance(exc, UpstreamError) else "error"
        audit.update(
            outcome=kind,
            reason_code=reply["error"],
            reason=reply["message"],
            error_type=type(exc).__name__,
            **(exc.event if isinstance(exc, DualAuthError) else {}),
        )
    audit.update(status=status, duration_ms=round((time.perf_counter() - started) * 1000, 1))
    log = runtime.log if runtime is not None else JsonLog()
    if audit.get("detail"):
        audit["detail"] = log.redact(audit["detail"])[:MAX_DETAIL]  # redact first: a cut could split a secret
    log.audit(**audit)
    return flask.Response(
        json.dumps(log.redact.clean(reply)), status=status, headers=reply_headers, mimetype="application/json"
    )


def guard_framework_routes(app: flask.Flask) -> None:
    """Send functions-framework's own routes (/robots.txt, /favicon.ico) through `serve` as a JSON 404.

    The framework serves those two paths itself, outside our edge; a body sent to them would be
    drained at the client's pace while holding a thread. Through `serve` they are refused before the
    body is read, like any refused request, with a correlation id and an audit line.
    """

    def refuse(runtime: Runtime, inbound: Inbound) -> None:
        raise NotFound("no such path; send events to /")

    def unreachable(runtime: Runtime, inbound: Inbound) -> Outcome:
        raise AssertionError("refused before the flow")

    @app.before_request
    def _refuse_framework_routes() -> flask.Response | None:
        if flask.request.endpoint in (None, "run"):
            return None
        return serve(flask.request, "framework_route", refuse, unreachable, verify_before_body=True)
