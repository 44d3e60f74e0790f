"""Checks of control-API input that ends up on the wire: header names and values, sink URLs.

Fault rules write their headers into answers and provisioning headers go to the event sink, so a
name must be an RFC 9110 token, a value must hold no control characters (CR/LF would inject
headers) and fit in latin-1, and the framing headers (``Content-Length``, ``Transfer-Encoding``,
``Connection`` and the other hop-by-hop ones) are refused: the emulator frames its messages itself.
Messages never quote a value (it may be a credential); a bad name is shown shortened.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
FRAMING_HEADERS = ("Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer", "TE",
                   "Proxy-Connection")
_FRAMING = {name.lower() for name in FRAMING_HEADERS}


def _shown(name: str) -> str:
    return repr(name if len(name) <= 40 else f"{name[:37]}...")


def value_ok(value: str) -> bool:
    """Visible latin-1 characters, spaces and tabs only (field-vchar / obs-text, RFC 9110 §5.5)."""
    return all(ch == "\t" or 0x20 <= ord(ch) <= 0x7E or 0xA0 <= ord(ch) <= 0xFF for ch in value)


def header_problems(headers: Any, field: str = "headers") -> list[str]:
    """Every problem with a ``{name: value}`` header map that will be sent on the wire."""
    if not isinstance(headers, dict):
        return [f"{field} must map header names to strings"]
    problems = []
    for name, value in headers.items():
        if not TOKEN.fullmatch(name):
            problems.append(f"{field}: header name {_shown(name)} is not an HTTP token")
        elif name.lower() in _FRAMING:
            problems.append(f"{field}: {name} is a framing header the emulator sets itself "
                            f"(refused: {', '.join(FRAMING_HEADERS)})")
        if not isinstance(value, str):
            problems.append(f"{field}: the value of {_shown(name)} must be a string")
        elif not value_ok(value):
            problems.append(f"{field}: the header value of {_shown(name)} holds control or non-latin-1 characters")
    return problems


def url_problem(value: Any, field: str) -> str | None:
    """None for an absolute http(s) URL with a host and no credentials; otherwise the problem (value not quoted)."""
    must = f"{field} must be an http:// or https:// URL with a host and no user:password"
    if not isinstance(value, str) or not value.isascii() or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        return must
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return must
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return must
    return None
