"""The shared HTTP edge: method and size checks, JSON for every failure, one audit line, a logged bug."""

import io
import json

import flask

from shared.config import Settings
from shared.edge import serve
from shared.enforce import Kind, Outcome
from shared.errors import ConfigError
from shared.log import JsonLog, Redactor
from shared.runtime import build_runtime

app = flask.Flask(__name__)
SETTINGS = Settings.from_env({"IBMCLOUD_API_KEY": "edge-test-api-key", "DUALAUTH_MAX_BODY_BYTES": "64"})


def run(flow, method="POST", data=b"{}", factory=None):
    stream = io.StringIO()
    runtime = build_runtime(SETTINGS, log=JsonLog(Redactor(SETTINGS.secrets()), stream))
    with app.test_request_context("/", method=method, data=data, content_type="application/json"):
        response = serve(flask.request, "t", lambda rt, inbound: None, flow, factory or (lambda: runtime))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return response, lines


def test_success_writes_one_audit_line():
    """A flow's outcome becomes a 200 JSON reply and exactly one audit line with its fields."""
    response, lines = run(lambda rt, inbound: Outcome(Kind.COMPLIANT, "on", "crn:x", event_id="e1"))
    assert response.status_code == 200 and response.get_json()["outcome"] == "compliant"
    assert len(lines) == 1 and lines[0]["outcome"] == "compliant" and lines[0]["event_id"] == "e1"
    assert lines[0]["correlation_id"] == response.get_json()["correlation_id"] and lines[0]["duration_ms"] >= 0


def test_wrong_method_and_oversize_body():
    """GET is a JSON 405; a body over the limit is a JSON 413; the flow never runs."""

    def flow(rt, inbound):
        raise AssertionError("flow must not run")

    wrong_method = run(flow, method="GET")[0]
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"
    response, lines = run(flow, data=b"x" * 65)
    assert response.status_code == 413 and response.get_json()["error"] == "payload_too_large"
    assert lines[0]["outcome"] == "rejected"


def test_a_bug_is_a_json_500_and_a_redacted_traceback():
    """An unexpected exception gives a generic JSON 500; the log has the traceback without the API key."""

    def flow(rt, inbound):
        raise ZeroDivisionError("boom with edge-test-api-key inside")

    response, lines = run(flow)
    assert response.status_code == 500 and response.get_json()["error"] == "internal_error"
    assert "boom" not in response.get_data(as_text=True)
    error = next(line for line in lines if line["kind"] == "error")
    assert "ZeroDivisionError" in error["traceback"] and "edge-test-api-key" not in json.dumps(lines)


def test_invalid_settings_are_a_500_naming_the_variable():
    """Invalid settings answer 500 with the bad variable's name, in JSON."""

    def factory():
        raise ConfigError(["IBMCLOUD_API_KEY: required"])

    with app.test_request_context("/", method="POST", data=b"{}"):
        response = serve(flask.request, "t", lambda rt, i: None, lambda rt, i: None, factory)
    assert response.status_code == 500 and "IBMCLOUD_API_KEY" in response.get_json()["message"]


def test_the_flow_sees_the_request_deadline_and_its_errors_come_back():
    """The flow runs with the request's deadline set, and an exception it raises reaches the edge's mapping."""
    from shared.errors import InvalidEvent
    from shared.retry import time_left

    seen = []

    def flow(rt, inbound):
        seen.append(time_left())
        raise InvalidEvent("bad")

    response, _ = run(flow)
    assert response.status_code == 400 and seen[0] is not None and 0 < seen[0] <= SETTINGS.retry_budget
