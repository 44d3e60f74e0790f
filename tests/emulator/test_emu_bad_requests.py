"""Bad requests on every surface get that surface's own error body: never a traceback, HTML or a hang."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from emu_kit import KP_US, Kit, policy_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KMS_CT = "application/vnd.ibm.kms.error+json"
SURFACE_PATHS = {"kms": "/api/v2/keys", "iam": "/identity/token", "rc": "/v2/resource_instances",
                 "broker": "/crypto_v2/instances/x", "control": "/emulator/faults", "other": "/nothing"}


def raw(url: str, data: bytes, half_close: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; return status, headers (lower-case) and body of the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        while b"\r\n\r\n" not in out or len(out.partition(b"\r\n\r\n")[2]) < _length(out):
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _length(out: bytes) -> int:
    for line in out.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 1 << 30


def assert_surface_error(surface: str, status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The error body has the surface's own shape (and never a traceback or HTML)."""
    assert b"Traceback" not in body and b"<html" not in body.lower()
    doc: dict[str, Any] = json.loads(body)
    if surface == "kms":
        assert headers["content-type"] == KMS_CT
        assert doc["metadata"] == {"collectionType": KMS_CT, "collectionTotal": 1}
        assert doc["resources"][0]["reasons"][0]["status"] == status
    elif surface == "iam":
        assert {"errorCode", "errorMessage", "context"} <= set(doc)
    elif surface in ("rc", "broker"):
        assert doc["status_code"] == status and doc["error_code"]
    else:
        assert isinstance(doc["error"], str)
    return doc


@pytest.mark.parametrize("surface", list(SURFACE_PATHS))
def test_unknown_path_and_method(kit: Kit, surface: str) -> None:
    """Unknown paths → 404 and wrong methods (TRACE included) → 405/404, in each surface's body format."""
    path = SURFACE_PATHS[surface]
    status, headers, body = raw(kit.url, f"TRACE {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status in (404, 405)
    assert_surface_error(surface, status, headers, body)
    status, headers, body = raw(kit.url, f"GET {path}/no/such/thing HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status in (401, 404) if surface in ("kms", "broker") else status == 404
    assert_surface_error(surface, status, headers, body)


@pytest.mark.parametrize("surface", list(SURFACE_PATHS))
@pytest.mark.parametrize(("head", "status"), [
    ("Content-Length: 99999999\r\n", 413),
    ("Content-Length: abc\r\n", 400),
    ("Content-Length: -4\r\n", 400),
    ("Transfer-Encoding: chunked\r\n\r\nzz", 400),
    ("X-Big: " + "a" * 70000 + "\r\n", 431),
    ("X-Many: a\r\n" * 120, 431),
], ids=["oversize", "cl-text", "cl-negative", "bad-chunk", "long-header", "many-headers"])
def test_framing_errors(kit: Kit, surface: str, head: str, status: int) -> None:
    """Broken framing or header limits → 4xx in the surface's format, connection closed, no traceback."""
    data = f"POST {SURFACE_PATHS[surface]} HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode()
    got, headers, body = raw(kit.url, data)
    assert got == status and headers.get("connection") == "close"
    assert_surface_error(surface, got, headers, body)


def test_short_body_then_eof_is_400(kit: Kit) -> None:
    """A body shorter than its Content-Length followed by EOF → 400 BAD_REQUEST_ERR, not a hang."""
    data = b"PUT /api/v2/instance/policies HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{}"
    status, headers, body = raw(kit.url, data, half_close=True)
    assert status == 400
    assert assert_surface_error("kms", status, headers, body)["resources"][0]["reasons"][0]["code"] == "BAD_REQUEST_ERR"


@pytest.mark.parametrize("line", [b"GET /api/v2/keys HTTP/9.9", b"GET  /x  y  z HTTP/1.1", b"\x16\x03\x01garbage"])
def test_garbage_request_line(kit: Kit, line: bytes) -> None:
    """A garbage request line or HTTP version gets a JSON error (http.server's HTML page never shows)."""
    with socket.create_connection((urlsplit(kit.url).hostname, urlsplit(kit.url).port), timeout=10) as sock:
        sock.sendall(line + b"\r\nHost: x\r\n\r\n")
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    assert b"<html" not in out.lower() and b"Traceback" not in out
    assert out.rstrip().endswith(b"}")


@pytest.mark.parametrize(("body", "detail"), [
    (b"{", "unexpected end of JSON input"),
    (b"[" * 20000, "exceeded max depth"),
    (b'{"metadata": NaN}', "invalid character 'N'"),
    (b"\xff\xfe{}", "invalid character"),
    (b'"just a string"', "cannot unmarshal string"),
    (b'{"metadata": {"collectionType": 5, "collectionTotal": 1}, "resources": []}', "cannot unmarshal number"),
    (b'{"metadata": {"collectionType": "x", "collectionTotal": "1"}, "resources": []}', "cannot unmarshal string"),
    (b'{"metadata": {"collectionType": "x", "collectionTotal": 1}, "resources": [1]}', "cannot unmarshal number"),
])
def test_kms_bad_json_is_bad_body(kit: Kit, body: bytes, detail: str) -> None:
    """Invalid JSON, too deep nesting, NaN, bad UTF-8 and wrong types → 400 BAD_BODY_ERR with Go's wording."""
    resp = kit.kms("PUT", "/instance/policies", body=body, params={"policy": "dualAuthDelete"})
    assert resp.status_code == 400
    reason = resp.json()["resources"][0]["reasons"][0]
    assert reason["code"] == "BAD_BODY_ERR" and detail in reason["message"]


def test_kms_header_garbage(kit: Kit) -> None:
    """Non-ASCII bluemix-instance / bearer bytes and odd content types get KMS errors, not 500s."""
    for headers, status in (({"bluemix-instance": "\u00ff\u00fe"}, 401), ({"authorization": "Bearer \u00e9"}, 400),
                            ({"authorization": "Basic Zm9vOmJhcg=="}, 401), ({"content-type": "text/plain"}, 415)):
        resp = kit.http.put("/api/v2/instance/policies", content=json.dumps(policy_body()), headers={
            "authorization": f"Bearer {kit.token()}", "bluemix-instance": KP_US, "content-type": "application/json",
            **{k: v.encode("utf-8") for k, v in headers.items()}})
        assert resp.status_code == status, (headers, resp.text)
        assert resp.headers["content-type"] == KMS_CT


def test_iam_bad_forms(kit: Kit) -> None:
    """IAM: binary body, JSON body, missing grant → 400 with IAM's errorCode body."""
    for content, ctype in ((b"\xff\xfe\x00", "application/x-www-form-urlencoded"), (b'{"a":1}', "application/json"),
                           (b"grant_type=", "application/x-www-form-urlencoded")):
        resp = kit.http.post("/identity/token", content=content, headers={"content-type": ctype})
        assert resp.status_code == 400 and resp.json()["errorCode"].startswith("BXNIM")


def test_rc_bad_query(kit: Kit) -> None:
    """RC: limit out of range or text, bad start token → 400 in the RC body."""
    auth = {"authorization": f"Bearer {kit.token()}"}
    for query in ("limit=abc", "limit=0", "limit=101", "start=%%%", "start=bm90LWEtdG9rZW4"):
        resp = kit.http.get(f"/v2/resource_instances?{query}", headers=auth)
        assert resp.status_code == 400 and resp.json()["status_code"] == 400, query


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                            st.sampled_from(["metadata", "resources", "policy_type", "policy_data", "enabled",
                                             "attributes", "type", "name", "collectionTotal", "x"]), inner, max_size=4),
                        max_leaves=12),
       target=st.sampled_from([("PUT", "/instance/policies"), ("POST", "/keys"),
                               ("POST", "/keys_with_policy_overrides")]))
def test_kms_fuzzed_bodies_never_500(kit: Kit, doc: Any, target: tuple[str, str]) -> None:
    """Any JSON document on a KMS write gets a 2xx or a 4xx KMS envelope, never a 500."""
    resp = kit.kms(target[0], target[1], body=json.dumps(doc), instance=KP_US)
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert resp.headers["content-type"] == KMS_CT


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(["method", "path", "status", "times", "fraction", "drop", "latency_ms",
                                            "body", "headers", "seed", "service", "region", "event", "x"]),
                           st.none() | st.booleans() | st.integers(-5, 700) | st.floats(-1, 2) | st.text(max_size=5),
                           max_size=5),
       path=st.sampled_from(["/faults", "/instances", "/rate-limits", "/clock", "/settings"]))
def test_control_fuzzed_bodies_never_500(kit: Kit, doc: dict[str, Any], path: str) -> None:
    """Any JSON object on a control POST/PATCH gets a 2xx or a 400/404 {"error"} body, never a 500."""
    resp = kit.control("PATCH" if path == "/settings" else "POST", path, doc)
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert isinstance(resp.json()["error"], str)
    kit.control("POST", "/reset")
