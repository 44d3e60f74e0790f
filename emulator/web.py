"""Small HTTP building blocks: ``Request``, ``Response``, a path-template ``Router`` and the
``ServiceError`` every surface's errors derive from (each renders its own service's body).
JSON answers are always strict JSON: a non-finite float that slipped into a value is sent as null.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any


@dataclass
class Request:
    method: str
    path: str  # still percent-encoded; /hpcs/{guid} prefix removed for KMS routes
    raw_path: str  # the path as received
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    base_url: str
    params: dict[str, str] = field(default_factory=dict)
    hpcs_guid: str | None = None

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj: Any, content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> Response:
        try:
            text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
        except ValueError:
            text = json.dumps(_finite(obj), separators=(",", ":"), allow_nan=False)
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type, **(headers or {})})

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> Response:
        return cls(status, b"", dict(headers or {}))


def _finite(value: Any) -> Any:
    """``value`` with NaN / Infinity replaced by None (they have no JSON form)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class ServiceError(Exception):
    """An error answer of one emulated service; subclasses render the service's body."""

    status = 500

    def response(self) -> Response:
        return Response.json(self.status, {"error": str(self)})


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]


class Router:
    """Routes ``METHOD /path/{param}`` templates; params match one path segment."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.routes.append(Route(method, template, handler, re.compile(f"^{regex}/?$")))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """The route for ``method path``, its params, and the methods the path allows."""
        allowed: list[str] = []
        for route in self.routes:
            m = route.pattern.match(path)
            if not m:
                continue
            if route.method == method:
                return route, m.groupdict(), []
            allowed.append(route.method)
        return None, {}, allowed
