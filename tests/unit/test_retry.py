"""Retry policy: the right statuses, bounded count and budget, Retry-After honoured."""

import httpx
import pytest

from shared.retry import RetryPolicy, is_retryable_status, parse_retry_after, send


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def policy(clock, **kw):
    return RetryPolicy(sleep=clock.sleep, clock=clock, **kw)


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (501, False),
        (400, False),
        (401, False),
        (404, False),
        (200, False),
    ],
)
def test_retryable_statuses(status, retry):
    """429 and 5xx other than 501 are retried; other statuses are not."""
    assert is_retryable_status(status) is retry


def test_retry_after_forms():
    """Retry-After is read as seconds or as an HTTP date; garbage is ignored."""
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0) == 6.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "9" * 400, "-1", "1.5", "Fri, 31 Dec 99999 23:59:59 GMT"])
def test_odd_retry_after_is_ignored(value):
    """Unicode digits, huge or signed numbers and impossible dates are not delay-seconds: ignored, no exception."""
    assert parse_retry_after(value) is None


def responses(*statuses, retry_after=None):
    queue = list(statuses)
    calls = []

    def do():
        calls.append(1)
        status = queue.pop(0)
        headers = {"retry-after": retry_after} if retry_after else {}
        return httpx.Response(status, headers=headers)

    return do, calls


def test_503_twice_then_success():
    """Two 503s then 204: three calls, two jittered waits within the cap."""
    clock = FakeClock()
    do, calls = responses(503, 503, 204)
    assert send(policy(clock), do).status_code == 204
    assert len(calls) == 3 and len(clock.sleeps) == 2 and all(0 <= s <= 4 for s in clock.sleeps)


def test_429_waits_retry_after():
    """429 with Retry-After: 1 waits exactly one second before retrying."""
    clock = FakeClock()
    do, _ = responses(429, 204, retry_after="1")
    assert send(policy(clock), do).status_code == 204 and clock.sleeps == [1.0]


def test_501_not_retried():
    """501 is returned at once with no wait."""
    clock = FakeClock()
    do, calls = responses(501, 204)
    assert send(policy(clock), do).status_code == 501 and len(calls) == 1 and clock.sleeps == []


def test_retries_are_bounded_by_count():
    """A service that always answers 503 is called max_retries + 1 times."""
    clock = FakeClock()
    do, calls = responses(*([503] * 10))
    assert send(policy(clock, max_retries=3), do).status_code == 503 and len(calls) == 4


def test_retry_after_beyond_budget_gives_up_at_once():
    """A Retry-After longer than the remaining budget ends the retries with no wait."""
    clock = FakeClock()
    do, _ = responses(429, 204, retry_after="30")
    assert send(policy(clock, budget=8.0), do).status_code == 429 and clock.sleeps == []


def test_connection_errors_retried_then_raised():
    """Connection errors are retried and, when they persist, re-raised."""
    clock = FakeClock()
    calls = []

    def do():
        calls.append(1)
        raise httpx.ConnectError("refused")

    with pytest.raises(httpx.ConnectError):
        send(policy(clock, max_retries=2), do)
    assert len(calls) == 3


def test_the_transport_ends_a_trickled_answer_at_the_request_deadline():
    """An answer trickled a byte every 0.1 s (each read inside the 5 s timeout) ends as a timeout at the deadline."""
    import socket
    import threading
    import time

    from shared.retry import request_deadline
    from shared.transport import build

    listener = socket.create_server(("127.0.0.1", 0))
    sent = []

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                for _ in range(100):  # 10 s in all, if nobody hangs up
                    conn.sendall(b"x")
                    sent.append(1)
                    time.sleep(0.1)
            except OSError:
                pass

    threading.Thread(target=trickle, daemon=True).start()
    with httpx.Client(transport=build(), timeout=5) as client, request_deadline(0.5):
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
    listener.close()
    assert len(sent) < 50
