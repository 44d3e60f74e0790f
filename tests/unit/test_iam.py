"""IAM token provider: caching, refresh at 80 % on the local clock, single flight, error bodies."""

import threading
import time
from urllib.parse import parse_qs

import httpx
import pytest

from shared.errors import IamError
from shared.iam import TokenProvider
from shared.retry import RetryPolicy


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def iam(handler):
    return httpx.Client(transport=httpx.MockTransport(handler))


def token_handler(calls, lifetime=3600, delay=0.0):
    def handler(request):
        calls.append(parse_qs(request.content.decode()))
        time.sleep(delay)
        return httpx.Response(
            200,
            json={"access_token": f"tok-{len(calls)}", "expires_in": lifetime, "expiration": 1, "token_type": "Bearer"},
        )

    return handler


def provider(handler, clock=None, **kw):
    kw.setdefault("api_key", "my-api-key-123")
    return TokenProvider(
        iam(handler), "https://iam.example", RetryPolicy(sleep=lambda s: None), clock=clock or Clock(), **kw
    )


def test_api_key_grant_form():
    """The token request is the API-key grant with the key, posted to /identity/token."""
    calls = []
    assert provider(token_handler(calls)).token() == "tok-1"
    assert calls[0] == {"grant_type": ["urn:ibm:params:oauth:grant-type:apikey"], "apikey": ["my-api-key-123"]}


def test_cached_then_refreshed_after_80_percent():
    """The token is reused until 80 % of expires_in has passed on the local clock, then fetched again."""
    calls, clock = [], Clock()
    tokens = provider(token_handler(calls, lifetime=100), clock)
    assert tokens.token() == "tok-1"
    clock.now += 79
    assert tokens.token() == "tok-1" and len(calls) == 1
    clock.now += 2
    assert tokens.token() == "tok-2" and len(calls) == 2


def test_invalidate_drops_only_a_token_old_enough_to_have_expired():
    """A 401 on a token under 60 s old keeps it (no access, not expiry); an older one is refetched."""
    calls, clock = [], Clock()
    tokens = provider(token_handler(calls), clock)
    assert tokens.invalidate(tokens.token()) is False and tokens.token() == "tok-1"
    clock.now += 61
    assert tokens.invalidate("tok-1") is True and tokens.token() == "tok-2" and len(calls) == 2


def test_one_request_in_flight_for_many_callers():
    """Twenty threads asking at once cause exactly one token request."""
    calls = []
    tokens = provider(token_handler(calls, delay=0.2))
    results = []
    threads = [threading.Thread(target=lambda: results.append(tokens.token())) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results == ["tok-1"] * 20


def test_waiting_behind_a_stuck_token_request_ends_at_the_request_deadline():
    """While one thread's token request hangs, another without a token gives up at its deadline, retryably."""
    from shared.retry import request_deadline

    entered, release = threading.Event(), threading.Event()

    def handler(request):
        entered.set()
        release.wait(10)
        return httpx.Response(200, json={"access_token": "tok-1", "expires_in": 3600})

    tokens = provider(handler)
    first = threading.Thread(target=tokens.token)
    first.start()
    try:
        assert entered.wait(5)  # the first thread holds the lock, inside its token request
        with request_deadline(0.1), pytest.raises(IamError) as err:
            tokens.token()
        assert err.value.retryable and not release.is_set()
    finally:
        release.set()
        first.join()


def test_a_401_behind_a_stuck_token_request_gives_up_at_the_request_deadline():
    """invalidate() waits for another thread's token request no longer than the request's deadline, then says no."""
    from shared.retry import request_deadline

    clock = Clock()
    entered, release, calls = threading.Event(), threading.Event(), []

    def handler(request):
        calls.append(1)
        if len(calls) > 1:
            entered.set()
            release.wait(10)
        return httpx.Response(200, json={"access_token": f"tok-{len(calls)}", "expires_in": 3600})

    tokens = provider(handler, clock=clock)
    old = tokens.token()
    clock.now += 0.8 * 3600 + 1  # due for refresh: the next caller fetches while holding the lock
    refresher = threading.Thread(target=tokens.token)
    refresher.start()
    try:
        assert entered.wait(5)
        with request_deadline(0.1):
            assert tokens.invalidate(old) is False
        assert not release.is_set()
    finally:
        release.set()
        refresher.join()


def test_unknown_key_is_a_permanent_iam_error_without_the_key():
    """IAM's 400 BXNIM0415E becomes a non-retryable IamError with that code, and the key is not in it."""

    def handler(request):
        return httpx.Response(
            400, json={"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}
        )

    with pytest.raises(IamError) as err:
        provider(handler).token()
    assert err.value.code == "BXNIM0415E" and not err.value.retryable
    assert "my-api-key-123" not in str(err.value)


def test_iam_outage_is_retryable():
    """IAM answering 503 throughout is a retryable IamError."""
    with pytest.raises(IamError) as err:
        provider(lambda r: httpx.Response(503, text="down")).token()
    assert err.value.retryable


def test_garbage_200_is_an_error():
    """A 200 without access_token/expires_in is an IamError, not a crash."""
    with pytest.raises(IamError):
        provider(lambda r: httpx.Response(200, content=b"<html>")).token()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        rb'{"access_token": "tok\u00e9n", "expires_in": 3600}',
        b'{"access_token": "a b", "expires_in": 3600}',
        b'{"access_token": "t", "expires_in": true}',
        b'{"access_token": "t", "expires_in": "3600"}',
    ],
)
def test_unusable_200_is_a_retryable_iam_error(body):
    """Too deep JSON, a token a header cannot carry, or a non-integer lifetime: a retryable IamError, no crash."""
    with pytest.raises(IamError) as err:
        provider(lambda r: httpx.Response(200, content=body)).token()
    assert err.value.retryable


def test_huge_lifetime_is_capped_at_a_day():
    """An expires_in of 10**400 is trusted only up to a day: the token is refreshed after 80 % of 86400 s."""
    clock, calls = Clock(), []

    def handler(request):
        calls.append(1)
        return httpx.Response(200, json={"access_token": f"t{len(calls)}", "expires_in": 10**400})

    tokens = provider(handler, clock=clock)
    assert tokens.token() == "t1"
    clock.now += 0.8 * 86_400 + 1
    assert tokens.token() == "t2"


def test_trusted_profile_grant_reads_cr_token(tmp_path):
    """With a trusted profile the cr-token grant sends the token file's contents and the profile id."""
    calls = []
    path = tmp_path / "token"
    path.write_text("cr-token-value\n")
    tokens = provider(token_handler(calls), api_key=None, trusted_profile_id="Profile-1", cr_token_file=str(path))
    tokens.token()
    assert calls[0] == {
        "grant_type": ["urn:ibm:params:oauth:grant-type:cr-token"],
        "cr_token": ["cr-token-value"],
        "profile_id": ["Profile-1"],
    }


def test_missing_cr_token_file_is_an_iam_error(tmp_path):
    """A missing compute-resource token file gives an IamError naming the problem."""
    tokens = provider(token_handler([]), api_key=None, trusted_profile_id="P", cr_token_file=str(tmp_path / "none"))
    with pytest.raises(IamError) as err:
        tokens.token()
    assert err.value.code == "cr_token_missing"
