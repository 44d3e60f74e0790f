"""Concurrency: a KMS call's checks and its write happen under one hold of the store lock."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from emu_kit import FUNCS, Kit, dual, key_body, policy_body

from emulator import Options, RunningEmulator, kms_keys, kms_policies, start

RACE_SECONDS = 2.0
RACE_CAP_SECONDS = 30.0
# Unknown key fields are ignored; decoding this padding widens the gap between the checks and the write.
PADDING = list(range(20000))


@pytest.fixture
def running() -> Iterator[RunningEmulator]:
    emu = start(Options(port=0))
    try:
        yield emu
    finally:
        emu.stop()


def test_kms_writes_racing_reset_and_deprovision_never_500(running: RunningEmulator) -> None:
    """KMS writes racing resets and deprovisioning answer 2xx or the unknown-instance 401, never 500."""
    token = Kit(running.url).token(FUNCS)
    control = httpx.Client(base_url=running.url, timeout=10)
    guids: list[str] = []
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def fresh_instance() -> None:
        resp = control.post("/emulator/instances", json={"service": "kms", "region": "us-south", "event": "none"})
        assert resp.status_code == 201, resp.text
        guids.append(resp.json()["instance"]["guid"])

    def writer(n: int) -> None:
        with httpx.Client(base_url=running.url, timeout=10) as client:
            i = 0
            while not stop.is_set():
                i += 1
                guid = guids[-1]
                headers = {"authorization": f"Bearer {token}", "bluemix-instance": guid,
                           "content-type": "application/json"}
                try:
                    if (i + n) % 2:
                        body = key_body(f"race-{n}-{i}", padding=PADDING)
                        status = client.post("/api/v2/keys", headers=headers, json=body).status_code
                    else:
                        body = policy_body(dual())
                        status = client.put("/api/v2/instance/policies", headers=headers, json=body).status_code
                except httpx.HTTPError:
                    status = -1  # a dropped connection counts as a failure too
                with lock:
                    statuses[status] += 1

    fresh_instance()
    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(6)]
    for t in threads:
        t.start()
    started = time.monotonic()
    rounds = 0

    def racing() -> bool:
        """At least RACE_SECONDS and enough work to count (a busy machine gets longer), at most RACE_CAP_SECONDS."""
        elapsed = time.monotonic() - started
        with lock:
            enough = sum(statuses.values()) > 100 and rounds > 10
        return elapsed < RACE_CAP_SECONDS and (elapsed < RACE_SECONDS or not enough)

    try:
        while racing():
            rounds += 1
            if rounds % 2:
                assert control.post("/emulator/reset").status_code == 200
            else:
                assert control.delete(f"/emulator/instances/{guids[-1]}").status_code == 200
            fresh_instance()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        control.close()
    assert sum(statuses.values()) > 100 and rounds > 10
    assert set(statuses) <= {201, 204, 401}, statuses


@pytest.mark.parametrize("removal", ["reset", "deprovision"])
@pytest.mark.parametrize(("module", "method", "path", "body"), [
    (kms_keys, "POST", "/api/v2/keys", key_body()),
    (kms_policies, "PUT", "/api/v2/instance/policies", policy_body(dual())),
], ids=["create-key", "put-policies"])
def test_removal_between_check_and_write_waits_for_the_write(
        running: RunningEmulator, monkeypatch: pytest.MonkeyPatch, removal: str, module: ModuleType, method: str,
        path: str, body: dict[str, Any]) -> None:
    """A reset or deprovision arriving between a KMS write's checks and its write waits for the write to finish."""
    control = httpx.Client(base_url=running.url, timeout=10)
    guid = control.post("/emulator/instances", json={"service": "kms", "event": "none"}).json()["instance"]["guid"]
    token = Kit(running.url).token(FUNCS)
    removed_in_gap: list[bool] = []
    removers: list[threading.Thread] = []
    real_parse = module.parse_body

    def remove() -> None:
        if removal == "reset":
            assert control.post("/emulator/reset").status_code == 200
        else:
            assert control.delete(f"/emulator/instances/{guid}").status_code == 200

    def racing_parse(raw: bytes, error_msg: str) -> Any:
        thread = threading.Thread(target=remove, daemon=True)
        removers.append(thread)
        thread.start()
        thread.join(0.5)  # with the fix the removal waits for the store lock the handler holds
        removed_in_gap.append(not thread.is_alive())
        return real_parse(raw, error_msg)

    monkeypatch.setattr(module, "parse_body", racing_parse)
    resp = httpx.request(method, f"{running.url}{path}", json=body, timeout=10, headers={
        "authorization": f"Bearer {token}", "bluemix-instance": guid})
    assert resp.status_code in (201, 204), resp.text
    assert removed_in_gap == [False]
    removers[0].join(timeout=10)
    assert not removers[0].is_alive()  # and the removal went through once the write was done
    instances = {i["guid"]: i for i in control.get("/emulator/state").json()["instances"]}
    assert guid not in instances if removal == "reset" else instances[guid]["state"] == "removed"
    control.close()
