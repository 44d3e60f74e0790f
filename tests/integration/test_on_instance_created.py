"""on_instance_created over real HTTP: function and emulator processes on 127.0.0.1."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.conftest import audit_lines, post_json
from tests.integration.kit import (
    ACCOUNT,
    NEW_GUID,
    dual_auth_enabled,
    fault,
    instances,
    journal,
    lifecycle_event,
    policy_calls,
    wait_for_delivery,
)


@pytest.mark.parametrize("which", ["kms-us-south", "hs-crypto-us-south"])
def test_instance_ends_enabled(emulator, functions, which):
    """A create event for a Key Protect or an HPCS instance ends with dualAuthDelete enabled and read back."""
    fn = functions.get()
    instance = instances(emulator)[which]
    assert dual_auth_enabled(emulator, instance) is None
    r = post_json(fn.url, lifecycle_event(instance["crn"]))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "enabled"
    assert ("2027-03-28" in r.json().get("warning", "")) is (which == "hs-crypto-us-south")
    assert dual_auth_enabled(emulator, instance) is True
    assert len(policy_calls(emulator, "PUT")) == 1


def test_redelivery_sends_zero_puts(emulator, functions):
    """The same event delivered twice: the second answers compliant and sends no PUT."""
    fn = functions.get()
    crn = instances(emulator)["kms-eu-de"]["crn"]
    assert post_json(fn.url, lifecycle_event(crn)).json()["outcome"] == "enabled"
    httpx.delete(emulator.url + "/emulator/journal")
    second = post_json(fn.url, lifecycle_event(crn))
    assert second.status_code == 200 and second.json()["outcome"] == "compliant"
    assert policy_calls(emulator, "PUT") == [] and len(policy_calls(emulator, "GET")) == 1


def test_reader_credential_is_failed_with_reason(emulator, functions):
    """With a Reader-only API key the outcome is failed with KMS's UNAUTHORIZED_ERR, answered 503 so the platform
    tries again (KMS's 401 may be access not yet granted), and the audit line keeps the reason."""
    fn = functions.get(IBMCLOUD_API_KEY="emu-apikey-carol-reader")
    crn = instances(emulator)["kms-us-south"]["crn"]
    r = post_json(fn.url, lifecycle_event(crn))
    assert r.status_code == 503 and r.headers["retry-after"].isdigit(), r.text
    body = r.json()
    assert body["outcome"] == "failed" and body["reason_code"] == "UNAUTHORIZED_ERR"
    audit = audit_lines(fn)[-1]
    assert audit["reason_code"] == "UNAUTHORIZED_ERR" and "does not have access" in audit["detail"]
    assert policy_calls(emulator, "PUT") == []


@pytest.mark.parametrize(
    ("service", "type_"),
    [
        ("cloud-object-storage", "com.ibm.cloud.resource-lifecycle:instance.create"),
        ("kms", "com.ibm.cloud.resource-lifecycle:instance.create_failure"),
        ("kms", "com.ibm.cloud.resource-lifecycle:instance.update"),
    ],
)
def test_not_ours_is_ignored_with_2xx(emulator, functions, service, type_):
    """A COS instance, a create_failure and an update are answered 200 ignored, with no KMS call."""
    fn = functions.get()
    crn = f"crn:v1:bluemix:public:{service}:us-south:a/{ACCOUNT}:{NEW_GUID}::"
    r = post_json(fn.url, lifecycle_event(crn, type_))
    assert r.status_code == 200 and r.json()["outcome"] == "ignored" and r.json()["reason"]
    assert journal(emulator) == []


def _bad_inputs() -> list[tuple[str, dict[str, str], bytes]]:
    good = lifecycle_event(f"crn:v1:bluemix:public:kms:us-south:a/{ACCOUNT}:{NEW_GUID}::")
    no_source = {k: v for k, v in good.items() if k != "source"}

    def with_crn(crn: str) -> bytes:
        event = lifecycle_event(crn)
        return json.dumps(event).encode()

    js = {"content-type": "application/json"}
    return [
        ("empty body", js, b""),
        ("JSON array", js, b'[{"instance_crn":"x"}]'),
        ("plain text", {"content-type": "text/plain"}, b"instance=abc"),
        ("truncated JSON", js, b'{"instance_crn":'),
        ("CloudEvent without source", js, json.dumps(no_source).encode()),
        (
            "binary CloudEvent without ce-id",
            {"ce-specversion": "1.0", "ce-type": "dev.knative.kafka.event", "ce-source": "/k", **js},
            b'{"action":"kms.instance.create"}',
        ),
        ("malformed CRN", js, with_crn("crn:v1:bluemix")),
        ("region outside the allow-list", js, with_crn(f"crn:v1:bluemix:public:kms:mars-1:a/{ACCOUNT}:{NEW_GUID}::")),
        ("instance id with CR/LF", js, with_crn(f"crn:v1:bluemix:public:kms:us-south:a/{ACCOUNT}:{NEW_GUID}\r\nX::")),
        ("form-encoded", {"content-type": "application/x-www-form-urlencoded"}, b"a=b"),
        ("non-UTF-8", js, b'{"crn": "\xff"}'),
    ]


@pytest.mark.parametrize(("name", "headers", "payload"), _bad_inputs(), ids=[b[0] for b in _bad_inputs()])
def test_bad_input_is_a_4xx_json_error_without_outbound_calls(emulator, functions, name, headers, payload):
    """Bad input gets a 4xx JSON error that echoes no request header, and no call reaches IBM Cloud."""
    fn = functions.get()
    marker = "X-Trace-Secret-Value-123"
    r = httpx.post(fn.url, content=payload, headers={**headers, "authorization": f"Bearer {marker}", "x-probe": marker})
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] and marker not in r.text
    assert journal(emulator) == []


def test_region_allow_list_is_enforced(emulator, functions):
    """A region outside DUALAUTH_ALLOWED_REGIONS is a 422, audited with the event's CRN and id; no call is made."""
    fn = functions.get(DUALAUTH_ALLOWED_REGIONS="us-south")
    event = lifecycle_event(instances(emulator)["kms-eu-de"]["crn"])
    r = post_json(fn.url, event)
    assert r.status_code == 422 and r.json()["error"] == "region_not_allowed"
    assert journal(emulator) == []
    audit = audit_lines(fn)[-1]
    assert audit["instance_crn"] == instances(emulator)["kms-eu-de"]["crn"] and audit["event_id"] == event["id"]


def test_shared_secret_header(emulator, functions):
    """With DUALAUTH_EVENT_TOKEN set, a missing or wrong token is 401 and the right one is accepted."""
    fn = functions.get(DUALAUTH_EVENT_TOKEN="en-shared-secret-1")
    event = lifecycle_event(instances(emulator)["kms-us-south"]["crn"])
    assert post_json(fn.url, event).status_code == 401
    wrong = post_json(fn.url, event, {"authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "en-shared-secret-1" not in wrong.text
    assert journal(emulator) == []
    assert post_json(fn.url, event, {"authorization": "Bearer en-shared-secret-1"}).json()["outcome"] == "enabled"
    assert "en-shared-secret-1" not in fn.output()


def test_503_twice_then_enabled(emulator, functions):
    """KMS answering the PUT 503 twice, then normally, ends enabled after three PUTs."""
    fn = functions.get()
    fault(emulator, method="PUT", path="/api/v2/instance/policies", status=503, times=2)
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.json()["outcome"] == "enabled" and len(policy_calls(emulator, "PUT")) == 3


def test_429_with_retry_after_waits_then_enabled(emulator, functions):
    """A 429 with Retry-After: 1 on the PUT is waited out and the instance ends enabled."""
    fn = functions.get()
    fault(emulator, method="PUT", path="/api/v2/instance/policies", status=429, headers={"Retry-After": "1"}, times=1)
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.json()["outcome"] == "enabled" and len(policy_calls(emulator, "PUT")) == 2


def test_501_is_not_retried(emulator, functions):
    """A 501 on the PUT is not retried: one PUT, outcome failed, answered 424."""
    fn = functions.get()
    fault(emulator, method="PUT", path="/api/v2/instance/policies", status=501, times=5)
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.status_code == 424 and r.json()["outcome"] == "failed"
    assert len(policy_calls(emulator, "PUT")) == 1


def test_persistent_503_asks_the_platform_to_redeliver(emulator, functions):
    """KMS failing throughout gives 503 with Retry-After, so the platform redelivers."""
    fn = functions.get(DUALAUTH_RETRY_MAX="1")
    fault(emulator, method="PUT", path="/api/v2/instance/policies", status=503, times=10)
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.status_code == 503 and r.headers["retry-after"].isdigit() and r.json()["outcome"] == "failed"


def test_request_shaping_matches_the_spec(emulator, functions):
    """GET and PUT carry the spec's method, path, query, headers and body, for enable."""
    fn = functions.get()
    instance = instances(emulator)["kms-us-south"]
    post_json(fn.url, lifecycle_event(instance["crn"]))
    get, put = policy_calls(emulator, "GET")[0], policy_calls(emulator, "PUT")[0]
    for call in (get, put):
        headers = {k.lower(): v for k, v in call["headers"].items()}
        assert call["path"] == "/api/v2/instance/policies" and call["query"] in (
            "policy=dualAuthDelete",
            {"policy": "dualAuthDelete"},
        )
        assert headers["authorization"].startswith("Bearer ")
        assert headers["bluemix-instance"] == instance["guid"]
    put_headers = {k.lower(): v for k, v in put["headers"].items()}
    assert put_headers["content-type"] == "application/vnd.ibm.kms.policy+json"
    body = put["body"] if isinstance(put["body"], dict) else json.loads(put["body"])
    assert body == {
        "metadata": {"collectionType": "application/vnd.ibm.kms.policy+json", "collectionTotal": 1},
        "resources": [{"policy_type": "dualAuthDelete", "policy_data": {"enabled": True}}],
    }


def provision(emulator, sink: str, **fields):
    body = {"service": "kms", "region": "us-south", "name": "t", "event": "en", "sink": sink, **fields}
    return httpx.post(emulator.url + "/emulator/instances", json=body).json()


def test_provisioned_instance_event_from_the_emulator_is_enforced(emulator, functions):
    """An instance provisioned in the emulator sends its AT event to the function, which enables the policy."""
    fn = functions.get()
    created = provision(emulator, fn.url + "/", region="eu-de", event="at")
    delivery = wait_for_delivery(emulator, created["delivery"])
    assert delivery["attempts"][-1]["status"] == 200
    assert dual_auth_enabled(emulator, created["instance"]) is True


def test_misconfigured_function_fails_at_startup_naming_every_variable():
    """A function started with bad settings exits before serving, logging every bad variable (no values)."""
    from stack import start_function

    env = {
        "IBMCLOUD_API_KEY": "",
        "DRY_RUN": "maybe",
        "IBMCLOUD_IAM_URL": "http://iam.example.com",
        "DUALAUTH_EVENT_TOKEN": "tok-not-to-be-logged",
    }
    with pytest.raises(RuntimeError) as err:
        start_function("on_instance_created", env)
    text = str(err.value)
    assert '"kind": "startup_failed"' in text
    for name in ("IBMCLOUD_API_KEY", "DRY_RUN", "IBMCLOUD_IAM_URL"):
        assert name in text
    assert "tok-not-to-be-logged" not in text


def test_platform_redelivery_after_503_ends_enabled(emulator, functions):
    """KMS down for the first delivery: the function answers 503, the platform redelivers, the instance ends enabled."""
    fn = functions.get(DUALAUTH_RETRY_MAX="0")
    fault(emulator, method="PUT", path="/api/v2/instance/policies", status=503, times=1)
    created = provision(emulator, fn.url + "/")
    delivery = wait_for_delivery(emulator, created["delivery"])
    assert [a["status"] for a in delivery["attempts"]] == [503, 200]
    assert dual_auth_enabled(emulator, created["instance"]) is True


def test_a_credential_iam_refuses_is_a_424_with_iams_code(emulator, functions):
    """An API key IAM does not know: 424 (redelivery cannot help), IAM's code in reply and audit, no KMS call."""
    fn = functions.get(IBMCLOUD_API_KEY="emu-apikey-revoked-long-ago")
    r = post_json(fn.url, lifecycle_event(instances(emulator)["kms-us-south"]["crn"]))
    assert r.status_code == 424 and r.json()["outcome"] == "failed" and r.json()["reason_code"] == "BXNIM0415E"
    assert "emu-apikey-revoked-long-ago" not in r.text + fn.output()
    assert audit_lines(fn)[-1]["reason_code"] == "BXNIM0415E" and policy_calls(emulator, "GET") == []


def test_trusted_profile_without_a_token_file_fails_at_startup(tmp_path):
    """A trusted profile whose compute-resource token file is missing stops the process at startup, not per event."""
    from stack import start_function

    env = {"IBMCLOUD_TRUSTED_PROFILE_ID": "Profile-1", "IBMCLOUD_CR_TOKEN_FILE": str(tmp_path / "missing")}
    with pytest.raises(RuntimeError) as err:
        start_function("on_instance_created", env)
    assert '"kind": "startup_failed"' in str(err.value) and "IBMCLOUD_CR_TOKEN_FILE: not readable" in str(err.value)
