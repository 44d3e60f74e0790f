"""--state-file persistence and the in-process start() used by benchmarks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from emu_kit import KP_US, Kit

from emulator import Options, start


def test_state_survives_restart(tmp_path: Path, emulator_launcher: Any) -> None:
    """Policies, keys and tokens written to --state-file are there after a restart; no temp files remain."""
    state = tmp_path / "state.json"
    first = emulator_launcher.start("--state-file", str(state))
    try:
        kit = Kit(first.url)
        kit.set_dual(True)
        key = kit.create_key()
        token = kit.token()
    finally:
        emulator_launcher.stop(first)
    assert json.loads(state.read_text())["world"]["keys"][KP_US][0]["id"] == key["id"]
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    second = emulator_launcher.start("--state-file", str(state))
    try:
        headers = {"authorization": f"Bearer {token}", "bluemix-instance": KP_US}
        got = httpx.get(f"{second.url}/api/v2/keys/{key['id']}", headers=headers)
        assert got.status_code == 200
        assert got.json()["resources"][0]["dualAuthDelete"]["enabled"] is True
        pol = httpx.get(f"{second.url}/api/v2/instance/policies", headers=headers).json()
        assert pol["resources"][0]["policy_data"] == {"enabled": True}
    finally:
        emulator_launcher.stop(second)


def test_in_process_start_and_stop() -> None:
    """emulator.start() serves on a thread and returns the base URL and a stop()."""
    running = start(Options(port=0))
    try:
        kit = Kit(running.url)
        assert kit.kms("GET", "/keys").status_code == 200
    finally:
        running.stop()
