"""The emulated cloud's state: accounts, principals, instances, policies, keys, token counters.

One ``Store`` per server. Every reader and writer holds ``store.lock`` (an RLock); the HTTP
layer takes it around each KMS handler, so a call's checks and its write see one consistent world
(the other surfaces' handlers take it themselves). The data is plain JSON
(dicts and lists) so it can be written to ``--state-file`` as is: atomically, through a temporary
file in the same folder and ``os.replace``, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
ROLE_RANK = {"Reader": 1, "ReaderPlus": 2, "Writer": 3, "Manager": 4}
SERVICES = ("kms", "hs-crypto")
STATE_VERSION = 1


def iso(ts: float) -> str:
    """RFC 3339, seconds precision, Z suffix (the KMS API's timestamp format)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def instance_crn(service: str, region: str, account: str, guid: str) -> str:
    return f"crn:v1:bluemix:public:{service}:{region}:a/{account}:{guid}::"


class SeedError(ValueError):
    """The seed file is not usable."""


def build_world(seed: JSON, now: float) -> JSON:
    """The initial world from a seed document (see default_seed.json)."""
    try:
        account = str(seed["account_id"])
        world: JSON = {
            "version": STATE_VERSION,
            "account_id": account,
            "resource_group_id": str(seed.get("resource_group_id", "0" * 32)),
            "principals": [],
            "profiles": [copy.deepcopy(p) for p in seed.get("profiles", [])],
            "instances": {},
            "policies": {},
            "keys": {},
        }
        for user in seed.get("users", []):
            world["principals"].append(copy.deepcopy(user))
        for spec in seed.get("instances", []):
            add_instance(world, spec, now)
            for pol in spec.get("policies", []):
                world["policies"][spec["guid"]][pol["policy_type"]] = {
                    "policy_type": pol["policy_type"],
                    "policy_data": copy.deepcopy(pol["policy_data"]),
                    "createdBy": "seed", "creationDate": iso(now),
                    "updatedBy": "seed", "lastUpdated": iso(now),
                }
    except (KeyError, TypeError, ValueError) as exc:
        raise SeedError(f"bad seed: {exc!r}") from exc
    return world


def add_instance(world: JSON, spec: JSON, now: float) -> JSON:
    """Add an instance record (as the Resource Controller stores it) and return it."""
    service = spec["service"]
    if service not in SERVICES:
        raise ValueError(f"service must be one of {SERVICES}")
    guid = str(spec.get("guid") or uuid.uuid4())
    str(uuid.UUID(guid))
    region = str(spec.get("region", "us-south"))
    inst = {
        "guid": guid,
        "service": service,
        "region": region,
        "name": str(spec.get("name") or f"emu-{service}-{guid[:8]}"),
        "crn": instance_crn(service, region, world["account_id"], guid),
        "resource_group_id": str(spec.get("resource_group_id") or world["resource_group_id"]),
        "state": "active",
        "created_at": iso(now),
        "updated_at": iso(now),
        "created_by": str(spec.get("created_by", "IBMid-emu-alice")),
    }
    world["instances"][guid] = inst
    world["policies"][guid] = {}
    world["keys"][guid] = []
    return inst


class Store:
    """Thread-safe holder of the world, the token counters and the clock."""

    def __init__(self, seed_path: str, state_file: str | None = None) -> None:
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.seed_path = seed_path
        self.state_file = state_file
        self.seed = json.loads(Path(seed_path).read_text(encoding="utf-8"))
        self.world: JSON = {}
        self.tokens: JSON = {"secret": secrets.token_hex(32), "issued": 0, "expired_upto": 0}
        loaded = self._load_state_file()
        if not loaded:
            self.world = build_world(self.seed, self.now())

    # --- clock ---------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    # --- lookups -------------------------------------------------------------------------------
    def principal(self, iam_id: str) -> JSON | None:
        for p in [*self.world["principals"], *self.world["profiles"]]:
            if p["iam_id"] == iam_id:
                found: JSON = p
                return found
        return None

    def principal_by_apikey(self, apikey: str) -> JSON | None:
        for p in self.world["principals"]:
            if p.get("apikey") and secrets.compare_digest(str(p["apikey"]).encode(), apikey.encode()):
                found: JSON = p
                return found
        return None

    def profile(self, *, pid: str | None = None, name: str | None = None, crn: str | None = None) -> JSON | None:
        for p in self.world["profiles"]:
            if (pid and p.get("id") == pid) or (name and p.get("name") == name) or (crn and p.get("crn") == crn):
                found: JSON = p
                return found
        return None

    def role_rank(self, principal: JSON, guid: str) -> int:
        roles = principal.get("roles", {})
        role = roles.get(guid) or roles.get("*")
        return ROLE_RANK.get(str(role), 0)

    def instance(self, guid: str) -> JSON | None:
        inst: JSON | None = self.world["instances"].get(guid)
        return inst

    # --- lifecycle -----------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.clock_offset = 0.0
            self.world = build_world(self.seed, self.now())
            self.save()

    def snapshot(self) -> JSON:
        with self.lock:
            return {"world": copy.deepcopy(self.world), "tokens": dict(self.tokens),
                    "clock_offset": self.clock_offset}

    def save(self) -> None:
        """Write the state file atomically (no-op without ``--state-file``)."""
        if not self.state_file:
            return
        with self.lock:
            data = json.dumps(self.snapshot(), indent=1, sort_keys=True)
            target = Path(self.state_file)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def _load_state_file(self) -> bool:
        if not self.state_file or not Path(self.state_file).exists():
            return False
        data = json.loads(Path(self.state_file).read_text(encoding="utf-8"))
        if data.get("world", {}).get("version") != STATE_VERSION:
            raise SeedError(f"{self.state_file}: unknown state version")
        self.world = data["world"]
        self.tokens = data["tokens"]
        self.clock_offset = float(data.get("clock_offset", 0.0))
        return True
