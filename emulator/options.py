"""Start-up options and the switches for behaviours the spec marks unconfirmed ([U]).

``Options`` is built once from the command line (or by a caller of ``emulator.start``). The
switches in ``SWITCHES`` may also be changed at run time with ``PATCH /emulator/settings`` and go
back to their start-up values on ``POST /emulator/reset``. Every value is checked (type, choices,
finite numbers within ``RANGES``, ``event_sink`` an http(s) URL), at run time and on the command
line alike; a refused change names every problem and applies nothing. The numeric start-up options
(``port`` 0-65535, ``max_body_bytes`` 1 B to 1 GiB) are in ``RANGES`` too: on the command line every
number is read strictly (ASCII digits, no ``_``) and checked as it is parsed, so a bad one is an
argparse usage error (exit 2) naming the option and its range, and ``emulator.start`` refuses
``Options`` with a bad value (ValueError).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.checks import url_problem

DEFAULT_SEED = Path(__file__).with_name("default_seed.json")


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 0
    seed: str = str(DEFAULT_SEED)
    event_sink: str | None = None
    token_lifetime: int = 3600
    state_file: str | None = None
    public_url: str | None = None
    max_body_bytes: int = 1_048_576
    # --- switches for unconfirmed behaviour (see README "Switches") ---
    lenient_policy_shape: bool = False
    missing_instance_status: int = 400
    unknown_instance_status: int = 401
    key_dual_auth_disable_status: int = 400
    hide_inherited_key_policy: bool = False
    hpcs_documented_policies_only: bool = False
    delete_default_prefer: str = "minimal"
    broker_with_scheme: bool = False
    rc_default_limit: int = 100
    event_retry_base: float = 1.0
    event_retry_cap: float = 10.0
    event_timeout: float = 10.0

    def switches(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SWITCHES}

    def apply(self, changes: dict[str, Any]) -> list[str]:
        """Apply run-time switch changes; return the problems (nothing applied if any)."""
        problems = []
        for name, value in changes.items():
            if name not in SWITCHES:
                problems.append(f"unknown setting {name!r}")
                continue
            problem = _check(name, value)
            if problem:
                problems.append(problem)
        if not problems:
            for name, value in changes.items():
                setattr(self, name, float(value) if SWITCHES[name][0] is float else value)
        return problems

    def problems(self) -> list[str]:
        """Every problem with the current switch values and numeric start-up options."""
        problems = [p for name in SWITCHES if (p := _check(name, getattr(self, name)))]
        for name in STARTUP_NUMBERS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{name} must be int")
            elif problem := _range_problem(name, value):
                problems.append(problem)
        return problems


SWITCHES: dict[str, tuple[type, tuple[Any, ...] | None]] = {
    "token_lifetime": (int, None),
    "event_sink": (str, None),
    "lenient_policy_shape": (bool, None),
    "missing_instance_status": (int, (400, 401, 404)),
    "unknown_instance_status": (int, (401, 403, 404)),
    "key_dual_auth_disable_status": (int, (400, 409)),
    "hide_inherited_key_policy": (bool, None),
    "hpcs_documented_policies_only": (bool, None),
    "delete_default_prefer": (str, ("minimal", "representation")),
    "broker_with_scheme": (bool, None),
    "rc_default_limit": (int, None),
    "event_retry_base": (float, None),
    "event_retry_cap": (float, None),
    "event_timeout": (float, None),
}


# numeric start-up options that are not switches (integers, checked with RANGES)
STARTUP_NUMBERS = ("port", "max_body_bytes")

# numeric options and switches: (lowest, highest, lowest allowed itself?, wording)
RANGES: dict[str, tuple[float, float, bool, str]] = {
    "port": (0, 65_535, True, "an integer from 0 to 65535 (0 takes a free port)"),
    "max_body_bytes": (1, 1_073_741_824, True, "an integer from 1 to 1073741824 (1 GiB)"),
    "token_lifetime": (1, 31_536_000, True, "an integer from 1 to 31536000 (one year)"),
    "rc_default_limit": (1, 100, True, "an integer from 1 to 100 (the RC's own limit range)"),
    "event_retry_base": (0, 3600, True, "a number from 0 to 3600"),
    "event_retry_cap": (0, 3600, True, "a number from 0 to 3600"),
    "event_timeout": (0, 300, False, "a number greater than 0 and at most 300"),
}


def _check(name: str, value: Any) -> str | None:
    kind, allowed = SWITCHES[name]
    if name == "event_sink":
        return None if value is None else url_problem(value, name)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, bool):
        return f"{name} must be {kind.__name__}"
    if not isinstance(value, kind):
        return f"{name} must be {kind.__name__}"
    if allowed is not None and value not in allowed:
        return f"{name} must be one of {list(allowed)}"
    if name in RANGES and isinstance(value, int | float):
        return _range_problem(name, value)
    return None


def _range_problem(name: str, value: float) -> str | None:
    low, high, low_ok, wording = RANGES[name]
    if not math.isfinite(value) or not (low <= value if low_ok else low < value) or value > high:
        return f"{name} must be {wording}"
    return None


INT_TEXT = re.compile(r"[+-]?[0-9]{1,30}")  # int() refuses over 4300 digits: bounded first
FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)",
                        re.IGNORECASE)


def _strict(kind: type, name: str | None = None) -> Callable[[str], Any]:
    """An argparse ``type`` reading ASCII digits only (no ``_``, spaces or other scripts' digits), then
    checking ``RANGES[name]``; a bad value is a usage error naming the option and the range."""
    def parse(text: str) -> Any:
        must = f"must be {RANGES[name][3]}" if name else f"must be {'an integer' if kind is int else 'a number'}"
        if not (INT_TEXT if kind is int else FLOAT_TEXT).fullmatch(text):
            raise argparse.ArgumentTypeError(must)
        value = int(text) if kind is int else float(text)
        if name and _range_problem(name, value):
            raise argparse.ArgumentTypeError(must)
        return value

    parse.__name__ = kind.__name__
    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m emulator",
        description="dualauth emulator: a local IBM Cloud (IAM, Key Protect / HPCS KMS API, "
        "Resource Controller, HPCS broker) plus a control API under /emulator/.",
    )
    d = Options()
    p.add_argument("--host", default=d.host, help="interface to bind (default %(default)s)")
    p.add_argument("--port", type=_strict(int, "port"), default=d.port,
                   help="port, 0-65535; 0 takes a free one (default 0)")
    p.add_argument("--seed", default=d.seed, help="seed JSON (default emulator/default_seed.json)")
    p.add_argument("--event-sink", default=None, help="URL that lifecycle events are POSTed to")
    p.add_argument("--token-lifetime", type=_strict(int, "token_lifetime"), default=d.token_lifetime,
                   help="IAM access token lifetime in seconds (default %(default)s)")
    p.add_argument("--state-file", default=None,
                   help="JSON file the state is kept in across restarts (written atomically)")
    p.add_argument("--public-url", default=None,
                   help="base URL to advertise in RC records (default: from the request's Host)")
    p.add_argument("--max-body-bytes", type=_strict(int, "max_body_bytes"), default=d.max_body_bytes,
                   help="largest request body accepted, 1 to 1073741824; larger gets 413 (default %(default)s)")
    g = p.add_argument_group("switches for unconfirmed behaviour (README: Switches)")
    g.add_argument("--lenient-policy-shape", action="store_true",
                   help="accept the key-policy body shape on PUT /instance/policies")
    g.add_argument("--missing-instance-status", type=_strict(int), choices=(400, 401, 404), default=400,
                   help="status when bluemix-instance is missing (default 400)")
    g.add_argument("--unknown-instance-status", type=_strict(int), choices=(401, 403, 404), default=401,
                   help="status when bluemix-instance names no instance here (default 401)")
    g.add_argument("--key-dual-auth-disable-status", type=_strict(int), choices=(400, 409), default=400,
                   help="status for switching a key's dualAuthDelete off (default 400)")
    g.add_argument("--hide-inherited-key-policy", action="store_true",
                   help="keys that inherited dual auth show no dualAuthDelete key policy")
    g.add_argument("--hpcs-documented-policies-only", action="store_true",
                   help="HPCS instances reject the rotation and allowedIP instance policies")
    g.add_argument("--delete-default-prefer", choices=("minimal", "representation"),
                   default="minimal", help="DELETE key answer without a prefer header (default minimal=204)")
    g.add_argument("--broker-with-scheme", action="store_true",
                   help="HPCS broker returns full URLs instead of hosts without scheme")
    g.add_argument("--rc-default-limit", type=_strict(int, "rc_default_limit"), default=d.rc_default_limit,
                   help="Resource Controller page size without ?limit (default %(default)s)")
    g.add_argument("--event-retry-base", type=_strict(float, "event_retry_base"), default=d.event_retry_base,
                   help="first retry delay of event delivery in seconds, doubled each retry (default 1)")
    g.add_argument("--event-retry-cap", type=_strict(float, "event_retry_cap"), default=d.event_retry_cap,
                   help="cap on any retry delay, Retry-After included (default 10)")
    g.add_argument("--event-timeout", type=_strict(float, "event_timeout"), default=d.event_timeout,
                   help="per-attempt timeout of event delivery in seconds (default 10)")
    return p


def from_args(argv: list[str] | None = None) -> Options:
    p = parser()
    ns = p.parse_args(argv)
    values = vars(ns)
    names = {f.name for f in dataclasses.fields(Options)}
    options = Options(**{k: v for k, v in values.items() if k in names})
    problems = options.problems()
    if problems:
        p.error("; ".join(problems))
    return options
