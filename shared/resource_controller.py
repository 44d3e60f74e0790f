"""Resource Controller: look up one instance record (for its endpoints), list instances (for the sweep)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from shared.crn import Crn
from shared.errors import ResourceControllerError
from shared.iam import TokenProvider
from shared.retry import RetryPolicy, is_retryable_status, parse_retry_after, send


class ResourceController:
    def __init__(self, http: httpx.Client, base_url: str, tokens: TokenProvider, retry: RetryPolicy) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._tokens = tokens
        self._retry = retry

    def get_instance(self, crn: Crn) -> dict[str, Any]:
        url = f"{self._base}/v2/resource_instances/{quote(str(crn), safe='')}"
        token = self._tokens.token()
        try:
            response = send(
                self._retry,
                lambda: self._http.get(url, headers={"authorization": f"Bearer {token}", "accept": "application/json"}),
            )
        except httpx.TransportError as exc:
            raise ResourceControllerError(
                f"Resource Controller unreachable ({type(exc).__name__})", retryable=True
            ) from None
        if response.status_code != 200:
            raise ResourceControllerError(
                f"Resource Controller answered {response.status_code} for the instance lookup",
                status=response.status_code,
                code="instance_not_found" if response.status_code == 404 else f"rc_http_{response.status_code}",
                retryable=is_retryable_status(response.status_code),
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ResourceControllerError("instance record is not a JSON object", retryable=True)
        return body
