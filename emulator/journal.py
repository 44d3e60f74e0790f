"""The journal: every call received on an IBM surface (IAM, KMS, RC, broker), in order.

Tests read it through ``GET /emulator/journal`` to assert what the product sent ("zero PUTs on a
second run"). Secrets are redacted: the ``authorization`` header and IAM form fields that carry
credentials.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs

MAX_ENTRIES = 10_000
MAX_BODY_DEPTH = 64
SECRET_FORM_FIELDS = {"apikey", "cr_token", "access_token", "refresh_token", "client_secret", "password"}
REDACTED = "<redacted>"


SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "secret", "apikey", "api-key", "signature")


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Header names lower-cased; values of credential-bearing headers replaced (an auth scheme is kept)."""
    out = {}
    for name, value in headers.items():
        low = name.lower()
        if any(word in low for word in SECRET_HEADER_WORDS):
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        out[low] = value
    return out


def body_for_journal(body: bytes, content_type: str | None) -> Any:
    if not body:
        return None
    text = body[:65536].decode("utf-8", "replace")
    if content_type and "x-www-form-urlencoded" in content_type:
        form = {k: (REDACTED if k in SECRET_FORM_FIELDS else v[0]) for k, v in parse_qs(text).items()}
        return form
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return text[:4096]
    # A body nested deeper than any real request is kept as text, so the journal endpoint can always encode it.
    return parsed if _depth(parsed) <= MAX_BODY_DEPTH else text[:4096]


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_BODY_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, "time": time.time(), **entry}
            self._calls.append(entry)
            del self._calls[:-MAX_ENTRIES]
            return entry

    def calls(self, method: str | None = None, path: str | None = None, surface: str | None = None,
              instance: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            calls = list(self._calls)
        return [
            c for c in calls
            if (method is None or c["method"] == method.upper())
            and (path is None or c["path"].startswith(path))
            and (surface is None or c["surface"] == surface)
            and (instance is None or c["instance"] == instance)
        ]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
