"""JSON-line records on stdout: one audit line per decision, plus operational logs; all redacted.

Redaction walks the record before it is serialised, so a secret cannot slip through a nested
field, and a secret that happens to look like JSON (`null`, a number) cannot break the line: every
configured secret value is masked inside each string, and so are bearer tokens and JWT-looking strings.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any, TextIO

MASK = "[REDACTED]"
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)\b(apikey|api_key|access_token|refresh_token|cr_token)(\\?[\"']?\s*[=:]\s*\\?[\"']?)[^\\\"'&\s,}]+"
    ),
)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
            escaped = json.dumps(secret)[1:-1]
            if escaped != secret:
                text = text.replace(escaped, MASK)
        text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
        text = _PATTERNS[1].sub(MASK, text)
        return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)

    def clean(self, value: Any) -> Any:
        """`value` with every string in it redacted; anything that is not JSON becomes a redacted string."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {str(key): self.clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.clean(item) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self(str(value))


class JsonLog:
    """Writes one JSON object per line; thread-safe; never raises into the caller."""

    def __init__(self, redact: Redactor | None = None, stream: TextIO | None = None) -> None:
        self.redact = redact or Redactor()
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, kind: str, **fields: Any) -> None:
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "kind": kind, **fields}
        line = json.dumps(self.redact.clean(record), ensure_ascii=True, sort_keys=False)
        with self._lock:
            stream = self._stream or sys.stdout
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass

    def audit(self, **fields: Any) -> None:
        """The one line per decision: trigger, instance CRN, outcome, reason code, correlation id, duration."""
        self.emit("audit", **fields)
