"""The control API: provisioning events, deliveries, journal, faults, rate limits, reset, bad input."""

from __future__ import annotations

import base64
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from emu_kit import APIKEY_GRANT, FUNCS, KP_US, Kit, Sink, dual, policy_body, reason

from emulator.server import start


def provision(kit: Kit, sink: Sink, **spec: object) -> dict[str, object]:
    resp = kit.control("POST", "/instances", {"service": "kms", "region": "eu-de", "name": "kp-new",
                                              "sink": sink.url, **spec})
    assert resp.status_code == 201, resp.text
    body: dict[str, object] = resp.json()
    return body


def settled(kit: Kit, delivery: object, timeout: float = 15.0) -> dict[str, Any]:
    """The delivery's record once it is no longer pending (or whatever it is at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        item: dict[str, Any] = kit.control("GET", f"/deliveries/{delivery}").json()
        if item["state"] != "pending" or time.monotonic() > deadline:
            return item
        time.sleep(0.02)


def test_provision_en_event(kit: Kit, sink: Sink) -> None:
    """Provisioning answers 201 with the RC record and a delivery id, and posts an EN structured CloudEvent."""
    out = provision(kit, sink, headers={"Authorization": "Bearer en-secret", "X-Event-Token": "tok-1"})
    inst = out["instance"]
    assert isinstance(inst, dict) and inst["region_id"] == "eu-de" and out["delivery"]
    got = sink.wait(1)[0]
    assert got["headers"]["content-type"] == "application/json"
    assert got["headers"]["authorization"] == "Bearer en-secret" and got["headers"]["x-event-token"] == "tok-1"
    shown = kit.control("GET", f"/deliveries/{out['delivery']}").json()["headers"]
    assert shown["authorization"] == "Bearer <redacted>" and shown["x-event-token"] == "<redacted>"
    assert "en-secret" not in kit.control("GET", "/deliveries").text
    ev = got["body"]
    assert ev["specversion"] == "1.0" and ev["type"] == "com.ibm.cloud.resource-lifecycle:instance.create"
    assert ev["ibmensourceid"] and ev["notification_id"]
    assert ev["data"]["event_type"] == "resource-controller.instance.create"
    assert ev["data"]["context"]["activity"]["action"] == "kms.instance.create"
    assert ev["data"]["event_properties"]["crn"] == inst["crn"]
    # the new instance is live on the KMS API and in the RC
    assert kit.kms("GET", "/instance/policies", instance=str(inst["guid"])).status_code == 200


def test_provision_at_event_is_binary_kafka_cloudevent(kit: Kit, sink: Sink) -> None:
    """event "at" posts the AT CADF event as a binary CloudEvent from a Kafka source."""
    out = provision(kit, sink, service="hs-crypto", event="at")
    got = sink.wait(1)[0]
    assert got["headers"]["ce-type"] == "dev.knative.kafka.event"
    assert got["headers"]["ce-id"].startswith("partition:0/offset:")
    assert got["body"]["action"] == "hs-crypto.instance.create"
    assert got["body"]["outcome"] == "success"
    assert got["body"]["target"]["id"] == out["instance"]["crn"]  # type: ignore[index]


def test_deliveries_retry_and_redeliver(kit: Kit, sink: Sink) -> None:
    """5xx answers are retried (EN rule) and recorded; redeliver posts the same event again synchronously."""
    sink.statuses = [(503, {"Retry-After": "0"}), (500, {})]
    did = provision(kit, sink)["delivery"]
    sink.wait(3)
    item = settled(kit, did)
    assert [a["status"] for a in item["attempts"]] == [503, 500, 200]
    assert item["state"] == "delivered"
    attempt = kit.control("POST", f"/deliveries/{did}/redeliver").json()
    assert attempt["status"] == 200
    assert sink.received[-1]["body"]["id"] == sink.received[0]["body"]["id"]
    listed = kit.control("GET", "/deliveries").json()["deliveries"]
    assert [d["id"] for d in listed] == [did]


def test_delivery_gives_up_after_three_retries(kit: Kit, sink: Sink) -> None:
    """A sink that keeps failing gets 1 + 3 attempts and the delivery is marked failed."""
    sink.statuses = [(502, {})] * 4
    did = provision(kit, sink)["delivery"]
    sink.wait(4)
    item = settled(kit, did)
    assert item["state"] == "failed" and len(item["attempts"]) == 4


def test_deprovision_sends_delete_event(kit: Kit, sink: Sink) -> None:
    """DELETE /emulator/instances/{guid} removes the instance and posts its delete event."""
    guid = provision(kit, sink, event="none")["instance"]["guid"]  # type: ignore[index]
    resp = kit.control("DELETE", f"/instances/{guid}", {"sink": sink.url})
    assert resp.status_code == 200
    assert sink.wait(1)[0]["body"]["data"]["event_type"] == "resource-controller.instance.delete"
    assert kit.kms("GET", "/keys", instance=guid).status_code == 401


def test_provision_validation(kit: Kit) -> None:
    """Bad provisioning requests answer 400 listing every problem."""
    resp = kit.control("POST", "/instances", {"service": "s3", "region": "mars", "event": "x", "bogus": 1})
    assert resp.status_code == 400
    assert len(resp.json()["details"]) == 4


def test_journal_records_ibm_calls(kit: Kit) -> None:
    """The journal lists IBM-surface calls with status, instance, subject and redacted authorization."""
    kit.set_dual(True)
    kit.kms("GET", "/instance/policies")
    calls = kit.control("GET", "/journal").json()["calls"]
    assert [c["method"] for c in calls] == ["POST", "PUT", "GET"]
    put = calls[1]
    assert put["path"] == "/api/v2/instance/policies" and put["query"] == {"policy": "dualAuthDelete"}
    assert put["status"] == 204 and put["instance"] == KP_US and put["subject"] == "iam-ServiceId-emu-dualauth"
    assert put["headers"]["authorization"] == "Bearer <redacted>"
    assert put["body"]["resources"][0]["policy_type"] == "dualAuthDelete"
    assert calls[0]["body"]["apikey"] == "<redacted>"
    assert len(kit.control("GET", "/journal?method=PUT").json()["calls"]) == 1
    assert kit.control("DELETE", "/journal").status_code == 204
    assert kit.control("GET", "/journal").json()["calls"] == []


def test_journal_holds_a_call_once_its_answer_has_arrived() -> None:
    """A call is journalled before its answer is sent: a slow journal delays the answer, never misses the call."""
    running = start()
    journal = running.emulator.journal
    record = journal.record

    def slow_record(entry: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.3)
        return record(entry)

    journal.record = slow_record  # type: ignore[method-assign]
    try:
        resp = httpx.post(f"{running.url}/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": FUNCS})
        assert resp.status_code == 200
        assert [c["path"] for c in journal.calls()] == ["/identity/token"]
    finally:
        running.stop()


def test_journal_keeps_a_too_deep_body_as_text(kit: Kit) -> None:
    """A call with a JSON body nested 20000 deep is answered, journalled with its body as text, and listable."""
    resp = kit.kms("PUT", "/instance/policies", body=b"[" * 20000, params={"policy": "dualAuthDelete"})
    assert resp.status_code == 400
    calls = kit.control("GET", "/journal?method=PUT").json()["calls"]
    assert len(calls) == 1 and calls[0]["status"] == 400 and calls[0]["body"] == "[" * 4096


def test_fault_status_for_next_n_calls(kit: Kit) -> None:
    """A fault rule answers its status, KMS-style body and Retry-After for the next `times` matching calls."""
    rule = {"method": "PUT", "path": "/api/v2/instance/policies", "status": 503,
            "headers": {"Retry-After": "1"}, "times": 2}
    assert kit.control("POST", "/faults", rule).status_code == 201
    for _ in range(2):
        resp = kit.kms("PUT", "/instance/policies", body=policy_body(dual()))
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
        assert reason(resp)["code"] == "INJECTED_FAULT"
    assert kit.kms("PUT", "/instance/policies", body=policy_body(dual())).status_code == 204
    assert kit.control("GET", "/faults").json()["faults"] == []


def test_fault_drop_and_latency(kit: Kit) -> None:
    """drop closes the connection without an answer; latency_ms delays the real answer."""
    kit.control("POST", "/faults", {"path": "/api/v2/keys", "drop": True})
    with pytest.raises(httpx.RemoteProtocolError):
        kit.kms("GET", "/keys")
    kit.control("POST", "/faults", {"path": "/api/v2/keys", "latency_ms": 200})
    started = time.monotonic()
    assert kit.kms("GET", "/keys").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_fault_fraction_and_iam(kit: Kit) -> None:
    """fraction 1.0 fires on every matching call until cleared; faults apply to IAM too."""
    kit.control("POST", "/faults", {"path": "/identity/token", "status": 500, "fraction": 1.0})
    for _ in range(3):
        assert kit.http.post("/identity/token", data={"grant_type": "x"}).status_code == 500
    assert kit.control("DELETE", "/faults").status_code == 204
    assert kit.http.post("/identity/token", data={"grant_type": "x"}).status_code == 400


def test_invalid_fault_rule(kit: Kit) -> None:
    """An invalid fault rule answers 400 with its problems."""
    resp = kit.control("POST", "/faults", {"status": "x", "times": 0})
    assert resp.status_code == 400 and resp.json()["details"]


def test_rate_limit_answers_429(kit: Kit) -> None:
    """Past the per-instance rate the KMS API answers 429 with Retry-After and a KMS error body."""
    kit.control("POST", "/rate-limits", {"instance": KP_US, "per_second": 2, "retry_after": 3})
    statuses = [kit.kms("GET", "/keys").status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and 429 in statuses
    resp = kit.kms("GET", "/keys")
    assert resp.status_code == 429 and resp.headers["retry-after"] == "3"
    assert reason(resp)["code"] == "TOO_MANY_REQUESTS"


def test_reset_restores_seed(kit: Kit) -> None:
    """POST /emulator/reset brings back the seed: no policies, no keys, no faults, empty journal."""
    kit.set_dual(True)
    kit.create_key()
    kit.control("POST", "/faults", {"path": "/x", "status": 500})
    assert kit.control("POST", "/reset").status_code == 200
    state = kit.control("GET", "/state").json()
    assert all(not i["policies"] and not i["keys"] for i in state["instances"])
    assert all("apikey" not in p for p in state["principals"])
    assert kit.control("GET", "/faults").json()["faults"] == []
    assert kit.control("GET", "/journal").json()["calls"] == []


def test_settings_validation(kit: Kit) -> None:
    """PATCH /emulator/settings rejects unknown names and bad values with 400."""
    assert kit.control("PATCH", "/settings", {"nope": 1}).status_code == 400
    assert kit.control("PATCH", "/settings", {"unknown_instance_status": 500}).status_code == 400
    assert kit.control("GET", "/settings").json()["unknown_instance_status"] == 401


def test_bad_input_never_tracebacks(kit: Kit) -> None:
    """Bad JSON, unknown paths and wrong methods get JSON errors of the right service, never a traceback."""
    assert kit.http.post("/emulator/instances", content=b"{nope").status_code == 400
    unknown = kit.http.get("/nothing/here")
    assert unknown.status_code == 404 and unknown.json()["error"]
    assert reason(kit.kms("GET", "/nothing"))["code"] == "NOT_FOUND_ERR"
    assert kit.kms("PATCH", "/keys").status_code == 405
    iam = kit.http.get("/identity/token")
    assert iam.status_code == 405 and "errorCode" in iam.json()
    assert "Traceback" not in kit.kms("PUT", "/instance/policies", body=b"\xff\xfe").text


def test_huge_body_is_413_without_reading(emulator: object) -> None:
    """A body above the limit is refused with 413 from the Content-Length alone (no hang)."""
    parts = urlsplit(emulator.url)  # type: ignore[attr-defined]
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"PUT /api/v2/instance/policies HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413")
    assert "application/vnd.ibm.kms.error+json" in answer


def strict_json(text: str) -> Any:
    """Parse as strict JSON: NaN / Infinity are not JSON."""
    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e300", "1e400", "-1e300", "1" * 30])
def test_clock_refuses_non_finite_and_huge_advances(kit: Kit, value: str) -> None:
    """POST /emulator/clock with NaN, Infinity or an advance beyond 100 years → 400; the world keeps working."""
    resp = kit.http.post("/emulator/clock", content=f'{{"advance_seconds": {value}}}')
    assert resp.status_code == 400 and isinstance(resp.json()["error"], str)
    assert kit.control("GET", "/state").status_code == 200
    assert kit.kms("GET", "/instance/policies").status_code == 200
    assert kit.control("POST", "/clock", {"advance_seconds": 60}).json()["offset_seconds"] == 60


def test_control_bodies_are_strict_json(kit: Kit) -> None:
    """Every control body refuses NaN / Infinity and out-of-range numbers with 400 (strict JSON, 64-bit integers)."""
    for path, body in (("/rate-limits", f'{{"instance": "{KP_US}", "per_second": NaN}}'),
                       ("/rate-limits", f'{{"instance": "{KP_US}", "per_second": {"9" * 20}}}'),
                       ("/faults", '{"path": "/api", "status": 500, "body": {"x": Infinity}}'),
                       ("/instances", '{"service": "kms", "name": -Infinity}')):
        resp = kit.http.post(f"/emulator{path}", content=body)
        assert resp.status_code == 400 and resp.json()["error"] == "body is not valid JSON", (path, resp.text)
    resp = kit.http.request("PATCH", "/emulator/settings", content='{"event_timeout": NaN}')
    assert resp.status_code == 400
    assert kit.control("GET", "/faults").json()["faults"] == [] and kit.control("GET", "/rate-limits").json() == {
        "rate_limits": []}


def test_settings_reject_every_bad_value(kit: Kit) -> None:
    """PATCH /emulator/settings validates ranges and URLs and names every problem; nothing is applied."""
    before = kit.control("GET", "/settings").json()
    bad = {"event_timeout": 0, "event_sink": "not a url", "rc_default_limit": 0, "token_lifetime": 0,
           "event_retry_base": 1e300, "event_retry_cap": -1}
    resp = kit.control("PATCH", "/settings", bad)
    assert resp.status_code == 400
    details = resp.json()["details"]
    assert len(details) == len(bad) and all(any(name in d for d in details) for name in bad)
    assert "not a url" not in resp.text
    for sink in ("ftp://x/", "http://user:pw@host/", "http://host:port/", "http:///x", "http://h/\r\nX: y"):
        assert kit.control("PATCH", "/settings", {"event_sink": sink}).status_code == 400, sink
    assert kit.control("PATCH", "/settings", {"rc_default_limit": 1000000}).status_code == 400
    assert kit.control("GET", "/settings").json() == before
    ok = kit.control("PATCH", "/settings", {"rc_default_limit": 1, "event_sink": "https://sink.example/x",
                                             "event_timeout": 2})
    assert ok.status_code == 200 and ok.json()["rc_default_limit"] == 1
    listed = kit.http.get("/v2/resource_instances", headers={"authorization": f"Bearer {kit.token()}"})
    assert listed.status_code == 200 and listed.json()["rows_count"] == 1


@pytest.mark.parametrize(("rule", "problem"), [
    ({"headers": {"X-A": "a\r\nSet-Cookie: injected=1"}}, "header value"),
    ({"headers": {"X-A\r\nSet-Cookie": "a"}}, "header name"),
    ({"headers": {"X A": "a"}}, "header name"),
    ({"headers": {"X-A": "\u0100"}}, "header value"),
    ({"headers": {"Content-Length": "5"}}, "Content-Length"),
    ({"headers": {"transfer-encoding": "chunked"}}, "Transfer-Encoding"),
    ({"headers": {"Connection": "close"}}, "Connection"),
    ({"status": 100}, "status"), ({"status": 101}, "status"), ({"status": 199}, "status"),
    ({"status": 204, "body": {"a": 1}}, "body"), ({"status": 304, "body": "x"}, "body"),
    ({"latency_ms": 60001}, "latency_ms"), ({"method": "GET /x"}, "method"),
    ({"headers": []}, "headers"), ({"headers": False}, "headers"),
])
def test_fault_rule_validation(kit: Kit, rule: dict[str, Any], problem: str) -> None:
    """Fault rules that would corrupt or stall the answer are refused with 400 naming the problem."""
    resp = kit.control("POST", "/faults", {"path": "/api/v2/keys", "status": 503, **rule})
    assert resp.status_code == 400, resp.text
    assert any(problem.lower() in d.lower() for d in resp.json()["details"]), resp.json()
    assert kit.control("GET", "/faults").json()["faults"] == []


@pytest.mark.parametrize("status", [204, 304])
def test_fault_204_and_304_have_no_body(kit: Kit, status: int) -> None:
    """A 204 or 304 fault is answered without a body or Content-Length; the kept-alive connection stays usable."""
    assert kit.control("POST", "/faults", {"path": "/api/v2/keys", "status": status}).status_code == 201
    parts = urlsplit(kit.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET /api/v2/keys HTTP/1.1\r\nHost: x\r\n\r\nGET /emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        out = b""
        while b'{"status":"ok"}' not in out:
            chunk = sock.recv(65536)
            assert chunk, out
            out += chunk
    first, _, rest = out.partition(b"\r\n\r\n")
    assert first.startswith(f"HTTP/1.1 {status}".encode())
    assert rest.startswith(b"HTTP/1.1 200")
    assert b"content-length" not in first.lower()


def test_fault_headers_replace_case_insensitively(kit: Kit) -> None:
    """A fault's Content-Type replaces the answer's own (one header, whatever the case)."""
    kit.control("POST", "/faults", {"path": "/api/v2/keys", "status": 503, "body": {"a": 1},
                                    "headers": {"content-type": "application/problem+json"}})
    resp = kit.kms("GET", "/keys")
    assert resp.status_code == 503 and resp.headers.get_list("content-type") == ["application/problem+json"]


def test_provision_guid_must_be_canonical(kit: Kit) -> None:
    """Instance guids must be lower-case 8-4-4-4-12: other UUID spellings are refused, never a second instance."""
    for guid in (KP_US.upper(), f"urn:uuid:{KP_US}", f"{{{KP_US}}}", KP_US.replace("-", ""), ""):
        resp = kit.control("POST", "/instances", {"service": "kms", "guid": guid, "event": "none"})
        assert resp.status_code == 400 and "guid" in " ".join(resp.json()["details"]), guid
    assert len([i for i in kit.control("GET", "/state").json()["instances"] if i["guid"].lower() == KP_US]) == 1
    dup = kit.control("POST", "/instances", {"service": "kms", "guid": KP_US, "event": "none"})
    assert dup.status_code == 400 and dup.json()["details"] == ["an instance with this guid exists"]


def test_provision_headers_and_sink_are_validated(kit: Kit) -> None:
    """Provisioning refuses bad or injected headers and a non-http(s) sink, listing every problem at once."""
    spec = {"service": "s3", "region": "mars", "sink": "not a url",
            "headers": {"X-A": "a\r\nX-B: b", "Bad Name": "x", "Content-Length": "1"}}
    resp = kit.control("POST", "/instances", spec)
    assert resp.status_code == 400
    details = resp.json()["details"]
    assert len(details) == 6, details
    assert "not a url" not in resp.text
    gone = kit.control("DELETE", f"/instances/{KP_US}", {"sink": "file:///etc/passwd"})
    assert gone.status_code == 400 and kit.kms("GET", "/keys").status_code == 200


def test_journal_is_strict_json(kit: Kit) -> None:
    """A body with NaN / 1e400 and a token claiming a NaN subject are journalled so the journal stays strict JSON."""
    resp = kit.kms("PUT", "/instance/policies", body=b'{"metadata": NaN, "x": 1e400}')
    assert resp.status_code == 400
    head = base64.urlsafe_b64encode(b'{"alg":"HS256"}').decode().rstrip("=")
    claims = base64.urlsafe_b64encode(b'{"sub": NaN, "exp": Infinity}').decode().rstrip("=")
    kit.http.get("/api/v2/keys", headers={"authorization": f"Bearer {head}.{claims}.sig", "bluemix-instance": KP_US})
    text = kit.control("GET", "/journal").text
    calls = strict_json(text)["calls"]
    assert calls[-2]["body"] == '{"metadata": NaN, "x": 1e400}'
    assert calls[-1]["subject"] is None


@pytest.mark.parametrize("ctype", [None, "Application/X-WWW-Form-Urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED; "
                                   "charset=UTF-8", "text/plain", "application/json"])
def test_journal_redacts_iam_secrets_whatever_the_content_type(kit: Kit, ctype: str | None) -> None:
    """IAM form secrets are redacted in the journal whatever the case of the content type, or without one."""
    form = f"grant_type={APIKEY_GRANT}&apikey={FUNCS}".encode()
    headers = {"content-type": ctype} if ctype else {}
    resp = kit.http.post("/identity/token", content=form, headers=headers)
    assert resp.status_code == (200 if ctype in (None,) or "form" in ctype.lower() else 400)
    kit.http.post("/identity/token", content=json.dumps({"grant_type": APIKEY_GRANT, "apikey": FUNCS}),
                  headers={"content-type": "application/json"})
    journal = kit.control("GET", "/journal?surface=iam").text
    assert FUNCS not in journal
    assert strict_json(journal)["calls"][0]["body"]["apikey"] == "<redacted>"
