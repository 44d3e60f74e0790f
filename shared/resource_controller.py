"""Platform lookups: an instance's Resource Controller record, and its HPCS broker entry."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from shared.crn import Crn
from shared.endpoints import broker_url
from shared.errors import ResourceControllerError
from shared.iam import TokenProvider
from shared.retry import RetryPolicy, call_timeout, is_retryable_status, json_of, parse_retry_after, send


class _JsonGetter:
    def __init__(self, http: httpx.Client, tokens: TokenProvider, retry: RetryPolicy, what: str, code: str) -> None:
        self._http = http
        self._tokens = tokens
        self._retry = retry
        self._what = what
        self._code = code  # the reason code of this service's failures

    def get(self, url: str) -> dict[str, Any]:
        """GET a JSON object with a bearer token and bounded retries, or raise ResourceControllerError."""
        headers = {"authorization": f"Bearer {self._tokens.token()}", "accept": "application/json"}
        try:
            response = send(self._retry, lambda: self._http.get(url, headers=headers, timeout=call_timeout(self._http)))
        except (httpx.TransportError, httpx.DecodingError) as exc:  # no answer, or one whose encoding is broken
            raise ResourceControllerError(
                f"{self._what} unreachable or unreadable ({type(exc).__name__})", code=self._code, retryable=True
            ) from None
        status = response.status_code
        if status != 200:
            raise ResourceControllerError(
                f"{self._what} answered {status} for the instance lookup",
                status=status,
                code="instance_not_found" if status == 404 else f"lookup_http_{status}",
                retryable=is_retryable_status(status),
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        body = json_of(response)
        if not isinstance(body, dict):
            raise ResourceControllerError(f"{self._what} answer is not a JSON object", code=self._code, retryable=True)
        return body


class ResourceController(_JsonGetter):
    def __init__(self, http: httpx.Client, base_url: str, tokens: TokenProvider, retry: RetryPolicy) -> None:
        super().__init__(http, tokens, retry, "Resource Controller", "resource_controller_error")
        self._base = base_url.rstrip("/")

    def get_instance(self, crn: Crn) -> dict[str, Any]:
        return self.get(f"{self._base}/v2/resource_instances/{quote(str(crn), safe='')}")


class HpcsBroker(_JsonGetter):
    def __init__(self, http: httpx.Client, url_template: str, tokens: TokenProvider, retry: RetryPolicy) -> None:
        super().__init__(http, tokens, retry, "HPCS broker", "hpcs_broker_error")
        self._template = url_template

    def get_instance(self, crn: Crn) -> dict[str, Any]:
        return self.get(
            f"{broker_url(self._template, crn.location)}/crypto_v2/instances/{quote(crn.instance, safe='')}"
        )
