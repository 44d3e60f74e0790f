"""Bounded retries for IBM Cloud calls: which failures to retry, and how long to wait.

Retried: 429, 5xx other than 501, and connection trouble — what IBM's Go KMS client retries.
Waits grow exponentially with full jitter, never beyond `cap`; a `Retry-After` header (seconds
or HTTP date) overrides the wait; nothing waits past the total budget, which is kept below the
platform's delivery timeout so that the platform, not us, owns the long retry.
Written here instead of taking tenacity/stamina: the loop needs the response's Retry-After and
must hand the remaining wait back to the caller (for our own 503's Retry-After), ~40 lines.
Tests pass `sleep` and `clock` in, so no test waits for real.

The budget also covers the whole request: the edge opens a `request_deadline`, and every retry
loop and every call's timeout stops at it, so a slow but healthy service cannot push one delivery
past the platform's own timeout (Event Notifications waits 10 s).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

DELTA_SECONDS = re.compile(r"[0-9]{1,9}")  # RFC 9110 delay-seconds, ASCII digits only


def is_retryable_status(status: int) -> bool:
    return status == 429 or (500 <= status <= 599 and status != 501)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def json_of(response: httpx.Response) -> Any:
    """The JSON of an upstream answer, or None when it is not JSON or nested too deep to read."""
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


_deadline: ContextVar[float | None] = ContextVar("dualauth_deadline", default=None)


@contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Every IBM Cloud call made inside ends, retries included, within `seconds` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left before the current request's deadline (at least 0), or None outside a request."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def call_timeout(client: httpx.Client) -> float:
    """The timeout for `client`'s next call: its own, cut to what is left of the request's deadline."""
    default = client.timeout.read or 5.0
    left = time_left()
    return default if left is None else max(0.05, min(default, left))


@dataclass
class RetryPolicy:
    max_retries: int = 4
    budget: float = 8.0
    base: float = 0.5
    cap: float = 4.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def start(self) -> Attempts:
        deadline = self.clock() + self.budget
        request_deadline = _deadline.get()
        if request_deadline is not None:
            deadline = min(deadline, self.clock() + (request_deadline - time.monotonic()))
        return Attempts(self, deadline)


@dataclass
class Attempts:
    """One call's retry state: `wait()` sleeps before the next try, or says there is none."""

    policy: RetryPolicy
    deadline: float
    retries: int = 0

    def wait(self, retry_after: float | None) -> bool:
        policy = self.policy
        if self.retries >= policy.max_retries:
            return False
        delay = (
            retry_after
            if retry_after is not None
            else policy.rng.uniform(0, min(policy.cap, policy.base * 2**self.retries))
        )
        if policy.clock() + delay > self.deadline:
            return False
        self.retries += 1
        policy.sleep(delay)
        return True


def send(policy: RetryPolicy, do: Callable[[], httpx.Response]) -> httpx.Response:
    """Call `do` until it gives a response not worth retrying, or retries run out.

    Returns the last response (possibly a retryable status, for the caller to report) and
    re-raises the last httpx.TransportError when the connection never worked.
    """
    attempts = policy.start()
    while True:
        try:
            response = do()
        except httpx.TransportError:
            if attempts.wait(None):
                continue
            raise
        if not is_retryable_status(response.status_code):
            return response
        if not attempts.wait(parse_retry_after(response.headers.get("retry-after"))):
            return response
