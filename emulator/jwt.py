"""HS256 JSON Web Tokens with the standard library only (RFC 7519 / RFC 7515 compact form).

Errors: ``TokenFormatError`` (not three base64url JSON parts: the caller cannot even read a
subject) and its subclass ``TokenSignatureError`` (readable, but not signed by us). Any string,
whatever its characters, gets one of the two (never a TypeError from comparing non-ASCII text).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from emulator import strict_json

_HEADER = {"alg": "HS256", "typ": "JWT", "kid": "emulator"}


class TokenFormatError(ValueError):
    """The string is not a compact JWT with JSON header and claims."""


class TokenSignatureError(TokenFormatError):
    """The token is well formed but its signature does not verify."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise TokenFormatError("bad base64url segment") from exc


def _sign(signing_input: bytes, secret: bytes) -> str:
    return _b64encode(hmac.new(secret, signing_input, hashlib.sha256).digest())


def encode(claims: dict[str, Any], secret: bytes) -> str:
    """Return the compact HS256 JWT for ``claims``."""
    head = _b64encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{_sign(signing_input, secret)}"


def _json(raw: bytes) -> Any:
    return strict_json.loads(raw)


def read_claims(token: str) -> dict[str, Any]:
    """Claims of a token without checking its signature (what IBM's SDKs do); strict JSON only."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenFormatError("a JWT has three dot-separated parts")
    try:
        header = _json(_b64decode(parts[0]))
        claims = _json(_b64decode(parts[1]))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise TokenFormatError("header or claims are not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenFormatError("header and claims must be JSON objects")
    return claims


def decode(token: str, secret: bytes) -> dict[str, Any]:
    """Claims of a token signed with ``secret``; raises on bad format or signature."""
    claims = read_claims(token)
    head, body, signature = token.split(".")
    header = _json(_b64decode(head))
    if header.get("alg") != "HS256":
        raise TokenSignatureError("unsupported alg")
    if not signature.isascii():  # compare_digest raises TypeError on non-ASCII str
        raise TokenSignatureError("signature does not verify")
    expected = _sign(f"{head}.{body}".encode("ascii"), secret)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        raise TokenSignatureError("signature does not verify")
    return claims
