"""KMS instance-policy API: request shaping (pure) and a thin client, one method per operation.

Shaping follows the team's KMS API notes (§1; kept outside this repository): `?policy=dualAuthDelete`, one resource with
`policy_type`/`policy_data` for enable and disable alike, headers `authorization: Bearer`,
`bluemix-instance: <instance GUID>`, `content-type`/`accept: application/vnd.ibm.kms.policy+json`,
and a `correlation-id` for tracing. Errors come back as the KMS error envelope and are parsed
once, into KmsError with the HTTP status and `reasons[0].code` (never the wording of errorMsg).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shared.errors import REASON_CODE, KmsError
from shared.iam import TokenProvider
from shared.retry import RetryPolicy, call_timeout, is_retryable_status, json_of, parse_retry_after, send

POLICY_MEDIA_TYPE = "application/vnd.ibm.kms.policy+json"
POLICY_PATH = "/api/v2/instance/policies"
DUAL_AUTH = "dualAuthDelete"


@dataclass(frozen=True)
class KmsRequest:
    method: str
    url: str
    params: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None


def _headers(instance_guid: str, correlation_id: str, with_body: bool) -> tuple[tuple[str, str], ...]:
    headers = [("bluemix-instance", instance_guid), ("accept", POLICY_MEDIA_TYPE), ("correlation-id", correlation_id)]
    if with_body:
        headers.append(("content-type", POLICY_MEDIA_TYPE))
    return tuple(headers)


def get_dual_auth_request(base_url: str, instance_guid: str, correlation_id: str) -> KmsRequest:
    return KmsRequest(
        "GET", base_url + POLICY_PATH, (("policy", DUAL_AUTH),), _headers(instance_guid, correlation_id, False)
    )


def put_dual_auth_request(base_url: str, instance_guid: str, enabled: bool, correlation_id: str) -> KmsRequest:
    body = {
        "metadata": {"collectionType": POLICY_MEDIA_TYPE, "collectionTotal": 1},
        "resources": [{"policy_type": DUAL_AUTH, "policy_data": {"enabled": enabled}}],
    }
    return KmsRequest(
        "PUT",
        base_url + POLICY_PATH,
        (("policy", DUAL_AUTH),),
        _headers(instance_guid, correlation_id, True),
        json.dumps(body, separators=(",", ":")).encode(),
    )


def dual_auth_state(body: Any) -> bool | None:
    """`enabled` of the dualAuthDelete entry in a policy collection; None when never set.

    Only the dualAuthDelete entry counts: other policies in the collection are not our concern.
    """
    if not isinstance(body, Mapping):
        raise KmsError("policy response is not a JSON object", reason_code="unexpected_response")
    resources = body.get("resources")
    if resources is None:  # an empty collection may leave the list out
        return None
    if not isinstance(resources, list):
        raise KmsError("policy response `resources` is not a list", reason_code="unexpected_response")
    states = set()
    for resource in resources:
        if isinstance(resource, Mapping) and resource.get("policy_type") == DUAL_AUTH:
            data = resource.get("policy_data")
            enabled = data.get("enabled") if isinstance(data, Mapping) else None
            if not isinstance(enabled, bool):
                raise KmsError("dualAuthDelete entry has no boolean `enabled`", reason_code="unexpected_response")
            states.add(enabled)
    if len(states) > 1:
        raise KmsError("policy response has conflicting dualAuthDelete entries", reason_code="unexpected_response")
    return states.pop() if states else None


def parse_error(response: httpx.Response, correlation_id: str) -> KmsError:
    """Translate a KMS error response (envelope or not) into one KmsError."""
    status = response.status_code
    reason_code = message = None
    try:
        body = json_of(response)
        first = body["resources"][0]
        message = first.get("errorMsg")
        reasons = first.get("reasons") or []
        if reasons and isinstance(reasons[0], Mapping):
            reason_code = reasons[0].get("code")
            message = reasons[0].get("message") or message
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    if not isinstance(reason_code, str) or not REASON_CODE.fullmatch(reason_code):
        reason_code = f"HTTP_{status}"
    return KmsError(
        f"KMS answered {status} {reason_code}",
        status=status,
        reason_code=reason_code,
        correlation_id=response.headers.get("correlation-id") or correlation_id,
        # KMS answers 401 both to an expired token and to a caller without access, and a new
        # instance's access may take a moment to reach the service ID: let the platform redeliver.
        retryable=is_retryable_status(status) or status == 401,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        detail=message if isinstance(message, str) else None,
    )


class KmsClient:
    """Sends shaped requests with a bearer token, bounded retries and one refresh on 401."""

    def __init__(self, http: httpx.Client, tokens: TokenProvider, retry: RetryPolicy) -> None:
        self._http = http
        self._tokens = tokens
        self._retry = retry

    def get_dual_auth(self, base_url: str, instance_guid: str, correlation_id: str) -> bool | None:
        response = self._send(get_dual_auth_request(base_url, instance_guid, correlation_id), correlation_id)
        body = json_of(response)
        if body is None:
            raise KmsError("policy response is not JSON", reason_code="unexpected_response")
        return dual_auth_state(body)

    def set_dual_auth(self, base_url: str, instance_guid: str, enabled: bool, correlation_id: str) -> None:
        self._send(put_dual_auth_request(base_url, instance_guid, enabled, correlation_id), correlation_id)

    def _send(self, request: KmsRequest, correlation_id: str) -> httpx.Response:
        for refreshed in (False, True):
            token = self._tokens.token()
            response = self._attempt(request, token, correlation_id)
            if response.status_code == 401 and not refreshed and self._tokens.invalidate(token):
                continue
            break
        if not response.is_success:  # a redirect is not followed (it would carry our token) and is no answer
            raise parse_error(response, correlation_id)
        return response

    def _attempt(self, request: KmsRequest, token: str, correlation_id: str) -> httpx.Response:
        def do() -> httpx.Response:
            return self._http.request(
                request.method,
                request.url,
                params=request.params,
                headers=(*request.headers, ("authorization", f"Bearer {token}")),
                content=request.body,
                timeout=call_timeout(self._http),
            )

        try:
            self._http.build_request(request.method, request.url, params=request.params)
        except (httpx.InvalidURL, ValueError):  # e.g. a host IDNA cannot encode
            raise KmsError("KMS endpoint URL is not valid", reason_code="invalid_endpoint") from None
        try:
            return send(self._retry, do)
        except httpx.DecodingError:  # an answer whose Content-Encoding does not match its bytes
            raise KmsError(
                "KMS answer could not be decoded",
                reason_code="unexpected_response",
                correlation_id=correlation_id,
                retryable=True,
            ) from None
        except httpx.TransportError as exc:
            raise KmsError(
                f"KMS unreachable ({type(exc).__name__})",
                reason_code="connection_error",
                correlation_id=correlation_id,
                retryable=True,
            ) from None
