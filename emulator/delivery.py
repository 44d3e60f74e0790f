"""Posting lifecycle events to the sink, with Event Notifications' retry rule.

Up to 3 retries on 5xx, 429 or a connection error/timeout; the delay is ``event_retry_base`` * 2^n
unless the answer carries ``Retry-After`` (seconds), always capped at ``event_retry_cap``
(10 s in EN). Each delivery keeps its request and every attempt; a reset abandons pending ones.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from emulator.journal import redact_headers

if TYPE_CHECKING:
    from emulator.app import Emulator

MAX_RETRIES = 3


def post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> dict[str, Any]:
    """One POST; the attempt record (status or error, Retry-After, duration)."""
    started = time.monotonic()
    attempt: dict[str, Any] = {"at": time.time(), "status": None, "error": None, "retry_after": None}
    try:
        parts = urlsplit(url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(parts.netloc, timeout=timeout)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("POST", target, body=body, headers={**headers, "Content-Length": str(len(body))})
            resp = conn.getresponse()
            resp.read(65536)
            attempt["status"] = resp.status
            attempt["retry_after"] = resp.getheader("Retry-After")
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        attempt["error"] = f"{type(exc).__name__}: {exc}"
    attempt["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    return attempt


def retryable(attempt: dict[str, Any]) -> bool:
    status = attempt["status"]
    return status is None or status == 429 or status >= 500


class Deliveries:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._generation = 0

    def create(self, fmt: str, instance: str, sink: str, headers: dict[str, str], body: dict[str, Any]) -> str:
        with self._lock:
            did = f"dlv-{next(self._ids)}"
            self._items[did] = {"id": did, "format": fmt, "instance": instance, "sink": sink,
                                "headers": dict(headers), "body": body, "state": "pending", "attempts": []}
            generation = self._generation
        threading.Thread(target=self._run, args=(did, generation), name=f"delivery-{did}", daemon=True).start()
        return did

    def _run(self, did: str, generation: int) -> None:
        for n in range(MAX_RETRIES + 1):
            attempt = self._attempt(did)
            if attempt is None:
                return
            with self._lock:
                if self._generation != generation:
                    return
                item = self._items[did]
                item["attempts"].append(attempt)
                if not retryable(attempt):
                    item["state"] = "delivered" if attempt["status"] < 400 else "rejected"
                    return
                if n == MAX_RETRIES:
                    item["state"] = "failed"
                    return
            time.sleep(self._delay(attempt, n))

    def _delay(self, attempt: dict[str, Any], n: int) -> float:
        opts = self.emu.options
        delay = opts.event_retry_base * (2 ** n)
        raw = attempt.get("retry_after")
        if raw:
            try:
                delay = float(raw)
            except ValueError:
                pass
        return float(max(0.0, min(delay, opts.event_retry_cap)))

    def _attempt(self, did: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(did)
            if item is None:
                return None
            sink, headers, body = item["sink"], dict(item["headers"]), item["body"]
        return post(sink, headers, json.dumps(body).encode(), self.emu.options.event_timeout)

    def redeliver(self, did: str) -> dict[str, Any] | None:
        """Post the same event again, now, once; the attempt (None if unknown id)."""
        attempt = self._attempt(did)
        if attempt is None:
            return None
        attempt["redelivery"] = True
        with self._lock:
            item = self._items.get(did)
            if item is not None:
                item["attempts"].append(attempt)
                if not retryable(attempt):
                    item["state"] = "delivered" if attempt["status"] < 400 else "rejected"
        return attempt

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [_shown(item) for item in self._items.values()]

    def get(self, did: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(did)
            return None if item is None else _shown(item)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._generation += 1


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    """A copy for the control API, with the delivery's credentials redacted as the journal does."""
    copy: dict[str, Any] = json.loads(json.dumps(item))
    copy["headers"] = redact_headers(copy["headers"])
    return copy
