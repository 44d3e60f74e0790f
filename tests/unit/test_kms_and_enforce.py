"""KMS request shaping, error parsing and the enforcement use case against a scripted KMS."""

import json

import httpx
import pytest

from shared.crn import parse_crn
from shared.enforce import Enforcer, Kind
from shared.iam import TokenProvider
from shared.kms import KmsClient, dual_auth_state, parse_error, put_dual_auth_request
from shared.retry import RetryPolicy

GUID = "6f1d2c3b-4a59-4e68-9d7c-0b1a2f3e4d5c"
CRN = parse_crn(f"crn:v1:bluemix:public:kms:us-south:a/1a2b3c4d5e6f708192a3b4c5d6e7f809:{GUID}::")
MEDIA = "application/vnd.ibm.kms.policy+json"


def policy(enabled):
    return {
        "metadata": {"collectionType": MEDIA, "collectionTotal": 1},
        "resources": [{"policy_type": "dualAuthDelete", "policy_data": {"enabled": enabled}}],
    }


def test_put_body_is_policy_type_policy_data_for_enable_and_disable():
    """Enable and disable both send one policy_type/policy_data resource under ?policy=dualAuthDelete."""
    for enabled in (True, False):
        req = put_dual_auth_request("https://kp", GUID, enabled, "cid")
        assert (req.method, req.url, req.params) == (
            "PUT",
            "https://kp/api/v2/instance/policies",
            (("policy", "dualAuthDelete"),),
        )
        assert json.loads(req.body) == policy(enabled)
        assert dict(req.headers)["content-type"] == MEDIA and dict(req.headers)["bluemix-instance"] == GUID


def test_state_reads_only_the_dual_auth_entry():
    """Never set (no resources, empty list) is None; other policy types are ignored."""
    assert dual_auth_state({"metadata": {"collectionTotal": 0}}) is None
    assert dual_auth_state({"metadata": {}, "resources": []}) is None
    others = {
        "resources": [
            {"policy_type": "rotation", "policy_data": {"enabled": True}},
            {"policy_type": "metrics", "policy_data": {"enabled": True}},
        ]
    }
    assert dual_auth_state(others) is None
    assert dual_auth_state(policy(True)) is True and dual_auth_state(policy(False)) is False


def test_error_envelope_parsed_by_reason_code():
    """The KMS error envelope gives status, reasons[0].code and the response's correlation id."""
    body = {
        "metadata": {"collectionType": "application/vnd.ibm.kms.error+json", "collectionTotal": 1},
        "resources": [{"errorMsg": "Unauthorized: REDACTED", "reasons": [{"code": "UNAUTHORIZED_ERR", "status": 403}]}],
    }
    err = parse_error(httpx.Response(403, json=body, headers={"correlation-id": "c-9"}), "c-1")
    assert (err.status, err.reason_code, err.correlation_id, err.retryable) == (403, "UNAUTHORIZED_ERR", "c-9", False)
    odd = parse_error(httpx.Response(502, content=b"<html>bad gateway</html>"), "c-1")
    assert (odd.reason_code, odd.retryable, odd.correlation_id) == ("HTTP_502", True, "c-1")


class ScriptedKms:
    """Answers GET/PUT from a script, counting calls; IAM always grants."""

    headers: dict = {}
    raw = None

    def __init__(self, gets, puts=None):
        self.gets, self.puts, self.calls = list(gets), list(puts or []), []

    def __call__(self, request):
        if request.url.path == "/identity/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        self.calls.append(request.method)
        script = self.gets if request.method == "GET" else self.puts
        status, body = script.pop(0)
        if body is not None:
            return httpx.Response(status, json=body, headers=self.headers)
        return httpx.Response(status, content=self.raw or b"", headers=self.headers)


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def enforcer(kms, dry_run=False, exempt=frozenset(), clock=None):
    http = httpx.Client(transport=httpx.MockTransport(kms))
    retry = RetryPolicy(sleep=lambda s: None, max_retries=2)
    tokens = TokenProvider(http, "https://iam", retry, api_key="k", clock=clock or Clock())
    return Enforcer(KmsClient(http, tokens, retry), lambda crn: "https://kp", dry_run=dry_run, exempt=exempt)


def test_never_set_is_enabled_and_read_back():
    """A never-set policy is PUT once and reported enabled only after the GET shows true."""
    kms = ScriptedKms(gets=[(200, {"metadata": {"collectionTotal": 0}}), (200, policy(True))], puts=[(204, None)])
    outcome = enforcer(kms).ensure_enabled(CRN, "cid")
    assert outcome.kind is Kind.ENABLED and outcome.puts == 1 and kms.calls == ["GET", "PUT", "GET"]


def test_already_enabled_sends_no_put():
    """An enabled policy is compliant with zero PUTs."""
    kms = ScriptedKms(gets=[(200, policy(True))])
    assert enforcer(kms).ensure_enabled(CRN, "cid").kind is Kind.COMPLIANT and kms.calls == ["GET"]


def test_put_accepted_but_still_off_is_failed_not_confirmed():
    """PUT 204 followed by a GET still showing false is failed/NOT_CONFIRMED, retryable."""
    kms = ScriptedKms(gets=[(200, policy(False)), (200, policy(False))], puts=[(204, None)])
    outcome = enforcer(kms).ensure_enabled(CRN, "cid")
    assert (outcome.kind, outcome.reason_code, outcome.retryable) == (Kind.FAILED, "NOT_CONFIRMED", True)


def test_put_forbidden_is_failed_with_reason_code():
    """A 403 KMS envelope on PUT is failed with UNAUTHORIZED_ERR, not retryable."""
    env = {"resources": [{"errorMsg": "Unauthorized", "reasons": [{"code": "UNAUTHORIZED_ERR", "status": 403}]}]}
    kms = ScriptedKms(gets=[(200, policy(False))], puts=[(403, env)])
    outcome = enforcer(kms).ensure_enabled(CRN, "cid")
    assert (outcome.kind, outcome.reason_code, outcome.retryable) == (Kind.FAILED, "UNAUTHORIZED_ERR", False)


@pytest.mark.parametrize("retry_after", ["\u00b2", "9" * 400])
def test_odd_retry_after_on_a_503_stays_a_retryable_failure(retry_after):
    """A 503 with an unreadable Retry-After is retried and ends failed + retryable, never an endpoint error."""
    kms = ScriptedKms(gets=[(503, None)] * 3)
    kms.headers = {"retry-after": retry_after.encode()}
    outcome = enforcer(kms).ensure_enabled(CRN, "cid")
    assert (outcome.kind, outcome.reason_code, outcome.retryable) == (Kind.FAILED, "HTTP_503", True)
    assert kms.calls == ["GET"] * 3


def test_too_deep_policy_answer_is_unexpected_not_a_crash():
    """A 200 whose JSON nests 100000 deep is failed/unexpected_response, not a RecursionError."""
    kms = ScriptedKms(gets=[(200, None)])
    kms.raw = b"[" * 100_000 + b"]" * 100_000
    outcome = enforcer(kms).ensure_enabled(CRN, "cid")
    assert (outcome.kind, outcome.reason_code) == (Kind.FAILED, "unexpected_response")


def test_a_redirect_is_no_answer():
    """A 302 carrying an "enabled" body is failed (HTTP_302, not retried), never compliant; it is not followed."""
    kms = ScriptedKms(gets=[(302, policy(True))])
    outcome = enforcer(kms).ensure_enabled(CRN, "cid")
    assert (outcome.kind, outcome.reason_code, outcome.retryable) == (Kind.FAILED, "HTTP_302", False)
    assert kms.calls == ["GET"]


def test_dry_run_and_exempt_send_no_put():
    """Dry run reports would_enable after one GET; an exempt instance is not even read."""
    kms = ScriptedKms(gets=[(200, policy(False))])
    assert enforcer(kms, dry_run=True).ensure_enabled(CRN, "cid").kind is Kind.WOULD_ENABLE and kms.calls == ["GET"]
    kms = ScriptedKms(gets=[])
    assert enforcer(kms, exempt=frozenset({GUID})).ensure_enabled(CRN, "cid").kind is Kind.EXEMPT and kms.calls == []


def test_exemption_holds_for_any_crn_naming_the_same_guid():
    """An exempt GUID stays exempt when the event's CRN differs in cname, ctype, account or GUID case."""
    from dataclasses import replace

    kms = ScriptedKms(gets=[])
    unit = enforcer(kms, exempt=frozenset({GUID}))
    for variant in (
        replace(CRN, cname="staging"),
        replace(CRN, ctype="private"),
        replace(CRN, account="deadbeef"),
        replace(CRN, instance=GUID.upper()),
    ):
        assert unit.ensure_enabled(variant, "cid").kind is Kind.EXEMPT
    assert kms.calls == []


def test_401_on_an_old_token_refreshes_once():
    """A 401 on a token old enough to have expired fetches a new one and retries once; a second 401 fails."""
    clock = Clock()
    kms = ScriptedKms(gets=[(200, policy(True)), (401, {}), (200, policy(True))])
    unit = enforcer(kms, clock=clock)
    unit.ensure_enabled(CRN, "cid")
    clock.now += 120
    assert unit.ensure_enabled(CRN, "cid").kind is Kind.COMPLIANT and kms.calls == ["GET", "GET", "GET"]
    kms.gets = [(401, {}), (401, {})]
    clock.now += 120
    outcome = unit.ensure_enabled(CRN, "cid")
    assert outcome.kind is Kind.FAILED and outcome.reason_code == "HTTP_401"


def test_401_on_a_fresh_token_is_not_retried():
    """A 401 on a token fetched moments ago means no access: failed at once, no second token request."""
    kms = ScriptedKms(gets=[(401, {})])
    outcome = enforcer(kms).ensure_enabled(CRN, "cid")
    assert outcome.kind is Kind.FAILED and kms.calls == ["GET"]


def test_instance_locks_serialise_and_leave_no_entries():
    """Two holders of one GUID run one after another; the table is empty once both leave."""
    import threading
    import time

    from shared.enforce import InstanceLocks

    locks, order = InstanceLocks(), []

    def worker(name):
        with locks.hold(GUID.upper() if name == "b" else GUID, timeout=5) as held:
            order.append((name, "in", held))
            time.sleep(0.05)
            order.append((name, "out", held))

    threads = [threading.Thread(target=worker, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [step for _, step, _ in order] == ["in", "out", "in", "out"] and len(locks) == 0


def test_instance_lock_wait_is_bounded():
    """A holder that waits past its timeout is told so, and the table still empties."""
    from shared.enforce import InstanceLocks

    locks = InstanceLocks()
    with locks.hold(GUID, timeout=1) as first:
        with locks.hold(GUID, timeout=0.05) as second:
            assert first is True and second is False
    assert len(locks) == 0


def test_malformed_policy_answers_are_errors_not_crashes():
    """policy_data that is not an object, or resources that are not objects, give a KmsError."""
    import pytest

    from shared.errors import KmsError

    conflicting = {"resources": [policy(True)["resources"][0], policy(False)["resources"][0]]}
    for bad in (
        {"resources": [{"policy_type": "dualAuthDelete", "policy_data": "x"}]},
        {"resources": "x"},
        {"resources": ""},
        {"resources": {}},
        [1],
        conflicting,
    ):
        with pytest.raises(KmsError):
            dual_auth_state(bad)
    assert dual_auth_state({"resources": [1, "x", None]}) is None
