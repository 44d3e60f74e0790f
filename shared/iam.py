"""IAM token exchange: API key or trusted-profile compute-resource token → bearer access token.

The token is cached and refreshed once 80 % of its lifetime has passed, timed on the local
monotonic clock from the moment it arrived (`expires_in`), never from IAM's absolute
`expiration`, so a skewed local wall clock cannot make us use an expired token. One token
request is in flight at a time: callers that hold no usable token wait for it; callers whose
token is still valid keep using it while another thread refreshes. A KMS 401 drops the token only
when it is old enough to have expired (see MIN_AGE_FOR_REFRESH).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from shared.errors import REASON_CODE, IamError
from shared.retry import RetryPolicy, call_timeout, is_retryable_status, json_of, parse_retry_after, send, time_left

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
CR_TOKEN_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"  # noqa: S105 - a grant type
REFRESH_FRACTION = 0.8
EXPIRY_MARGIN = 10.0
MAX_LIFETIME = 86_400  # IAM tokens live an hour; a larger expires_in is trusted only up to a day
# KMS answers 401 both for an expired token and for a caller without access to the instance.
# A token younger than this is not expired, so its 401 means "no access": refreshing it would only
# let forged events for unknown instances turn into one IAM token exchange each.
MIN_AGE_FOR_REFRESH = 60.0


class TokenProvider:
    def __init__(
        self,
        http: httpx.Client,
        iam_url: str,
        retry: RetryPolicy,
        *,
        api_key: str | None = None,
        trusted_profile_id: str | None = None,
        cr_token_file: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = iam_url.rstrip("/") + "/identity/token"
        self._retry = retry
        self._api_key = api_key
        self._profile_id = trusted_profile_id
        self._cr_token_file = cr_token_file
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._fetched_at = 0.0
        self._refresh_at = 0.0
        self._expires_at = 0.0

    def token(self) -> str:
        now = self._clock()
        if self._token and now < self._refresh_at:
            return self._token
        usable = self._token is not None and now < self._expires_at
        if usable:
            if not self._lock.acquire(blocking=False):
                assert self._token is not None
                return self._token  # another thread is refreshing; ours is still valid
        elif not self._acquire():  # behind another thread's token request, no longer than the request may last
            raise IamError("another token request did not finish in time", retryable=True)
        try:
            if self._token and self._clock() < self._refresh_at:
                return self._token
            try:
                self._fetch()
            except IamError:
                if self._token and self._clock() < self._expires_at:
                    return self._token
                raise
            assert self._token is not None
            return self._token
        finally:
            self._lock.release()

    def invalidate(self, token: str) -> bool:
        """KMS said 401 to `token`: forget it if it may have expired; True when a retry may help.

        Waits for a token request running in another thread no longer than this request may last
        (then no retry: the 401 stands, and the platform redelivers).
        """
        if not self._acquire():
            return False
        try:
            if self._token != token:
                return True  # already replaced by another thread: retry with the new one
            if self._clock() - self._fetched_at < MIN_AGE_FOR_REFRESH:
                return False
            self._token = None
            self._refresh_at = self._expires_at = 0.0
            return True
        finally:
            self._lock.release()

    def _acquire(self) -> bool:
        """Take the lock, waiting at most until the current request's deadline (forever outside a request)."""
        left = time_left()
        return self._lock.acquire(timeout=-1 if left is None else left)

    def _form(self) -> dict[str, str]:
        if self._api_key:
            return {"grant_type": APIKEY_GRANT, "apikey": self._api_key}
        assert self._profile_id and self._cr_token_file
        try:
            cr_token = Path(self._cr_token_file).read_text().strip()
        except OSError as exc:
            raise IamError(
                f"compute-resource token file unreadable ({exc.strerror})", code="cr_token_missing"
            ) from None
        return {"grant_type": CR_TOKEN_GRANT, "cr_token": cr_token, "profile_id": self._profile_id}

    def _fetch(self) -> None:
        form = self._form()
        started = self._clock()
        try:
            response = send(
                self._retry,
                lambda: self._http.post(
                    self._url,
                    data=form,
                    headers={"Accept": "application/json"},
                    timeout=call_timeout(self._http),
                ),
            )
        except (httpx.TransportError, httpx.DecodingError) as exc:  # no answer, or one whose encoding is broken
            raise IamError(f"IAM unreachable or unreadable ({type(exc).__name__})", retryable=True) from None
        if response.status_code != 200:
            raise _iam_error(response)
        body = _json(response)
        token, lifetime = body.get("access_token"), body.get("expires_in")
        if not _usable_token(token) or type(lifetime) is not int or lifetime <= 0:
            raise IamError("IAM answered 200 without a usable access_token/expires_in", retryable=True)
        assert isinstance(token, str)
        lifetime = min(lifetime, MAX_LIFETIME)
        self._token = token
        self._fetched_at = started
        self._refresh_at = started + REFRESH_FRACTION * lifetime
        self._expires_at = started + max(0.0, lifetime - EXPIRY_MARGIN)


def _usable_token(token: object) -> bool:
    """A token we can send in a header: a non-empty string of visible ASCII."""
    return isinstance(token, str) and bool(token) and all("!" <= char <= "~" for char in token)


def _json(response: httpx.Response) -> dict[str, Any]:
    body = json_of(response)
    return body if isinstance(body, dict) else {}


def _iam_error(response: httpx.Response) -> IamError:
    body = _json(response)
    code = body.get("errorCode")
    code = code if isinstance(code, str) and REASON_CODE.fullmatch(code) else f"iam_http_{response.status_code}"
    message = body.get("errorMessage")
    return IamError(
        f"IAM token request failed: HTTP {response.status_code} {code}",
        status=response.status_code,
        code=code,
        detail=message if isinstance(message, str) else None,
        retryable=is_retryable_status(response.status_code),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )
