"""The per-process objects every handler shares: settings, one httpx client, IAM, KMS, logging.

Built lazily on first use (not at import, to keep cold starts light) and once per process.
Tests build their own with `build_runtime`, passing a transport, clock or sleep as seams.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from shared.config import Settings, get_settings
from shared.crn import Crn
from shared.endpoints import hpcs_base_url, key_protect_url
from shared.enforce import Enforcer, InstanceLocks
from shared.errors import ConfigError
from shared.iam import TokenProvider
from shared.kms import KmsClient
from shared.log import JsonLog, Redactor
from shared.resource_controller import HpcsBroker, ResourceController
from shared.retry import RetryPolicy
from shared.transport import build as deadline_transport


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    http: httpx.Client
    tokens: TokenProvider
    kms: KmsClient
    resource_controller: ResourceController
    hpcs_broker: HpcsBroker
    log: JsonLog
    locks: InstanceLocks

    def base_url(self, crn: Crn) -> str:
        """The KMS API base URL serving this instance (Key Protect by region, HPCS per instance)."""
        s = self.settings
        if crn.service == "kms":
            return key_protect_url(crn.location, s.endpoint_type, s.kms_url)
        return hpcs_base_url(
            crn,
            endpoint_type=s.endpoint_type,
            resource_controller_url=s.resource_controller_url,
            lookup_record=self.resource_controller.get_instance,
            broker_template=s.hpcs_broker_url,
            lookup_broker=self.hpcs_broker.get_instance,
        )

    def enforcer(self) -> Enforcer:
        s = self.settings
        return Enforcer(
            self.kms,
            self.base_url,
            dry_run=s.dry_run,
            exempt=s.exempt_instances,
            locks=self.locks,
            lock_wait=s.retry_budget,
        )


def build_runtime(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    log: JsonLog | None = None,
) -> Runtime:
    http = httpx.Client(
        timeout=httpx.Timeout(settings.http_timeout),
        transport=transport or deadline_transport(),
        follow_redirects=False,
        headers={"user-agent": "dualauth/0.1"},
    )
    retry = RetryPolicy(max_retries=settings.retry_max, budget=settings.retry_budget)
    if sleep is not None:
        retry.sleep = sleep
    tokens = TokenProvider(
        http,
        settings.iam_url,
        retry,
        api_key=settings.api_key,
        trusted_profile_id=settings.trusted_profile_id,
        cr_token_file=settings.cr_token_file,
    )
    return Runtime(
        settings=settings,
        http=http,
        tokens=tokens,
        kms=KmsClient(http, tokens, retry),
        resource_controller=ResourceController(http, settings.resource_controller_url, tokens, retry),
        hpcs_broker=HpcsBroker(http, settings.hpcs_broker_url, tokens, retry),
        log=log or JsonLog(Redactor(settings.secrets())),
        locks=InstanceLocks(),
    )


_lock = threading.Lock()
_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """The process's Runtime, built on first call (raises ConfigError when settings are invalid)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(get_settings())
        return _runtime


def startup() -> None:
    """Validate settings when the process starts, so a misconfigured deploy fails fast and says why.

    Logs one JSON line: `startup` with the non-secret settings, or `startup_failed` naming every
    bad variable, then exits, which stops functions-framework before it serves a request.
    """
    log = JsonLog()
    try:
        s = get_settings()
        if s.trusted_profile_id and not os.access(s.cr_token_file, os.R_OK):
            raise ConfigError(["IBMCLOUD_CR_TOKEN_FILE: not readable (is a compute-resource token mounted?)"])
    except ConfigError as exc:
        log.emit("startup_failed", problems=exc.problems)
        raise SystemExit(2) from None
    log.emit(
        "startup",
        iam_url=s.iam_url,
        resource_controller_url=s.resource_controller_url,
        kms_url=s.kms_url,
        endpoint_type=s.endpoint_type,
        dry_run=s.dry_run,
        credential="api_key" if s.api_key else "trusted_profile",
        event_token=s.event_token is not None,
        **(
            {}
            if s.event_token
            else {
                "warning": "DUALAUTH_EVENT_TOKEN is not set: any caller that reaches this URL can trigger enforcement"
            }
        ),
    )
