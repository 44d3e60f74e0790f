"""The journal: every call received on an IBM surface (IAM, KMS, RC, broker), in order.

Tests read it through ``GET /emulator/journal`` to assert what the product sent ("zero PUTs on a
second run"). Secrets are redacted: the ``authorization`` header and IAM form fields that carry
credentials. An IAM token call's body is read as a form whenever IAM itself reads it as one (no
content type, or a form type in any case); its secret fields are redacted in any body shape. Bodies
are kept as parsed JSON only when they are strict JSON (no NaN / Infinity, numbers a float holds)
nested at most ``MAX_BODY_DEPTH`` deep, otherwise as text, so the journal is always strict JSON.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import parse_qs

from emulator import strict_json

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


def _form(text: str) -> dict[str, str]:
    return {k: (REDACTED if k in SECRET_FORM_FIELDS else v[0])
            for k, v in parse_qs(text, keep_blank_values=True).items()}


def body_for_journal(body: bytes, content_type: str | None, iam: bool = False) -> Any:
    """The body as journalled; ``iam`` for IAM token calls (form secrets redacted whatever the content type)."""
    if not body:
        return None
    text = body[:65536].decode("utf-8", "replace")
    ctype = (content_type or "").lower()
    if "x-www-form-urlencoded" in ctype or (iam and not ctype):
        return _form(text)
    try:
        parsed = strict_json.loads(text)
    except (ValueError, RecursionError):
        # IAM reads only forms; text in any other shape may still be one carrying a secret.
        return _form(text) if iam else text[:4096]
    if iam and isinstance(parsed, dict):
        parsed = {k: (REDACTED if k in SECRET_FORM_FIELDS else v) for k, v in parsed.items()}
    # A body nested deeper than any real request is kept as text, so the journal endpoint can always encode it.
    if _depth(parsed) > MAX_BODY_DEPTH:
        return _form(text) if iam else text[:4096]
    return parsed


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
