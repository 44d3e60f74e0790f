"""Bad requests on every surface get that surface's own error body: never a traceback, HTML or a hang."""

from __future__ import annotations

import base64
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


def _forged(kit: Kit) -> str:
    """A real token's header and claims with a non-ASCII signature (sent as latin-1 bytes)."""
    head, claims, _ = kit.token().split(".")
    return f"{head}.{claims}.\u00e9"


@pytest.mark.parametrize(("surface", "path"), [("kms", "/api/v2/keys"), ("rc", "/v2/resource_instances"),
                                               ("rc", f"/v2/resource_instances/{KP_US}"),
                                               ("broker", "/crypto_v2/instances/a4b5c6d7-e8f9-4a0b-8c1d-2e3f4a5b6c7d")])
def test_non_ascii_token_signature_is_401(kit: Kit, surface: str, path: str) -> None:
    """A bearer token whose signature holds a non-ASCII character answers 401 in the surface's format, not 500."""
    data = (f"GET {path} HTTP/1.1\r\nHost: x\r\nbluemix-instance: {KP_US}\r\n"
            f"Authorization: Bearer {_forged(kit)}\r\n\r\n").encode("latin-1")
    status, headers, body = raw(kit.url, data)
    assert status == 401
    assert_surface_error(surface, status, headers, body)


def test_assume_grant_with_non_ascii_signature_is_400(kit: Kit) -> None:
    """The IAM assume grant with a non-ASCII token signature answers 400 BXNIM0407E, not 500."""
    resp = kit.http.post("/identity/token", data={"grant_type": "urn:ibm:params:oauth:grant-type:assume",
                                                  "access_token": _forged(kit), "profile_id": "x"})
    assert resp.status_code == 400 and resp.json()["errorCode"] == "BXNIM0407E"


@pytest.mark.parametrize("target", [("PUT", "/instance/policies"), ("POST", "/keys"),
                                    ("POST", "/keys_with_policy_overrides")])
@pytest.mark.parametrize("number", ["1" * 4301, "-" + "9" * 5000, "1e400", "-1e999"])
def test_kms_out_of_range_number_is_bad_body(kit: Kit, target: tuple[str, str], number: str) -> None:
    """A KMS body number Python cannot hold (over 4300 digits) or Go would overflow (1e400) → 400 BAD_BODY_ERR."""
    body = '{"metadata": {"collectionType": "x", "collectionTotal": NUMBER}, "resources": []}'.replace("NUMBER", number)
    resp = kit.kms(target[0], target[1], body=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["resources"][0]["reasons"][0]["code"] == "BAD_BODY_ERR"


@pytest.mark.parametrize("surface", ["kms", "iam", "rc", "control"])
@pytest.mark.parametrize("size_line", [b"-5", b"+5", b"0x5", b"5_0", b" 5", b"5 x", b"5;", b"5;a=\"b", b"", b"g"])
def test_malformed_chunk_size_is_400(kit: Kit, emulator: Any, surface: str, size_line: bytes) -> None:
    """A chunk-size line that is not hex digits plus optional chunk extensions → 400 in the surface's format."""
    before = len(emulator.output())
    data = (f"POST {SURFACE_PATHS[surface]} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + size_line + b"\r\nhello\r\n0\r\n\r\n")
    status, headers, body = raw(kit.url, data)
    assert status == 400 and headers.get("connection") == "close"
    assert_surface_error(surface, status, headers, body)
    assert "Traceback" not in emulator.output()[before:]


@pytest.mark.parametrize("chunks", [b"5;ext\r\nhello\r\n0\r\n\r\n", b"5 ; a=b ;c=\"d e\"\r\nhello\r\n0\r\n\r\n",
                                    b"0005\r\nhello\r\n0;x\r\nTrailer-Field: 1\r\n\r\n"])
def test_valid_chunked_body_is_read(kit: Kit, chunks: bytes) -> None:
    """A chunked body with chunk extensions, leading zeros and a trailer is read like any other body."""
    data = b"POST /emulator/clock HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
    status, _, body = raw(kit.url, data)
    assert status == 400 and json.loads(body)["error"] == "body is not valid JSON"  # "hello" arrived intact


def test_chunk_data_must_end_with_crlf(kit: Kit) -> None:
    """Chunk data longer than its size line said (no CRLF right after it) → 400, not silently skipped."""
    head = b"GET /emulator/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert raw(kit.url, head + b"2\r\n{}\r\n0\r\n\r\n")[0] == 200
    assert raw(kit.url, head + b"2\r\n{}}\r\n0\r\n\r\n")[0] == 400


@pytest.mark.parametrize(("line", "surface", "status"), [
    (b"GET /api/v2/keys HTTP/2.0", "kms", 505), (b"GET /v2/resource_instances HTTP/3.0", "rc", 505),
    (b"GET /api/v2/keys HTTP/1.x", "kms", 400), (b"GET  /identity/token  y  z HTTP/1.1", "iam", 400),
    (b"GET /api/v2/keys", "kms", 400), (b"\x16\x03\x01garbage", "other", 400)])
def test_protocol_errors_are_full_http11_answers(kit: Kit, emulator: Any, line: bytes, surface: str,
                                                 status: int) -> None:
    """Bad versions, HTTP/0.9 and garbage request lines get a full HTTP/1.1 answer in the path's surface format."""
    before = len(emulator.output())
    got, headers, body = raw(kit.url, line + b"\r\nHost: x\r\n\r\n")
    assert got == status and headers["connection"] == "close" and int(headers["content-length"]) == len(body)
    assert_surface_error(surface, got, headers, body)
    assert "Traceback" not in emulator.output()[before:]


def test_protocol_error_after_keep_alive_uses_its_own_path(kit: Kit) -> None:
    """A bad request line on a kept-alive connection is answered in its own path's format, not the previous one's."""
    parts = urlsplit(kit.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET /emulator/health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v2/keys HTTP/2.0\r\nHost: x\r\n\r\n")
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    second = out[out.index(b"HTTP/1.1 505"):]
    assert KMS_CT.encode() in second.partition(b"\r\n\r\n")[0]


@pytest.mark.parametrize("head", [
    b"Content-Length: +2\r\n\r\n{}", b"Content-Length: 1_5\r\n\r\n{\"a\": 123456789}", b"Content-Length: 0x2\r\n\r\n{}",
    b"Content-Length: \xd9\xa2\r\n\r\n{}", b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
    b"Content-Length: 2, 3\r\n\r\n{}x", b"Content-Length:\r\n\r\n",
    b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"Transfer-Encoding: gzip\r\n\r\n{}", b"Transfer-Encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
], ids=["plus", "underscore", "hex", "arabic-digit", "two-values", "list", "empty", "cl-and-te", "te-gzip",
        "te-not-final"])
@pytest.mark.parametrize("surface", ["kms", "control"])
def test_ambiguous_body_framing_is_400(kit: Kit, surface: str, head: bytes) -> None:
    """Non-digit, disagreeing or TE-accompanied Content-Length and non-chunked codings → 400, connection closed."""
    data = f"POST {SURFACE_PATHS[surface]} HTTP/1.1\r\nHost: x\r\n".encode() + head
    status, headers, body = raw(kit.url, data)
    assert status == 400 and headers.get("connection") == "close"
    assert_surface_error(surface, status, headers, body)


def test_repeated_equal_content_length_is_accepted(kit: Kit) -> None:
    """Several Content-Length headers with the same value are one length (RFC 9112 §6.3)."""
    data = b"POST /emulator/clock HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"
    status, _, body = raw(kit.url, data)
    assert status == 400 and json.loads(body)["error"] == "advance_seconds must be a number"


def test_token_with_too_deep_claims_is_refused_not_500(kit: Kit) -> None:
    """Token claims nested too deep → KMS 400 BEARER_SUB_EXTRACTION_ERR, RC 401, IAM assume 400, never 500."""
    deep = base64.urlsafe_b64encode(b"[" * 30000).decode().rstrip("=")
    token = f"{kit.token().split('.')[0]}.{deep}.sig"
    kms = kit.http.get("/api/v2/keys", headers={"authorization": f"Bearer {token}", "bluemix-instance": KP_US})
    assert kms.status_code == 400 and kms.json()["resources"][0]["reasons"][0]["code"] == "BEARER_SUB_EXTRACTION_ERR"
    rc = kit.http.get("/v2/resource_instances", headers={"authorization": f"Bearer {token}"})
    assert rc.status_code == 401
    iam = kit.http.post("/identity/token", data={"grant_type": "urn:ibm:params:oauth:grant-type:assume",
                                                 "access_token": token, "profile_id": "x"})
    assert iam.status_code == 400 and iam.json()["errorCode"] == "BXNIM0407E"
