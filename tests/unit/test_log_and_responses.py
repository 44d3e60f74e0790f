"""Redaction of secrets in log lines, and the outcome/error → status mapping."""

import io
import json

from shared.enforce import Kind, Outcome
from shared.errors import ConfigError, InvalidEvent, KmsError, RegionNotAllowed
from shared.log import JsonLog, Redactor
from shared.responses import reply_for_error, reply_for_outcome


def test_secrets_tokens_and_jwts_are_masked():
    """Configured secrets, bearer tokens, JWTs and apikey=... never reach the log stream."""
    stream = io.StringIO()
    log = JsonLog(Redactor(["super-secret-key", 'quo"ted-secret']), stream)
    log.audit(
        msg="super-secret-key",
        h="Bearer abc.def.ghi",
        jwt="eyJhbGciOi.eyJzdWIiOiJ4.sig",
        form="apikey=zzz&x=1",
        nested={"v": 'quo"ted-secret'},
    )
    line = stream.getvalue()
    record = json.loads(line)
    for secret in ("super-secret-key", "abc.def.ghi", "eyJhbGciOi", "zzz", "quo"):
        assert secret not in line
    assert record["kind"] == "audit" and record["form"].endswith("&x=1")


def test_variable_names_are_not_mistaken_for_secrets():
    """A message naming IBMCLOUD_API_KEY keeps its words; only values after apikey-like keys are masked."""
    redact = Redactor()
    assert redact("IBMCLOUD_API_KEY: required") == "IBMCLOUD_API_KEY: required"
    assert redact('{"apikey": "k-1"}') == '{"apikey": "[REDACTED]"}'
    stream = io.StringIO()
    JsonLog(stream=stream).audit(body='{"apikey": "nested-key-1", "cr_token": "c-2"}')
    assert "nested-key-1" not in stream.getvalue() and "c-2" not in stream.getvalue()


def test_a_secret_that_looks_like_json_leaves_the_line_valid():
    """Secrets "null" and "12345" are masked inside strings only: numbers and nulls stay, the line stays JSON."""
    stream = io.StringIO()
    JsonLog(Redactor(["null", "12345"]), stream).audit(crn=None, duration_ms=123456.5, msg="token 12345 or null")
    record = json.loads(stream.getvalue())
    assert record["crn"] is None and record["duration_ms"] == 123456.5
    assert record["msg"] == "token [REDACTED] or [REDACTED]"


def test_non_json_values_are_logged_as_redacted_text():
    """An object that is not JSON (an exception carrying a secret) is logged as its text, redacted."""
    stream = io.StringIO()
    JsonLog(Redactor(["super-secret-key"]), stream).emit("error", exc=ValueError("bad super-secret-key"))
    assert json.loads(stream.getvalue())["exc"] == "bad [REDACTED]"


def test_outcome_statuses():
    """Done outcomes are 200; transient failures 503 with Retry-After; permanent failures 424."""
    for kind in (Kind.COMPLIANT, Kind.ENABLED, Kind.WOULD_ENABLE, Kind.EXEMPT, Kind.IGNORED):
        assert reply_for_outcome(Outcome(kind, "r"), "c")[0] == 200
    status, body, headers = reply_for_outcome(Outcome(Kind.FAILED, "r", retryable=True, retry_after=1.2), "c")
    assert (status, headers, body["outcome"]) == (503, {"Retry-After": "2"}, "failed")
    assert reply_for_outcome(Outcome(Kind.FAILED, "r", reason_code="UNAUTHORIZED_ERR"), "c")[0] == 424


def test_error_statuses():
    """Request errors keep their status; config errors and bugs are 500 without internals."""
    assert reply_for_error(InvalidEvent("bad"), "c")[0] == 400
    assert reply_for_error(RegionNotAllowed("no"), "c")[0] == 422
    assert reply_for_error(ConfigError(["X: bad"]), "c")[0] == 500
    assert reply_for_error(KmsError("x", retryable=True), "c")[0] == 503
    status, body, _ = reply_for_error(ZeroDivisionError("secret detail"), "c")
    assert status == 500 and "secret detail" not in json.dumps(body)
