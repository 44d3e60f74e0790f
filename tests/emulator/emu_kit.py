"""Helpers for the emulator tests: seed constants, IAM tokens, KMS calls, the event sink record."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

KP_US = "2b7c9d4e-1f3a-4b5c-8d6e-7f8091a2b3c4"
KP_EU = "6e1f2a3b-4c5d-4e6f-9a7b-8c9d0e1f2a3b"
HPCS = "a4b5c6d7-e8f9-4a0b-8c1d-2e3f4a5b6c7d"
ACCOUNT = "9f2c4e6a8b0d4f1e93a5c7e9b1d3f5a7"
ALICE, BOB, CAROL, FUNCS = (
    "emu-apikey-alice-manager", "emu-apikey-bob-manager", "emu-apikey-carol-reader",
    "emu-apikey-dualauth-functions")
POLICY_CT = "application/vnd.ibm.kms.policy+json"
ERROR_CT = "application/vnd.ibm.kms.error+json"
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"


def policy_body(*resources: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    return {"metadata": {"collectionType": POLICY_CT, "collectionTotal": len(resources) if total is None else total},
            "resources": list(resources)}


def dual(enabled: bool = True) -> dict[str, Any]:
    return {"policy_type": "dualAuthDelete", "policy_data": {"enabled": enabled}}


def key_body(name: str = "emu-root-1", **extra: Any) -> dict[str, Any]:
    res = {"type": "application/vnd.ibm.kms.key+json", "name": name, "extractable": False, **extra}
    return {"metadata": {"collectionType": "application/vnd.ibm.kms.key+json", "collectionTotal": 1},
            "resources": [res]}


def reason(resp: httpx.Response) -> dict[str, Any]:
    """The first reason of a KMS error envelope (asserting the envelope shape on the way)."""
    assert resp.headers["content-type"] == ERROR_CT
    body = resp.json()
    assert body["metadata"] == {"collectionType": ERROR_CT, "collectionTotal": 1}
    assert len(body["resources"]) == 1
    reasons: list[dict[str, Any]] = body["resources"][0]["reasons"]
    assert reasons[0]["status"] == resp.status_code
    assert reasons[0]["moreInfo"] == "https://cloud.ibm.com/apidocs/key-protect"
    return reasons[0]


class Kit:
    """A thin client for the emulator's surfaces."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)
        self._tokens: dict[str, str] = {}

    def token(self, apikey: str = FUNCS, fresh: bool = False) -> str:
        if fresh or apikey not in self._tokens:
            resp = self.http.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": apikey})
            assert resp.status_code == 200, resp.text
            self._tokens[apikey] = resp.json()["access_token"]
        return self._tokens[apikey]

    def kms(self, method: str, path: str, *, who: str = FUNCS, instance: str | None = KP_US,
            body: Any = None, headers: dict[str, str] | None = None, base: str = "",
            params: dict[str, Any] | None = None) -> httpx.Response:
        hdrs = {"authorization": f"Bearer {self.token(who)}"}
        if instance is not None:
            hdrs["bluemix-instance"] = instance
        if body is not None:
            hdrs["content-type"] = "application/json"
        hdrs.update(headers or {})
        content = None if body is None else (body if isinstance(body, bytes | str) else json.dumps(body))
        return self.http.request(method, f"{base}/api/v2{path}", headers=hdrs, content=content, params=params)

    def set_dual(self, enabled: bool = True, instance: str = KP_US, who: str = FUNCS) -> None:
        resp = self.kms("PUT", "/instance/policies", instance=instance, who=who, body=policy_body(dual(enabled)),
                        params={"policy": "dualAuthDelete"})
        assert resp.status_code == 204, resp.text

    def create_key(self, name: str = "emu-root-1", instance: str = KP_US, **extra: Any) -> dict[str, Any]:
        resp = self.kms("POST", "/keys", instance=instance, body=key_body(name, **extra))
        assert resp.status_code == 201, resp.text
        key: dict[str, Any] = resp.json()["resources"][0]
        return key

    def control(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, f"/emulator{path}", json=body)


@dataclass
class Sink:
    """A recording HTTP endpoint; ``statuses`` are answered in order, then 200."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if len(self.received) >= count:
                return self.received
            deadline.wait(0.02)
        raise AssertionError(f"sink got {len(self.received)} requests, wanted {count}")
