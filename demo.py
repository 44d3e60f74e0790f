"""The demo: the main job end to end on the local emulator, checked link by link.

Starts the emulator and `on_instance_created` (under functions-framework) as separate processes
on free ports, provisions a Key Protect and an HPCS instance in the emulator (their lifecycle
events go to the function), waits for each event to be handled, then reads the API to show that
dualAuthDelete is enabled, that a key created afterwards needs two different Managers to delete,
and that a second delivery of the same event sends no PUT. Exits non-zero if any link failed.

    python3 tasks.py demo        (or, inside the venv: python -m demo)
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from stack import Process, emulator_env, free_port, start_emulator, start_function

ALICE, BOB = "emu-apikey-alice-manager", "emu-apikey-bob-manager"
KEY_MEDIA = "application/vnd.ibm.kms.key+json"


@dataclass
class Report:
    rows: list[tuple[bool, str]] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> bool:
        self.rows.append((ok, text))
        print(f"  [{'ok' if ok else 'FAIL'}] {text}", flush=True)
        return ok

    @property
    def passed(self) -> bool:
        return all(ok for ok, _ in self.rows)


class Cloud:
    """A caller of the emulated IBM Cloud, acting as one user at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10.0)
        self._tokens: dict[str, str] = {}

    def token(self, api_key: str) -> str:
        if api_key not in self._tokens:
            r = self.http.post(
                "/identity/token",
                data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": api_key},
            )
            r.raise_for_status()
            self._tokens[api_key] = r.json()["access_token"]
        return self._tokens[api_key]

    def kms(self, method: str, path: str, api_key: str, base: str, guid: str, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token(api_key)}", "bluemix-instance": guid, **kw.pop("headers", {})}
        return self.http.request(method, base + "/api/v2" + path, headers=headers, **kw)

    def provision(self, service: str, region: str, name: str, event: str) -> dict[str, Any]:
        r = self.http.post(
            "/emulator/instances", json={"service": service, "region": region, "name": name, "event": event}
        )
        r.raise_for_status()
        return dict(r.json())

    def delivery(self, delivery_id: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for d in self.http.get("/emulator/deliveries").json()["deliveries"]:
                if d["id"] == delivery_id and d["state"] != "pending":
                    return dict(d)
            time.sleep(0.1)
        raise TimeoutError(f"event delivery {delivery_id} not finished after {timeout}s")

    def puts_since(self, seq: int) -> int:
        calls = self.http.get("/emulator/journal").json()["calls"]
        return sum(
            1 for c in calls if c["seq"] > seq and c["method"] == "PUT" and c["path"].endswith("/instance/policies")
        )

    def last_seq(self) -> int:
        calls = self.http.get("/emulator/journal").json()["calls"]
        return max((c["seq"] for c in calls), default=0)


def audit_for(function: Process, crn: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in function.output().splitlines() if line.startswith('{"ts"')]
    return [line for line in lines if line.get("instance_crn") == crn]


def exercise_instance(cloud: Cloud, function: Process, report: Report, service: str, region: str, event: str) -> None:
    label = {"kms": "Key Protect", "hs-crypto": "HPCS"}[service]
    source = "an Event Notifications" if event == "en" else "an Activity Tracker"
    print(f"\n{label} instance in {region}, announced by {source} event")
    created = cloud.provision(service, region, f"demo-{service}", event)
    instance = created["instance"]
    guid, base = instance["guid"], instance["extensions"]["endpoints"]["public"].removeprefix(cloud.url)
    delivery = cloud.delivery(created["delivery"])
    status = delivery["attempts"][-1].get("status")
    audit = audit_for(function, instance["crn"])
    outcome = audit[-1]["outcome"] if audit else "no audit line"
    report.check(
        status == 200 and outcome == "enabled", f"the function handled the event: HTTP {status}, outcome {outcome}"
    )

    policy = cloud.kms("GET", "/instance/policies?policy=dualAuthDelete", ALICE, base, guid).json()
    enabled = [r for r in policy.get("resources", []) if r.get("policy_type") == "dualAuthDelete"]
    report.check(
        bool(enabled) and enabled[0]["policy_data"]["enabled"] is True,
        f"GET instance policy shows dualAuthDelete enabled (set by {enabled[0]['updatedBy'] if enabled else '-'})",
    )

    body = {
        "metadata": {"collectionType": KEY_MEDIA, "collectionTotal": 1},
        "resources": [{"type": KEY_MEDIA, "name": "demo-root-key", "extractable": False}],
    }
    key = cloud.kms("POST", "/keys", ALICE, base, guid, json=body, headers={"content-type": KEY_MEDIA}).json()[
        "resources"
    ][0]
    report.check(
        key.get("dualAuthDelete", {}).get("enabled") is True, "a key created afterwards inherits dual authorization"
    )

    alone = cloud.kms("DELETE", f"/keys/{key['id']}", ALICE, base, guid)
    code = alone.json()["resources"][0]["reasons"][0]["code"] if alone.status_code == 409 else "-"
    report.check(
        alone.status_code == 409 and code == "AUTHORIZATIONS_NOT_MET",
        f"one Manager alone cannot delete it: HTTP {alone.status_code} {code}",
    )
    first = cloud.kms("POST", f"/keys/{key['id']}/actions/setKeyForDeletion", ALICE, base, guid)
    again = cloud.kms("DELETE", f"/keys/{key['id']}", ALICE, base, guid)
    report.check(
        first.status_code == 204 and again.status_code == 409,
        f"Alice authorizes (HTTP {first.status_code}) and still cannot delete it herself (HTTP {again.status_code})",
    )
    second = cloud.kms("DELETE", f"/keys/{key['id']}", BOB, base, guid, headers={"prefer": "return=minimal"})
    report.check(
        second.status_code in (200, 204), f"a second, different Manager (Bob) deletes it: HTTP {second.status_code}"
    )

    mark = cloud.last_seq()
    redelivered = cloud.http.post(f"/emulator/deliveries/{created['delivery']}/redeliver").json()
    puts = cloud.puts_since(mark)
    audit = audit_for(function, instance["crn"])
    outcome = audit[-1]["outcome"] if audit else "no audit line"
    report.check(
        redelivered.get("status") == 200 and puts == 0 and outcome == "compliant",
        f"the same event delivered again: HTTP {redelivered.get('status')}, outcome {outcome}, {puts} PUTs sent",
    )


def main() -> int:
    report = Report()
    function_port = free_port()
    processes: list[Process] = []
    try:
        emulator = start_emulator(sink=f"http://127.0.0.1:{function_port}/")
        processes.append(emulator)
        print(f"emulator (IAM, KMS, Resource Controller) on {emulator.url}")
        function = start_function("on_instance_created", emulator_env(emulator.url), port=function_port)
        processes.append(function)
        print(f"on_instance_created (functions-framework) on {function.url}")
        cloud = Cloud(emulator.url)
        exercise_instance(cloud, function, report, "kms", "us-south", "en")
        exercise_instance(cloud, function, report, "hs-crypto", "us-south", "at")
        audits = [line for line in function.output().splitlines() if '"kind": "audit"' in line]
        print(f"\nthe function's last audit line:\n  {audits[-1] if audits else '-'}")
    except Exception as exc:  # noqa: BLE001 - the demo reports any broken link and exits non-zero
        report.check(False, f"demo could not continue: {type(exc).__name__}: {exc}")
    finally:
        for process in reversed(processes):
            process.stop()
    failed = sum(1 for ok, _ in report.rows if not ok)
    print(
        f"\n{len(report.rows) - failed} of {len(report.rows)} checks passed"
        + ("" if report.passed else " — DEMO FAILED")
    )
    return 0 if report.passed and report.rows else 1


if __name__ == "__main__":
    sys.exit(main())
