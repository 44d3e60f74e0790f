"""The one mapping from an Outcome or an error to an HTTP status, JSON body and headers.

| what happened                                   | status | the platform then        |
|-------------------------------------------------|--------|--------------------------|
| compliant / enabled / would_enable / exempt      | 200    | is done                  |
| ignored (not an event for us)                    | 200    | is done                  |
| failed, transient (KMS/IAM 429, 5xx, timeout)    | 503 + Retry-After | redelivers    |
| failed, KMS 401 (expired token or no access yet) | 503 + Retry-After | redelivers |
| failed, permanent (e.g. KMS 403, 404, 501)        | 424    | gives up; the audit line keeps the reason |
| caller's mistake (bad body, CRN, content type)   | 400 / 405 / 408 / 413 / 415 / 422 | gives up |
| missing or wrong shared secret / signature       | 401    | gives up                 |
| our own settings invalid                         | 500    | redelivers; logs name the bad variables |
| a bug                                            | 500    | redelivers               |
"""

from __future__ import annotations

import math
from typing import Any

from shared.enforce import Kind, Outcome
from shared.errors import DualAuthError, MethodNotAllowed, RequestError, UpstreamError

DEFAULT_RETRY_AFTER = 5
MAX_RETRY_AFTER = 300  # an upstream asking for hours is not passed on as is
Reply = tuple[int, dict[str, Any], dict[str, str]]


def _retry_after(seconds: float | None) -> dict[str, str]:
    wait = seconds if seconds is not None else DEFAULT_RETRY_AFTER
    return {"Retry-After": str(min(MAX_RETRY_AFTER, max(1, math.ceil(wait))))}


def outcome_status(outcome: Outcome) -> int:
    if outcome.kind is not Kind.FAILED:
        return 200
    return 503 if outcome.retryable else 424


def reply_for_outcome(outcome: Outcome, correlation_id: str) -> Reply:
    status = outcome_status(outcome)
    headers = _retry_after(outcome.retry_after) if status == 503 else {}
    return status, {**outcome.to_json(), "correlation_id": correlation_id}, headers


def reply_for_error(exc: BaseException, correlation_id: str) -> Reply:
    if not isinstance(exc, DualAuthError):  # a bug: no detail leaves the process
        return (
            500,
            {"error": "internal_error", "message": "unexpected error; see logs", "correlation_id": correlation_id},
            {},
        )
    body = {"error": exc.code, "message": exc.message, "correlation_id": correlation_id}
    if isinstance(exc, MethodNotAllowed):
        return exc.status, body, {"Allow": "POST"}  # RFC 9110: a 405 names the methods that are allowed
    if isinstance(exc, RequestError):
        return exc.status, body, {}
    if isinstance(exc, UpstreamError):
        return (503, body, _retry_after(exc.retry_after)) if exc.retryable else (424, body, {})
    return 500, body, {}  # ConfigError and the like: ours to fix, worth a redelivery once fixed
