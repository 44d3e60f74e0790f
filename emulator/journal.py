"""The journal: every call received on an IBM surface (IAM, KMS, RC, broker), in order.

Tests read it through ``GET /emulator/journal`` to assert what the product sent ("zero PUTs on a
second run"). It never shows a secret:

- Headers: the value of a credential-bearing header is replaced (``redact_headers``). A name is
  credential-bearing when it holds one of ``SECRET_HEADER_WORDS`` (``authorization``, ``cookie``,
  ``token``, ``secret``, ``password``, ``credential``, ``signature``, ``apikey``, ``api-key``, ``api_key``)
  or when its last ``-``/``_``-separated word is or ends in ``key`` (``X-Auth-Key``, ``X-Api-Key``,
  ``Private-Key``, ``X-AuthKey``). A name with ``key`` elsewhere (``x-kms-key-ring``, a key ring id)
  stays visible, as do ``bluemix-instance``, ``content-type`` and ``correlation-id``. The first word of
  a redacted value is kept only when it is a known auth scheme (``KNOWN_SCHEMES``, any letter case:
  ``Bearer <redacted>``); any other value is redacted whole.
- Fields: a query parameter, form field or JSON object member (at any depth, in lists too) whose
  name is a secret field (``SECRET_FIELDS`` in any letter case, ``-`` and ``_`` ignored: ``apikey``,
  ``api_key``, ``APIKey``, ``cr_token`` ...) has its value redacted. A query parameter or form field
  whose name is not a plain name (``PLAIN_NAME``: ``apikey%3Dsecret`` decodes to the name
  ``apikey=secret``) is shown as ``"<redacted>": "<redacted>"`` (in an IAM body it hides the whole body).
- Bodies: an IAM token call's body is read as a form whenever IAM itself reads it as one (no content
  type, or a form type in any letter case). Other bodies are kept as parsed JSON when they are strict
  JSON (no NaN / Infinity, numbers a float holds) nested at most ``MAX_BODY_DEPTH`` deep, so the
  journal is always strict JSON; otherwise an IAM body is kept as a form when it is one made of plain
  names, and any other surface's body as text (first 4096 characters). An IAM body that is neither
  (multipart, a form with an odd name, too deep JSON, any other text: it may hold a credential) is
  shown only as ``"<redacted: N bytes>"``, never as text.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from emulator import strict_json

MAX_ENTRIES = 10_000
MAX_BODY_DEPTH = 64
SECRET_FORM_FIELDS = {"apikey", "cr_token", "access_token", "refresh_token", "client_secret", "password"}
# Field names compared in lower case without "-" / "_": the form fields above plus their spellings elsewhere.
SECRET_FIELDS = {name.replace("_", "") for name in SECRET_FORM_FIELDS} | {"passcode", "secret", "token", "idtoken"}
PLAIN_NAME = re.compile(r"[A-Za-z0-9_.:\[\]-]{1,128}")
REDACTED = "<redacted>"

SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "secret", "password", "credential", "signature",
                       "apikey", "api-key", "api_key")
KNOWN_SCHEMES = {"basic", "bearer", "digest", "dpop", "gnap", "hoba", "mutual", "negotiate", "ntlm", "oauth",
                 "privatetoken", "scram-sha-1", "scram-sha-256", "vapid", "aws4-hmac-sha256", "apikey", "token"}


def secret_header(name: str) -> bool:
    """Whether a header's value is a credential (see the module docstring for the rule)."""
    low = name.lower()
    return any(word in low for word in SECRET_HEADER_WORDS) or re.split(r"[-_]", low)[-1].endswith("key")


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Header names lower-cased; values of credential-bearing headers replaced (a known auth scheme is kept)."""
    out = {}
    for name, value in headers.items():
        low = name.lower()
        if secret_header(low):
            scheme, space, _ = value.strip().partition(" ")
            value = f"{scheme} {REDACTED}" if space and scheme.lower() in KNOWN_SCHEMES else REDACTED
        out[low] = value
    return out


def secret_field(name: str) -> bool:
    """Whether a query parameter, form field or JSON member of this name carries a credential."""
    return name.lower().replace("-", "").replace("_", "") in SECRET_FIELDS


def redact_fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Query parameters or form fields (first value of each name) with secret values and odd names redacted."""
    out: dict[str, str] = {}
    for name, value in pairs:
        if not PLAIN_NAME.fullmatch(name):
            out[REDACTED] = REDACTED
        elif name not in out:
            out[name] = REDACTED if secret_field(name) else value
    return out


def _pairs(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True)


def redact_json(value: Any) -> Any:
    """``value`` with every secret member redacted, at any depth (call only on values at most MAX_BODY_DEPTH deep)."""
    if isinstance(value, dict):
        return {k: REDACTED if secret_field(k) else redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def body_for_journal(body: bytes, content_type: str | None, iam: bool = False) -> Any:
    """The body as journalled; ``iam`` for IAM token calls (never text: it may hold a credential)."""
    if not body:
        return None
    text = body[:65536].decode("utf-8", "replace")
    ctype = (content_type or "").lower()
    if "x-www-form-urlencoded" in ctype or (iam and not ctype):
        return _iam_text(body, text) if iam else redact_fields(_pairs(text))
    try:
        parsed = strict_json.loads(text)
    except (ValueError, RecursionError):
        return _iam_text(body, text) if iam else text[:4096]
    # A body nested deeper than any real request is kept as text, so the journal endpoint can always encode it.
    if _depth(parsed) > MAX_BODY_DEPTH:
        return _iam_text(body, text) if iam else text[:4096]
    return redact_json(parsed)


def _iam_text(body: bytes, text: str) -> Any:
    """An IAM body that is not JSON: the form when it is one of plain names, else only its size."""
    pairs = _pairs(text)
    if len(body) <= 65536 and pairs and all(PLAIN_NAME.fullmatch(name) for name, _ in pairs):
        return redact_fields(pairs)
    return f"<redacted: {len(body)} bytes>"


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
