"""JSON as the real services read it: no NaN/Infinity constants, no number beyond float64.

Python's json accepts ``NaN``, ``Infinity`` and integers of any length (until its 4300-digit limit
raises a bare ValueError); IBM's services, written in Go, refuse all of these. One parser for every
surface that reads JSON (KMS bodies, control API, journal, token claims), with one error per kind.
"""

from __future__ import annotations

import json
import math
from typing import Any


class BadConstant(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: not JSON. The message is the constant."""


class BadNumber(ValueError):
    """A number outside float64 (or, with ``int64``, an integer outside 64 bits). The message is the number."""


def _constant(name: str) -> Any:
    raise BadConstant(name)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadNumber(text)
    return value


def _int(text: str) -> int:
    if not math.isfinite(float(text)):  # float() has no digit limit: beyond float64 is caught before int()
        raise BadNumber(text)
    return int(text)


def _int64(text: str) -> int:
    value = int(text) if len(text.lstrip("-")) <= 19 else None
    if value is None or not -(2**63) <= value < 2**63:
        raise BadNumber(text)
    return value


def loads(text: str | bytes, *, int64: bool = False) -> Any:
    """Parse strict JSON; raises BadConstant, BadNumber, RecursionError or another ValueError."""
    return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int64 if int64 else _int)
