"""Helpers for the integration tests: seed instances, events, the emulator's journal and faults."""

from __future__ import annotations

import time
from typing import Any

import httpx

ACCOUNT = "1a2b3c4d5e6f708192a3b4c5d6e7f809"
NEW_GUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def alice_token(emulator: Any) -> str:
    return str(
        httpx.post(
            emulator.url + "/identity/token",
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": "emu-apikey-alice-manager"},
        ).json()["access_token"]
    )


def instances(emulator: Any) -> dict[str, dict[str, Any]]:
    """The seed's Resource Controller records by service-region: kms-us-south, kms-eu-de, hs-crypto-us-south."""
    rows = httpx.get(
        emulator.url + "/v2/resource_instances", headers={"authorization": f"Bearer {alice_token(emulator)}"}
    ).json()["resources"]
    found = {f"{r['crn'].split(':')[4]}-{r['crn'].split(':')[5]}": r for r in rows}
    httpx.delete(emulator.url + "/emulator/journal")
    return found


def lifecycle_event(crn: str, type_: str = "com.ibm.cloud.resource-lifecycle:instance.create") -> dict[str, Any]:
    parts = crn.split(":")
    service = parts[4] if len(parts) > 4 else "kms"
    return {
        "specversion": "1.0",
        "id": "evt-test-1",
        "source": "crn:v1:bluemix:public:event-notifications:us-south:a/x:y::",
        "type": type_,
        "datacontenttype": "application/json",
        "notification_id": "n-1",
        "ibmensourceid": "src:rc",
        "data": {
            "event_type": "resource-controller.instance.create",
            "context": {"activity": {"action": f"{service}.instance.create", "outcome": "success"}},
            "event_properties": {"crn": crn, "last_operation": {"type": "create", "state": "succeeded"}},
        },
    }


def journal(emulator: Any) -> list[dict[str, Any]]:
    return list(httpx.get(emulator.url + "/emulator/journal").json()["calls"])


def policy_calls(emulator: Any, method: str) -> list[dict[str, Any]]:
    return [c for c in journal(emulator) if c["method"] == method and c["path"].endswith("/api/v2/instance/policies")]


def dual_auth_enabled(emulator: Any, instance: dict[str, Any]) -> bool | None:
    token = alice_token(emulator)
    base = instance["extensions"]["endpoints"]["public"]
    body = httpx.get(
        base + "/api/v2/instance/policies",
        params={"policy": "dualAuthDelete"},
        headers={"authorization": f"Bearer {token}", "bluemix-instance": instance["guid"]},
    ).json()
    for r in body.get("resources") or []:
        if r["policy_type"] == "dualAuthDelete":
            return bool(r["policy_data"]["enabled"])
    return None


def fault(emulator: Any, **rule: Any) -> None:
    httpx.post(emulator.url + "/emulator/faults", json=rule).raise_for_status()


def wait_for_delivery(emulator: Any, delivery_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The emulator's record of an event delivery, once it is no longer pending."""
    deadline = time.monotonic() + timeout
    while True:
        delivery: dict[str, Any] = httpx.get(emulator.url + f"/emulator/deliveries/{delivery_id}").json()
        if delivery["state"] != "pending" or time.monotonic() > deadline:
            return delivery
        time.sleep(0.1)
