"""The use case: make sure one instance has dualAuthDelete enabled, and say what happened.

GET the policy → already on: `compliant` (zero PUTs) → dry run: `would_enable` → PUT → GET again
→ on: `enabled`; still off: `failed` (NOT_CONFIRMED, retryable). "Enabled" is only reported after
a GET has shown `enabled: true`. Only the dualAuthDelete entry is compared; "never set" counts as
off. Upstream failures become a `failed` Outcome carrying the reason code, never an exception.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum

from shared.crn import Crn
from shared.errors import UpstreamError
from shared.kms import KmsClient

EXISTING_KEYS_NOTE = "keys created before the policy was enabled still need only one authorization"
HPCS_END_NOTE = "HPCS is deprecated: IBM takes no new instances since 2026-03-28 and removes the rest after 2027-03-28"


class Kind(StrEnum):
    COMPLIANT = "compliant"
    ENABLED = "enabled"
    WOULD_ENABLE = "would_enable"
    EXEMPT = "exempt"
    IGNORED = "ignored"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    reason: str
    instance_crn: str | None = None
    reason_code: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    puts: int = 0
    event_id: str | None = None
    warning: str | None = None
    detail: str | None = None  # an upstream service's own words: logged, never replied

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"outcome": str(self.kind), "reason": self.reason}
        for name in ("instance_crn", "reason_code", "warning"):
            if getattr(self, name):
                body[name] = getattr(self, name)
        return body


def ignored(reason: str, instance_crn: str | None = None) -> Outcome:
    return Outcome(Kind.IGNORED, reason, instance_crn)


def is_exempt(crn: Crn, exempt: frozenset[str]) -> bool:
    """`exempt` holds lower-case instance GUIDs (see config); only the GUID decides."""
    return crn.instance.lower() in exempt


class InstanceLocks:
    """One lock per instance GUID while someone holds or waits for it: concurrent deliveries for the
    same instance in one process run one after another, so the second reads the first's result
    instead of sending a second PUT (across processes the PUT is idempotent anyway). Entries are
    dropped when the last user leaves, so forged GUIDs cannot grow the table."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextmanager
    def hold(self, guid: str, timeout: float) -> Iterator[bool]:
        """Yields True once the instance's lock is held, False if `timeout` passed first."""
        key = guid.lower()
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        acquired = lock.acquire(timeout=timeout)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


@dataclass(frozen=True)
class Enforcer:
    kms: KmsClient
    resolve_base_url: Callable[[Crn], str]
    dry_run: bool = False
    exempt: frozenset[str] = frozenset()
    locks: InstanceLocks = field(default_factory=InstanceLocks)
    lock_wait: float = 8.0

    def ensure_enabled(self, crn: Crn, correlation_id: str) -> Outcome:
        if is_exempt(crn, self.exempt):
            return Outcome(Kind.EXEMPT, "instance is on the exemption list", str(crn))
        with self.locks.hold(crn.instance, self.lock_wait) as held:
            if not held:
                return Outcome(
                    Kind.FAILED,
                    "another delivery for this instance is still running",
                    str(crn),
                    reason_code="BUSY",
                    retryable=True,
                )
            outcome = self._ensure(crn, correlation_id)
        return replace(outcome, warning=HPCS_END_NOTE) if crn.service == "hs-crypto" else outcome

    def _ensure(self, crn: Crn, correlation_id: str) -> Outcome:
        target = str(crn)
        puts = 0
        try:
            base = self.resolve_base_url(crn)
            if self.kms.get_dual_auth(base, crn.instance, correlation_id) is True:
                return Outcome(Kind.COMPLIANT, "dualAuthDelete already enabled", target)
            if self.dry_run:
                return Outcome(Kind.WOULD_ENABLE, "dualAuthDelete is off; dry run, nothing changed", target)
            self.kms.set_dual_auth(base, crn.instance, True, correlation_id)
            puts = 1
            if self.kms.get_dual_auth(base, crn.instance, correlation_id) is not True:
                return Outcome(
                    Kind.FAILED,
                    "PUT was accepted but a GET still shows dualAuthDelete off",
                    target,
                    reason_code="NOT_CONFIRMED",
                    retryable=True,
                    puts=puts,
                )
        except UpstreamError as exc:
            return Outcome(
                Kind.FAILED,
                exc.message,
                target,
                reason_code=exc.code,
                retryable=exc.retryable,
                retry_after=exc.retry_after,
                puts=puts,
                detail=exc.detail,
            )
        return Outcome(Kind.ENABLED, f"dualAuthDelete enabled and read back; {EXISTING_KEYS_NOTE}", target, puts=puts)
