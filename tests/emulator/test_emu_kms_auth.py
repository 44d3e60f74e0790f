"""Authentication, instance selection, roles and headers of the emulated KMS API (spec §1.2, §5, §10)."""

from __future__ import annotations

import httpx
from emu_kit import CAROL, HPCS, KP_EU, KP_US, Kit, dual, key_body, policy_body, reason


def test_missing_bearer_is_401(kit: Kit) -> None:
    """No authorization header answers 401 in the KMS error envelope."""
    resp = kit.http.get("/api/v2/keys", headers={"bluemix-instance": KP_US})
    assert resp.status_code == 401
    assert resp.json()["resources"][0]["errorMsg"].startswith("Unauthorized")
    assert reason(resp)["code"] == "UNAUTHORIZED_ERR"


def test_garbage_bearer_is_bearer_sub_extraction_err(kit: Kit) -> None:
    """A bearer that is not a JWT answers 400 BEARER_SUB_EXTRACTION_ERR."""
    resp = kit.http.get("/api/v2/keys", headers={"bluemix-instance": KP_US, "authorization": "Bearer garbage"})
    assert resp.status_code == 400
    assert reason(resp)["code"] == "BEARER_SUB_EXTRACTION_ERR"


def test_forged_signature_is_401(kit: Kit) -> None:
    """A readable token with a wrong signature answers 401."""
    head, body, _ = kit.token().split(".")
    resp = kit.http.get("/api/v2/keys", headers={"bluemix-instance": KP_US,
                                                 "authorization": f"Bearer {head}.{body}.AAAA"})
    assert resp.status_code == 401


def test_expired_tokens_are_401(kit: Kit) -> None:
    """After /emulator/tokens/expire every earlier token answers 401; a new token works."""
    assert kit.kms("GET", "/keys").status_code == 200
    assert kit.control("POST", "/tokens/expire").status_code == 200
    assert kit.kms("GET", "/keys").status_code == 401
    kit.token(fresh=True)
    assert kit.kms("GET", "/keys").status_code == 200


def test_clock_advance_expires_tokens(kit: Kit) -> None:
    """Advancing the emulator clock past exp makes a token answer 401."""
    kit.kms("GET", "/keys")
    kit.control("POST", "/clock", {"advance_seconds": 3601})
    assert kit.kms("GET", "/keys").status_code == 401


def test_reader_cannot_manage_policies_or_create_keys(kit: Kit) -> None:
    """A Reader may list keys but gets 401 UNAUTHORIZED_ERR for policies and key creation."""
    assert kit.kms("GET", "/keys", who=CAROL).status_code == 200
    resp = kit.kms("GET", "/instance/policies", who=CAROL)
    assert resp.status_code == 401
    assert reason(resp)["code"] == "UNAUTHORIZED_ERR"
    assert kit.kms("POST", "/keys", who=CAROL, body=key_body()).status_code == 401
    put = kit.kms("PUT", "/instance/policies", who=CAROL, body=policy_body(dual()))
    assert put.status_code == 401


def test_missing_instance_header_is_400(kit: Kit) -> None:
    """A missing bluemix-instance answers 400 by default (unconfirmed; switch missing_instance_status)."""
    resp = kit.kms("GET", "/keys", instance=None)
    assert resp.status_code == 400
    assert reason(resp)["code"] == "MISSING_INSTANCE_ERR"


def test_unknown_instance_is_401_or_switched_404(kit: Kit) -> None:
    """An unknown instance answers 401 by default and 404 with unknown_instance_status=404."""
    assert kit.kms("GET", "/keys", instance="00000000-0000-4000-8000-000000000000").status_code == 401
    kit.control("PATCH", "/settings", {"unknown_instance_status": 404})
    resp = kit.kms("GET", "/keys", instance="00000000-0000-4000-8000-000000000000")
    assert resp.status_code == 404
    assert reason(resp)["code"] == "INSTANCE_NOT_FOUND_ERR"


def test_correlation_id_is_echoed_or_generated(kit: Kit) -> None:
    """correlation-id is echoed back, or generated when absent."""
    resp = kit.kms("GET", "/keys", headers={"correlation-id": "abc-123"})
    assert resp.headers["correlation-id"] == "abc-123"
    assert len(kit.kms("GET", "/keys").headers["correlation-id"]) == 36


def test_content_types_accepted(kit: Kit) -> None:
    """PUT accepts application/json, application/vnd.ibm.kms.policy+json and no content-type."""
    body = policy_body(dual())
    for ctype in ("application/json", "application/vnd.ibm.kms.policy+json; charset=utf-8"):
        assert kit.kms("PUT", "/instance/policies", body=body, headers={"content-type": ctype}).status_code == 204
    import json

    resp = httpx.put(f"{kit.url}/api/v2/instance/policies", content=json.dumps(body).encode(),
                     headers={"authorization": f"Bearer {kit.token()}", "bluemix-instance": KP_US})
    assert resp.status_code == 204


def test_hpcs_endpoint_serves_only_its_instance(kit: Kit) -> None:
    """B/hpcs/{guid}/api/v2 serves that HPCS instance; a Key Protect instance there is unknown (401)."""
    base = f"/hpcs/{HPCS}"
    assert kit.kms("GET", "/instance/policies", instance=HPCS, base=base).status_code == 200
    assert kit.kms("GET", "/instance/policies", instance=KP_EU, base=base).status_code == 401
    assert kit.kms("GET", "/instance/policies", instance=HPCS).status_code == 401
