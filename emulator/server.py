"""HTTP plumbing: reading requests safely, surfaces, faults, rate limits, journal, dispatch.

Every request is classified into a surface (iam, kms, rc, broker, control, other) that decides
the error body used for problems found before a handler runs (unknown path, wrong method, body
too large, injected faults, rate limits, unexpected exceptions). No traceback ever reaches a
client; bodies larger than ``max_body_bytes`` are refused without being read.
"""

from __future__ import annotations

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
from emulator.journal import body_for_journal, redact_headers
from emulator.options import Options
from emulator.resource_controller import RcError
from emulator.web import Request, Response, ServiceError

READ_TIMEOUT = 30.0
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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors found by http.server (bad request line, header limits) in the surface's format."""
        path = urlsplit(getattr(self, "path", "") or "").path
        surface = surface_of(path) if path.startswith("/") else "other"
        self.close_connection = True
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        code_name = "BAD_REQUEST_ERR" if code < 500 else "INTERNAL_ERR"
        self._send(error_for(surface, code, code_name, phrase).response(), surface, None)

    def _read_body(self, limit: int) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    size = int(line, 16)
                except ValueError as exc:
                    raise _BodyError(400, "malformed chunked body") from exc
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > limit:
                    raise _BodyError(413, f"request body larger than {limit} bytes")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError as exc:
            raise _BodyError(400, "invalid Content-Length") from exc
        if length < 0:
            raise _BodyError(400, "invalid Content-Length")
        if length > limit:
            raise _BodyError(413, f"request body larger than {limit} bytes")
        body = self.rfile.read(length)
        if len(body) < length:
            raise _BodyError(400, "request body shorter than Content-Length")
        return body

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
        if surface == "kms":
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
        if rule.body is not None:
            resp = Response.json(rule.status, rule.body)
        else:
            code = "TOO_MANY_REQUESTS" if rule.status == 429 else "INJECTED_FAULT"
            resp = error_for(surface, rule.status, code, "Injected fault").response()
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
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and response.body:
                self.wfile.write(response.body)
        except OSError:
            self.close_connection = True

    def _journal(self, req: Request, surface: str, status: int | None, fault: str | None,
                 started: float) -> None:
        subject = None
        auth = req.header("authorization") or ""
        if auth.lower().startswith("bearer "):
            try:
                subject = jwt.read_claims(auth[7:].strip()).get("sub")
            except jwt.TokenFormatError:
                subject = None
        headers = {k: str(v) for k, v in req.headers.items()}
        self.server.emu.journal.record({
            "surface": surface, "method": req.method, "path": req.raw_path,
            "query": {k: v[0] for k, v in req.query.items()}, "status": status,
            "instance": req.hpcs_guid or req.header("bluemix-instance"), "subject": subject,
            "headers": redact_headers(headers),
            "body": body_for_journal(req.body, req.header("content-type")), "fault": fault,
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
    """Start an emulator in this process on a daemon thread; returns its URL and a stop()."""
    opts = options or Options()
    emu = Emulator(opts)
    server = EmulatorHTTPServer(emu, opts.host, opts.port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="dualauth-emulator", daemon=True)
    thread.start()
    return RunningEmulator(server.url, emu, server, thread)
