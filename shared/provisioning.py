"""The flow behind `on_instance_created`: verify the shared secret, parse, decide, enforce."""

from __future__ import annotations

import hmac
from dataclasses import replace

from shared.edge import Inbound
from shared.endpoints import check_region
from shared.enforce import Outcome, ignored
from shared.errors import DualAuthError, Unauthenticated
from shared.events import parse_event, select_target
from shared.runtime import Runtime


def verify_event_token(runtime: Runtime, inbound: Inbound) -> None:
    """When DUALAUTH_EVENT_TOKEN is set, the configured header must carry it (bare or as `Bearer <token>`)."""
    expected = runtime.settings.event_token
    if expected is None:
        return
    presented = inbound.headers.get(runtime.settings.event_token_header.lower(), "").strip()
    if presented[:7].lower() == "bearer ":
        presented = presented[7:].strip()
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthenticated(f"missing or wrong {runtime.settings.event_token_header} header")


def handle_provisioning_event(runtime: Runtime, inbound: Inbound) -> Outcome:
    event = parse_event(inbound.headers, inbound.body)
    try:
        target = select_target(event)
        if isinstance(target, str):
            outcome = ignored(target, str(event.crn) if event.crn else None)
        else:
            check_region(target, runtime.settings.allowed_regions)
            outcome = runtime.enforcer().ensure_enabled(target, inbound.correlation_id)
    except DualAuthError as exc:  # refused after parsing: the audit line still says which event
        exc.event.update(instance_crn=str(event.crn) if event.crn else None, event_id=event.event_id)
        raise
    return replace(outcome, event_id=event.event_id)
