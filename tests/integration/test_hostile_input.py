"""on_instance_created under hostile callers and hostile upstreams, over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.conftest import audit_lines, post_json
from tests.integration.kit import fault, instances, journal, lifecycle_event, policy_calls

SLOW = {"DUALAUTH_BODY_READ_SECONDS": "1"}


def raw(url: str, data: bytes, shut_write: bool = False, timeout: float = 15.0) -> tuple[socket.socket, bytes]:
    """Send raw bytes; return the socket and whatever answer arrives before `timeout`."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    sock.sendall(data)
    if shut_write:
        sock.shutdown(socket.SHUT_WR)
    answer = b""
    try:
        while b"\r\n\r\n" not in answer or not answer.split(b"\r\n\r\n", 1)[1]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    except TimeoutError:
        pass
    return sock, answer


def stalled(url: str, extra: str = "") -> socket.socket:
    """A connection that announces 1000 bytes of body, sends one, and then nothing."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=15)
    sock.sendall(
        f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}"
        "Content-Length: 1000\r\n\r\n{".encode()
    )
    return sock


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def answer_of(sock: socket.socket, timeout: float = 15.0) -> bytes:
    """Read one whole HTTP answer (headers and a Content-Length body) from `sock`."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_stalled_body_is_cut_off_with_408(emulator, functions):
    """A body that stops arriving is answered with a JSON 408 once the read time is up."""
    fn = functions.get(**SLOW)
    sock = stalled(fn.url)
    answer = answer_of(sock)
    sock.close()
    assert status_of(answer) == 408 and b"request_timeout" in answer
    assert journal(emulator) == []


def test_after_a_408_the_connection_is_closed_not_reused(emulator, functions):
    """Bytes a client sends right after its 408 are never read as a new request: the connection just closes."""
    fn = functions.get(**SLOW)
    smuggled = b"PUT /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    seen = len(audit_lines(fn))
    for _ in range(6):
        sock = stalled(fn.url)
        sock.settimeout(10)
        answer = sock.recv(65536)
        try:
            sock.sendall(smuggled)  # inside the 1000 bytes announced: body if read, never a request
            while sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            sock.close()
        assert status_of(answer) == 408
    assert [line["status"] for line in audit_lines(fn)[seen:]] == [408] * 6


def test_idle_connections_do_not_starve_real_events(emulator, functions):
    """With more stalled connections than threads held open, a real event is still answered and enforced."""
    fn = functions.get(**SLOW)
    crn = instances(emulator)["kms-us-south"]["crn"]
    held = [stalled(fn.url) for _ in range(12)]
    try:
        r = post_json(fn.url, lifecycle_event(crn))
        assert r.status_code == 200 and r.json()["outcome"] == "enabled"
    finally:
        for sock in held:
            sock.close()


def test_wrong_token_is_refused_before_the_body_is_read(emulator, functions):
    """With a shared secret configured, a wrong token is answered 401 at once, without waiting for the body."""
    fn = functions.get(DUALAUTH_EVENT_TOKEN="tok-hostile-1", DUALAUTH_BODY_READ_SECONDS="30")
    sock = stalled(fn.url, "Authorization: Bearer wrong\r\n")
    answer = answer_of(sock, timeout=10)
    sock.close()
    assert status_of(answer) == 401


def test_oversize_content_length_is_refused_without_waiting_for_the_body(emulator, functions):
    """A Content-Length over the limit is answered 413 at once, though the body never comes."""
    fn = functions.get(DUALAUTH_BODY_READ_SECONDS="30")
    parts = urlsplit(fn.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n")
    answer = answer_of(sock, timeout=10)
    sock.close()
    assert status_of(answer) == 413


def test_body_shorter_than_content_length_is_400(emulator, functions):
    """A body cut short (the client closes its side early) is a 400, and nothing is enforced."""
    fn = functions.get()
    payload = json.dumps(lifecycle_event(instances(emulator)["kms-us-south"]["crn"])).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(payload) + 50}\r\n\r\n"
    )
    sock, answer = raw(fn.url, head.encode() + payload, shut_write=True)
    sock.close()
    assert status_of(answer) == 400 and b"shorter" in answer
    assert journal(emulator) == []


def test_malformed_chunked_body_is_400(emulator, functions):
    """A chunked body with a bad chunk size is a JSON 400, not a 500."""
    fn = functions.get()
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    data = head + b"zz\r\nabc\r\n0\r\n\r\n"
    sock, answer = raw(fn.url, data)
    sock.close()
    assert status_of(answer) == 400 and b"application/json" in answer


@pytest.mark.parametrize(
    ("request_line", "extra", "status"),
    [
        ("POST /", "Authorization: Bearer tok-hostile-2\r\n", 413),  # a chunk over DUALAUTH_MAX_BODY_BYTES
        ("GET /", "", 405),
        ("POST /favicon.ico", "", 404),
        ("POST /", "Authorization: Bearer wrong\r\n", 401),
    ],
)
def test_refusals_of_an_unfinished_chunked_body_are_json(emulator, functions, request_line, extra, status):
    """Refusing a chunked body that never finishes gives our JSON status, not the framework's HTML 500."""
    fn = functions.get(DUALAUTH_EVENT_TOKEN="tok-hostile-2", DUALAUTH_MAX_BODY_BYTES="65536")
    head = (
        f"{request_line} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    parts = urlsplit(fn.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"100000\r\n" + b"a" * 70000)
        answer = answer_of(sock, timeout=10)
    assert status_of(answer) == status and b"application/json" in answer and b"crash" not in answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["correlation_id"] == audit_lines(fn)[-1]["correlation_id"]


def test_deeply_nested_json_is_400(emulator, functions):
    """JSON nested thousands deep is a 400, at the top level and inside data."""
    fn = functions.get()
    for payload in (
        b"[" * 990 + b"]" * 990,
        b'{"specversion":"1.0","id":"1","source":"s","type":"t","data":' + b"[" * 3000 + b"]" * 3000 + b"}",
    ):
        r = httpx.post(fn.url, content=payload, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text


def test_concurrent_duplicates_send_one_put(emulator, functions):
    """Twenty simultaneous deliveries of one event send exactly one PUT; all answer 200."""
    fn = functions.get()
    event = lifecycle_event(instances(emulator)["kms-eu-de"]["crn"])
    results: list[int] = []

    def deliver() -> None:
        results.append(post_json(fn.url, event).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 20
    assert len(policy_calls(emulator, "PUT")) == 1


def test_upstream_error_text_never_reaches_the_reply_and_is_redacted_in_logs(emulator, functions):
    """KMS error text quoting the API key or a token stays out of the reply, and is masked whole in the audit
    line even where the line's length cap would have cut the key in two."""
    fn = functions.get()
    message = "x" * 180 + " emu-apikey-dualauth-functions Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig"
    body = {
        "metadata": {"collectionType": "application/vnd.ibm.kms.error+json", "collectionTotal": 1},
        "resources": [
            {"errorMsg": "Forbidden", "reasons": [{"code": "UNAUTHORIZED_ERR", "status": 403, "message": message}]}
        ],
    }
    fault(emulator, method="GET", path="/api/v2/instance/policies", status=403, body=body, times=1)
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.status_code == 424 and r.json()["reason_code"] == "UNAUTHORIZED_ERR"
    assert "apikey" not in r.text and "eyJ" not in r.text and "xxxx" not in r.text
    audit = audit_lines(fn)[-1]
    assert (
        audit["detail"].startswith("xxx")
        and "emu-apikey-dualauth" not in fn.output()
        and "eyJhbGciOiJIUzI1NiJ9" not in fn.output()
    )


def test_odd_upstream_codes_and_retry_after_are_not_reflected(emulator, functions):
    """A 5,000-character reason code is replaced by HTTP_<status>; a Retry-After of decades is capped at 300 s."""
    fn = functions.get(DUALAUTH_RETRY_MAX="0")
    body = {"resources": [{"errorMsg": "x", "reasons": [{"code": "Z" * 5000}]}]}
    fault(emulator, method="GET", path="/api/v2/instance/policies", status=400, body=body, times=1)
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.json()["reason_code"] == "HTTP_400"
    fault(
        emulator, method="GET", path="/api/v2/instance/policies", status=429, headers={"Retry-After": "999999"}, times=1
    )
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.status_code == 503 and r.headers["retry-after"] == "300"


def test_framework_paths_answer_json_without_waiting_for_the_body(emulator, functions):
    """/favicon.ico and /robots.txt answer a JSON 404 at once with an audit line; trickling bodies starve nothing."""
    fn = functions.get()
    parts = urlsplit(fn.url)
    held = []
    for path in ("/favicon.ico", "/robots.txt") * 6:
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{{".encode())
        answer = answer_of(sock, timeout=10)
        assert status_of(answer) == 404 and b"application/json" in answer
        reply = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        audit = audit_lines(fn)[-1]
        assert reply["error"] == "not_found" and audit["correlation_id"] == reply["correlation_id"]
        assert audit["status"] == 404 and audit["trigger"] == "framework_route"
        held.append(sock)
    assert httpx.get(fn.url + "/robots.txt").status_code == 405
    try:
        r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
        assert r.status_code == 200 and r.json()["outcome"] == "enabled"
    finally:
        for sock in held:
            sock.close()


def test_forged_events_for_unknown_instances_cost_no_token_exchange(emulator, functions):
    """Events naming instances the service ID cannot see fail with one GET each and no new IAM token."""
    fn = functions.get()
    base = instances(emulator)["kms-us-south"]["crn"]
    post_json(fn.url, lifecycle_event(base))  # warm the token
    httpx.delete(emulator.url + "/emulator/journal")
    for n in range(5):
        forged = base.rsplit(":", 3)[0] + f":0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c{n:02d}::"
        assert post_json(fn.url, lifecycle_event(forged)).status_code == 503
    calls = journal(emulator)
    assert sum(1 for c in calls if c["path"].endswith("/token")) == 0
    assert len(policy_calls(emulator, "GET")) == 5


def test_slow_upstream_is_cut_at_the_request_deadline(emulator, functions):
    """KMS answering every call after 2.5 s: the request stops at its 4 s deadline with a 503, not later."""
    fn = functions.get(DUALAUTH_RETRY_BUDGET_SECONDS="4")
    fault(emulator, method="*", path="/api/v2/instance/policies", latency_ms=2500, times=10)
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.status_code == 503 and r.headers["retry-after"].isdigit()
    deadline = time.monotonic() + 10  # let the emulator finish the PUT we gave up on, before the next test
    while not policy_calls(emulator, "PUT") and time.monotonic() < deadline:
        time.sleep(0.2)


def test_an_answer_trickled_past_the_budget_is_cut_with_a_503(emulator, functions):
    """KMS sending its 200 a byte every 0.15 s (each read inside the timeout): 503 at the budget, nothing after."""
    listener = socket.create_server(("127.0.0.1", 0))
    body = json.dumps({"resources": [{"policy_type": "dualAuthDelete", "policy_data": {"enabled": True}}]}).encode()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            try:
                conn.sendall(head.encode())
                for byte in body:  # about 12 s in all, if nobody hangs up
                    conn.sendall(bytes([byte]))
                    time.sleep(0.15)
            except OSError:
                pass

    server = threading.Thread(target=trickle, daemon=True)
    server.start()
    try:
        port = listener.getsockname()[1]
        fn = functions.get(KMS_URL=f"http://127.0.0.1:{port}", DUALAUTH_RETRY_BUDGET_SECONDS="2")
        crn = instances(emulator)["kms-us-south"]["crn"]
        r = post_json(fn.url, lifecycle_event(crn))
        assert r.status_code == 503 and r.json()["reason_code"] == "connection_error" and r.headers["retry-after"]
        audit = audit_lines(fn)[-1]
        assert audit["outcome"] == "failed" and audit["instance_crn"] == crn and audit["puts"] == 0
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("path", "reason_code"),
    [("/api/v2/instance/policies", "unexpected_response"), ("/identity/token", "iam_error")],
)
def test_an_answer_with_a_broken_content_encoding_is_a_503_not_a_crash(emulator, functions, path, reason_code):
    """A KMS or IAM 200 claiming gzip over plain bytes is an unreadable answer: 503 with a reason, never a 500."""
    fn = functions.get(DUALAUTH_RETRY_MAX="0", TEST_FRESH_PROCESS=path)  # no cached IAM token
    event = lifecycle_event(instances(emulator)["kms-us-south"]["crn"])
    fault(emulator, method="*", path=path, status=200, body={"a": 1}, headers={"Content-Encoding": "gzip"}, times=1)
    r = post_json(fn.url, event)
    assert r.status_code == 503 and r.json()["reason_code"] == reason_code
    assert audit_lines(fn)[-1]["outcome"] == "failed"
