"""HTTP plumbing: reading requests safely, surfaces, faults, rate limits, journal, dispatch.

Every request is classified into a surface (iam, kms, rc, broker, control, other) that decides
the error body used for problems found before a handler runs (unknown path, wrong method, body
too large, injected faults, rate limits, unexpected exceptions). No traceback ever reaches a
client; bodies larger than ``max_body_bytes`` are refused without being read.

Framing is strict (RFC 9112): ``Content-Length`` is ASCII digits, repeated only with the same value;
``Transfer-Encoding`` must be exactly ``chunked`` and never comes with ``Content-Length``; a chunk
size is hex digits plus optional chunk extensions, and its data ends with CRLF. Anything else is
400 and the connection is closed. Protocol errors (bad request line, HTTP/0.9, HTTP/2+, header
limits) are full HTTP/1.1 answers in the format of the surface named by the request line's path.
KMS handlers run under the store lock, so a call's checks (token, instance, role) and its write
see the same world: a reset or deprovisioning waits for the call in progress.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulator import jwt, kms_errors
from emulator.app import Emulator
from emulator.control import ControlError
from emulator.iam import IamError
from emulator.journal import body_for_journal, redact_fields, redact_headers
from emulator.options import Options
from emulator.resource_controller import RcError
from emulator.web import Request, Response, ServiceError

READ_TIMEOUT = 30.0
MAX_LINE = 1024
MAX_TRAILER_LINES = 100
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = rb'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"'
# chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]+)(?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|"
                        + _QUOTED + rb"))?)*[ \t]*\r?\n")
DIGITS = re.compile(r"[0-9]+")
NO_BODY = (204, 304)
SURFACES = (("/emulator/", "control"), ("/identity/", "iam"), ("/oidc/", "iam"), ("/api/", "kms"),
            ("/hpcs/", "kms"), ("/v2/resource_instances", "rc"), ("/crypto_v2/", "broker"))


def surface_of(path: str) -> str:
    if path == "/emulator":
        return "control"
    for prefix, name in SURFACES:
        if path.startswith(prefix):
            return name
    return "other"


def error_for(surface: str, status: int, code: str, message: str) -> ServiceError:
    """A ``status`` error in the body format of ``surface``."""
    if surface == "kms":
        return kms_errors.generic(status, code, message)
    if surface == "iam":
        return IamError(status, code, message)
    if surface in ("rc", "broker"):
        return RcError(status, code, message)
    return ControlError(status, message)


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dualauth-emulator"
    sys_version = ""
    timeout = READ_TIMEOUT
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        """Headers and body go out as two writes: without TCP_NODELAY, Nagle plus the client's
        delayed ACK would add ~40 ms to every keep-alive answer."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, PROPFIND, ...) is routed too: 405 in the surface's format."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def parse_request(self) -> bool:
        """HTTP/0.9 (a request line without a version) is refused at once with a 400: http.server would
        wait for headers and then answer with a bare body."""
        if len(str(self.raw_requestline, "iso-8859-1").split()) == 2:
            self.command, self.close_connection, self.request_version = "", True, "HTTP/1.1"
            self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            self.send_error(400, "Bad request syntax (HTTP/0.9 is not supported)")
            return False
        return bool(super().parse_request())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors found by http.server (bad request line, version, header limits) as a full HTTP/1.1
        answer in the format of the surface the request line names."""
        words = str(getattr(self, "raw_requestline", b"") or b"", "iso-8859-1").split()
        path = urlsplit(words[1]).path if len(words) >= 2 else ""
        surface = surface_of(path) if path.startswith("/") else "other"
        if not str(getattr(self, "request_version", "")).startswith("HTTP/1."):
            self.request_version = "HTTP/1.1"  # else http.server writes neither status line nor headers
        self.close_connection = True
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        self._send(error_for(surface, code, "BAD_REQUEST_ERR", phrase).response(), surface, None)

    def _read_body(self, limit: int) -> bytes:
        codings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if codings:
            if lengths:
                raise _BodyError(400, "Content-Length and Transfer-Encoding together")
            if [c.strip().lower() for value in codings for c in value.split(",")] != ["chunked"]:
                raise _BodyError(400, "unsupported Transfer-Encoding (only chunked is accepted)")
            return self._read_chunked(limit)
        if not lengths:
            return b""
        values = {v.strip() for value in lengths for v in value.split(",")}
        raw = values.pop()
        if values or not DIGITS.fullmatch(raw):
            raise _BodyError(400, "invalid Content-Length")
        if len(raw.lstrip("0")) > 18 or int(raw) > limit:
            raise _BodyError(413, f"request body larger than {limit} bytes")
        length = int(raw)
        body = self.rfile.read(length)
        if len(body) < length:
            raise _BodyError(400, "request body shorter than Content-Length")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            match = CHUNK_LINE.fullmatch(self.rfile.readline(MAX_LINE))
            if match is None:
                raise _BodyError(400, "malformed chunked body")
            size = int(match.group(1), 16)
            if size == 0:
                break
            total += size
            if total > limit:
                raise _BodyError(413, f"request body larger than {limit} bytes")
            data = self.rfile.read(size)
            if len(data) < size:
                raise _BodyError(400, "chunked body ended early")
            chunks.append(data)
            if self.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n"):
                raise _BodyError(400, "malformed chunked body")
        for _ in range(MAX_TRAILER_LINES):
            line = self.rfile.readline(MAX_LINE)
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)
            if not line.endswith(b"\n"):
                raise _BodyError(400, "malformed chunked body")
        raise _BodyError(400, "too many trailer fields")

    def _dispatch(self) -> None:
        emu = self.server.emu
        split = urlsplit(self.path)
        path = split.path or "/"
        surface = surface_of(path)
        try:
            body = self._read_body(emu.options.max_body_bytes)
        except _BodyError as exc:
            self.close_connection = True
            code = "BODY_TOO_LARGE_ERR" if exc.status == 413 else "BAD_REQUEST_ERR"
            self._send(error_for(surface, exc.status, code, str(exc)).response(), surface, None)
            return
        base = emu.options.public_url or (f"http://{self.headers['Host']}" if self.headers.get("Host")
                                          else self.server.url)
        req = Request(self.command, path, path, parse_qs(split.query, keep_blank_values=True), self.headers,
                      body, base.rstrip("/"))
        if surface == "kms" and path.startswith("/hpcs/"):
            parts = path.split("/", 3)
            req.hpcs_guid = parts[2] if len(parts) > 2 else ""
            req.path = "/" + (parts[3] if len(parts) > 3 else "")
        started = time.monotonic()
        fault_id = None
        response: Response | None
        if surface not in ("control", "other"):
            rule = emu.faults.take(self.command, path)
            if rule is not None:
                fault_id = rule.id
                if rule.latency_ms:
                    time.sleep(rule.latency_ms / 1000)
                if rule.drop:
                    self.close_connection = True
                    self._journal(req, surface, None, fault_id, started)
                    return
            response = self._fault_response(rule, surface) if rule is not None else None
        else:
            response = None
        if response is None:
            response = self._handle(req, surface)
        if surface == "kms" and not any(name.lower() == "correlation-id" for name in response.headers):
            response.headers["correlation-id"] = req.header("correlation-id") or str(uuid.uuid4())
        # Journal and state file are written before the answer leaves, so a client that has its answer
        # always finds its call in the journal and its change on disk.
        try:
            if surface not in ("control", "other"):
                self._journal(req, surface, response.status, fault_id, started)
                if self.command not in ("GET", "HEAD") and response.status < 400 and fault_id is None:
                    emu.store.save()
            elif surface == "control" and self.command != "GET" and response.status < 400:
                emu.store.save()
        except Exception:  # noqa: BLE001 - the caller still gets its answer; the fault goes to stderr
            traceback.print_exc(file=sys.stderr)
        self._send(response, surface, req)

    def _fault_response(self, rule: Any, surface: str) -> Response | None:
        if rule.status is None:
            return None
        if rule.status in NO_BODY:
            resp = Response.empty(rule.status)
        elif rule.body is not None:
            resp = Response.json(rule.status, rule.body)
        else:
            code = "TOO_MANY_REQUESTS" if rule.status == 429 else "INJECTED_FAULT"
            resp = error_for(surface, rule.status, code, "Injected fault").response()
        replaced = {name.lower() for name in rule.headers}
        resp.headers = {k: v for k, v in resp.headers.items() if k.lower() not in replaced}
        resp.headers.update(rule.headers)
        return resp

    def _handle(self, req: Request, surface: str) -> Response:
        emu = self.server.emu
        try:
            if surface == "kms":
                retry = emu.rate_limits.check(req.hpcs_guid or req.header("bluemix-instance"))
                if retry is not None:
                    err = kms_errors.generic(429, "TOO_MANY_REQUESTS", "Too many requests for this instance")
                    err.headers["Retry-After"] = str(retry)
                    raise err
            route, params, allowed = emu.router.match(req.method, req.path)
            if route is None:
                if allowed:
                    if surface == "kms":
                        raise kms_errors.method_not_allowed(allowed)
                    raise error_for(surface, 405, "METHOD_NOT_ALLOWED", "method not allowed")
                if surface == "kms":
                    raise kms_errors.not_found_route()
                raise error_for(surface, 404, "NOT_FOUND", f"no such path: {req.raw_path}")
            req.params = params
            if surface == "kms":
                # One hold for the checks and the write: no reset or deprovisioning in between.
                with emu.store.lock:
                    return route.handler(req)
            return route.handler(req)
        except ServiceError as exc:
            return exc.response()
        except Exception:  # noqa: BLE001 - never a traceback to the client
            traceback.print_exc(file=sys.stderr)
            return error_for(surface, 500, "INTERNAL_ERR", "internal error").response()

    def _send(self, response: Response, surface: str, req: Request | None) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status not in NO_BODY:  # RFC 9110 §8.6: none on 204, on 304 only the 200's length
                self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and response.body and response.status not in NO_BODY:
                self.wfile.write(response.body)
        except OSError:
            self.close_connection = True

    def _journal(self, req: Request, surface: str, status: int | None, fault: str | None,
                 started: float) -> None:
        subject = None
        auth = req.header("authorization") or ""
        if auth.lower().startswith("bearer "):
            try:
                sub = jwt.read_claims(auth[7:].strip()).get("sub")
            except jwt.TokenFormatError:
                sub = None
            subject = sub if isinstance(sub, str) else None
        headers = {k: str(v) for k, v in req.headers.items()}
        self.server.emu.journal.record({
            "surface": surface, "method": req.method, "path": req.raw_path,
            "query": redact_fields([(k, v[0]) for k, v in req.query.items()]), "status": status,
            "instance": req.hpcs_guid or req.header("bluemix-instance"), "subject": subject,
            "headers": redact_headers(headers),
            "body": body_for_journal(req.body, req.header("content-type"), iam=surface == "iam"), "fault": fault,
            "duration_ms": round((time.monotonic() - started) * 1000, 2),
        })


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, emu: Emulator, host: str, port: int) -> None:
        self.emu = emu
        super().__init__((host, port), Handler)
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104 - only for display
        self.url = f"http://{shown}:{self.server_address[1]}"


@dataclass
class RunningEmulator:
    """An emulator serving on a background thread (``start``); ``stop()`` shuts it down."""

    url: str
    emulator: Emulator
    server: EmulatorHTTPServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(options: Options | None = None) -> RunningEmulator:
    """Start an emulator in this process on a daemon thread; returns its URL and a stop().

    Raises ValueError naming every problem when an option is out of range (``Options.problems``)."""
    opts = options or Options()
    problems = opts.problems()
    if problems:
        raise ValueError("; ".join(problems))
    emu = Emulator(opts)
    server = EmulatorHTTPServer(emu, opts.host, opts.port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="dualauth-emulator", daemon=True)
    thread.start()
    return RunningEmulator(server.url, emu, server, thread)
