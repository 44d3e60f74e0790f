"""Injected faults and per-instance rate limits for the IBM surfaces.

A fault rule matches on method (or ``*``) and path prefix (query ignored) and fires for the next
``times`` matching calls, or for a ``fraction`` of them (then for ever, or until ``times`` fires
run out when both are given). A firing rule may add latency, answer with a status/body/headers,
or drop the connection without an answer.

A rule's answer must be a valid HTTP message: ``status`` 200-599 (1xx are interim answers and
cannot end a call), no ``body`` with 204 or 304 (those are sent without one), headers checked by
``checks.header_problems`` (tokens, no control characters, no framing headers), a ``body`` that is
strict JSON, ``latency_ms`` at most ``MAX_LATENCY_MS``.
"""

from __future__ import annotations

import collections
import itertools
import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from emulator.checks import TOKEN, header_problems

MAX_LATENCY_MS = 60_000
NO_BODY_STATUSES = (204, 304)
FIELDS = {"method", "path", "status", "body", "headers", "latency_ms", "drop", "times", "fraction", "seed"}


@dataclass
class FaultRule:
    id: str
    method: str = "*"
    path: str = "/"
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    latency_ms: int = 0
    drop: bool = False
    times: int | None = 1
    fraction: float | None = None
    seed: int | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault sampling, not crypto

    def public(self) -> dict[str, Any]:
        return asdict(self)


def parse_rule(spec: Any, rule_id: str) -> FaultRule | list[str]:
    """A rule from its JSON form, or the list of every problem with it."""
    if not isinstance(spec, dict):
        return ["a fault rule is a JSON object"]
    problems = [f"unknown field {k!r}" for k in spec if k not in FIELDS]
    method = spec.get("method", "*")
    path = spec.get("path", "/")
    status = spec.get("status")
    headers = spec.get("headers", {})  # [] or false is a mistake to report, not "no headers"
    latency = spec.get("latency_ms", 0)
    drop = spec.get("drop", False)
    fraction = spec.get("fraction")
    times = spec.get("times", None if fraction is not None else 1)
    seed = spec.get("seed")
    if not isinstance(method, str) or not (method == "*" or TOKEN.fullmatch(method)):
        problems.append("method must be an HTTP method or '*'")
    if not isinstance(path, str) or not path.startswith("/"):
        problems.append("path must be a path prefix starting with '/'")
    if status is not None and (not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599):
        problems.append("status must be an HTTP status code from 200 to 599 (1xx are not final answers) or null")
    if status in NO_BODY_STATUSES and spec.get("body") is not None:
        problems.append(f"body must be null with status {status} (a {status} answer has no body)")
    try:
        json.dumps(spec.get("body"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        problems.append("body must be strict JSON (no NaN or Infinity)")
    problems += header_problems(headers)
    if not isinstance(latency, int) or isinstance(latency, bool) or not 0 <= latency <= MAX_LATENCY_MS:
        problems.append(f"latency_ms must be an integer from 0 to {MAX_LATENCY_MS}")
    if not isinstance(drop, bool):
        problems.append("drop must be a boolean")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        problems.append("times must be a positive integer or null")
    if fraction is not None and (isinstance(fraction, bool) or not isinstance(fraction, int | float)
                                 or not 0 < fraction <= 1):
        problems.append("fraction must be a number in (0, 1] or null")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        problems.append("seed must be an integer")
    if status is None and not drop and not latency:
        problems.append("a rule needs a status, drop or latency_ms")
    if problems:
        return problems
    return FaultRule(rule_id, str(method).upper(), path, status, spec.get("body"), dict(headers), latency,
                     drop, times, None if fraction is None else float(fraction), seed)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec: Any) -> FaultRule | list[str]:
        with self._lock:
            rule = parse_rule(spec, f"fault-{next(self._ids)}")
            if isinstance(rule, FaultRule):
                self._rules.append(rule)
            return rule

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this call (counting it), if any."""
        with self._lock:
            for rule in self._rules:
                if rule.method not in ("*", method) or not path.startswith(rule.path):
                    continue
                if rule.fraction is not None and rule._rng.random() >= rule.fraction:
                    continue
                rule.fired += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule
            return None


class RateLimits:
    """Per-instance request rate limits over a sliding one-second window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, tuple[int, int]] = {}
        self._seen: dict[str, collections.deque[float]] = {}

    def set(self, instance: str, per_second: int | None, retry_after: int) -> None:
        with self._lock:
            if not per_second:
                self._limits.pop(instance, None)
                self._seen.pop(instance, None)
            else:
                self._limits[instance] = (per_second, retry_after)
                self._seen[instance] = collections.deque()

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"instance": i, "per_second": n, "retry_after": r} for i, (n, r) in self._limits.items()]

    def clear(self) -> None:
        with self._lock:
            self._limits.clear()
            self._seen.clear()

    def check(self, instance: str | None) -> int | None:
        """None when the call may pass; otherwise the Retry-After seconds to answer with."""
        if instance is None:
            return None
        with self._lock:
            limit = self._limits.get(instance)
            if limit is None:
                return None
            per_second, retry_after = limit
            now = time.monotonic()
            seen = self._seen[instance]
            while seen and now - seen[0] >= 1.0:
                seen.popleft()
            if len(seen) >= per_second:
                return retry_after
            seen.append(now)
            return None
