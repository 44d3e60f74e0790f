"""Bounded retries for IBM Cloud calls: which failures to retry, and how long to wait.

Retried: 429, 5xx other than 501, and connection trouble — what IBM's Go KMS client retries.
Waits grow exponentially with full jitter, never beyond `cap`; a `Retry-After` header (seconds
or HTTP date) overrides the wait; nothing waits past the total budget, which is kept below the
platform's delivery timeout so that the platform, not us, owns the long retry.
Written here instead of taking tenacity/stamina: the loop needs the response's Retry-After and
must hand the remaining wait back to the caller (for our own 503's Retry-After), ~40 lines.
Tests pass `sleep` and `clock` in, so no test waits for real.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx


def is_retryable_status(status: int) -> bool:
    return status == 429 or (500 <= status <= 599 and status != 501)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


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
        return Attempts(self, self.clock() + self.budget)


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
