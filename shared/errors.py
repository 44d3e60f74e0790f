"""The one error tree of dualauth.

    DualAuthError                      base; `code` is a stable machine-readable name
    ├── ConfigError                    settings invalid (names every bad variable, never a value)
    ├── RequestError                   the caller's mistake: 4xx, never worth a retry
    │   ├── Unauthenticated            401  missing or wrong shared secret / signature
    │   ├── NotFound                   404  functions-framework's own paths (/robots.txt, /favicon.ico)
    │   ├── MethodNotAllowed           405
    │   ├── RequestTimeout             408  body not received within the read deadline
    │   ├── PayloadTooLarge            413
    │   ├── UnsupportedMediaType       415  names the content types we accept
    │   ├── InvalidEvent               400  body or CloudEvent malformed
    │   └── InvalidTarget              400  malformed CRN or instance id
    │       └── RegionNotAllowed       422  well-formed, but outside the region allow-list
    └── UpstreamError                  IBM Cloud refused or did not answer; `retryable` says which
        ├── IamError                   token exchange failed
        ├── KmsError                   KMS error envelope: `status`, `reason_code`, `correlation_id`
        ├── ResourceControllerError    instance lookup failed
        └── EndpointError              no trustworthy KMS endpoint for the instance

Request errors carry the HTTP status the caller gets. Upstream errors carry the upstream status
and whether the same call may succeed later (429, 5xx other than 501, connection trouble); the
response mapping (shared/responses.py) turns retryable ones into 503 so the platform redelivers.
Messages never contain secrets: they are built from codes, names and statuses only. What an
upstream service said in its own words goes to `detail`, which is logged (redacted) but never
sent back to a caller.
"""

from __future__ import annotations

import re

# What IBM's reason and error codes look like (UNAUTHORIZED_ERR, BXNIM0415E); an upstream "code"
# of any other shape is not echoed, the HTTP status stands in for it.
REASON_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


class DualAuthError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.event: dict[str, str | None] = {}  # what was read of the event before this error, for the audit line


class ConfigError(DualAuthError):
    code = "configuration_invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings: " + "; ".join(problems))
        self.problems = problems


class RequestError(DualAuthError):
    status = 400
    code = "bad_request"


class Unauthenticated(RequestError):
    status = 401
    code = "unauthenticated"


class NotFound(RequestError):
    status = 404
    code = "not_found"


class MethodNotAllowed(RequestError):
    status = 405
    code = "method_not_allowed"


class RequestTimeout(RequestError):
    status = 408
    code = "request_timeout"


class PayloadTooLarge(RequestError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(RequestError):
    status = 415
    code = "unsupported_media_type"


class InvalidEvent(RequestError):
    code = "invalid_event"


class InvalidTarget(RequestError):
    code = "invalid_target"


class RegionNotAllowed(InvalidTarget):
    status = 422
    code = "region_not_allowed"


class UpstreamError(DualAuthError):
    code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.detail = detail


class IamError(UpstreamError):
    code = "iam_error"


class KmsError(UpstreamError):
    code = "kms_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason_code: str | None = None,
        correlation_id: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(
            message, status=status, code=reason_code, retryable=retryable, retry_after=retry_after, detail=detail
        )
        self.reason_code = reason_code
        self.correlation_id = correlation_id


class ResourceControllerError(UpstreamError):
    code = "resource_controller_error"


class EndpointError(UpstreamError):
    code = "endpoint_unresolved"

