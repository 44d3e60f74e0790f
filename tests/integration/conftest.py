"""Function processes under functions-framework, pointed at the session's emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stack import Process, emulator_env, start_function


class Functions:
    """Starts each distinct function configuration once per session and stops them all at the end."""

    def __init__(self, emulator_url: str) -> None:
        self.emulator_url = emulator_url
        self._running: dict[tuple[tuple[str, str], ...], Process] = {}

    def get(self, target: str = "on_instance_created", **env: str) -> Process:
        full = {**emulator_env(self.emulator_url), "DUALAUTH_RETRY_BUDGET_SECONDS": "6", **env}
        key = (("target", target), *sorted(full.items()))
        if key not in self._running:
            self._running[key] = start_function(target, full)
        return self._running[key]

    def stop(self) -> None:
        for process in self._running.values():
            process.stop()


@pytest.fixture(scope="session")
def functions(emulator_session: Any) -> Iterator[Functions]:
    registry = Functions(emulator_session.url)
    yield registry
    registry.stop()


def audit_lines(process: Process) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.output().splitlines() if line.startswith('{"ts"')]


def post_json(url: str, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        url,
        content=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **(headers or {})},
        timeout=30,
    )
