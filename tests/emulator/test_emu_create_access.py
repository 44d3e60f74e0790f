"""The keyCreateImportAccess instance policy enforced on key creation (spec §1.1, §5.2)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from emu_kit import HPCS, Kit, key_body, policy_body, reason

KINDS = ("create_root_key", "create_standard_key", "import_root_key", "import_standard_key")
CONFLICT = "Conflict: Key could not be created. Please see `reasons` for more details."
PAYLOAD = base64.b64encode(b"k" * 32).decode()


def kcia(enabled: bool = True, **attrs: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"enabled": enabled}
    if attrs:
        data["attributes"] = attrs
    return {"policy_type": "keyCreateImportAccess", "policy_data": data}


def set_kcia(kit: Kit, policy: dict[str, Any], **kw: Any) -> None:
    resp = kit.kms("PUT", "/instance/policies", body=policy_body(policy),
                   params={"policy": "keyCreateImportAccess"}, **kw)
    assert resp.status_code == 204, resp.text


def kind_body(kind: str, name: str = "emu-kcia") -> dict[str, Any]:
    extra: dict[str, Any] = {"extractable": "standard" in kind}
    if kind.startswith("import"):
        extra["payload"] = PAYLOAD
    return key_body(name, **extra)


def test_forbidden_root_create_is_409_envelope(kit: Kit) -> None:
    """create_root_key false: POST /keys of a root key answers 409 KEY_CREATE_IMPORT_ACCESS_ERR, full envelope."""
    set_kcia(kit, kcia(create_root_key=False))
    resp = kit.kms("POST", "/keys", body=kind_body("create_root_key"))
    assert resp.status_code == 409
    body = resp.json()
    assert list(body["resources"][0]) == ["errorMsg", "reasons"]
    assert body["resources"][0]["errorMsg"] == CONFLICT
    r = reason(resp)
    assert r["code"] == "KEY_CREATE_IMPORT_ACCESS_ERR"
    assert "create_root_key" in r["message"] and "keyCreateImportAccess" in r["message"]
    assert set(r) == {"code", "message", "status", "moreInfo"}
    assert "resources" not in kit.kms("GET", "/keys").json()


@pytest.mark.parametrize("off", KINDS)
def test_each_attribute_blocks_only_its_kind(kit: Kit, off: str) -> None:
    """One attribute false blocks exactly that kind (extractable picks root/standard, payload import); others 201."""
    set_kcia(kit, kcia(**{off: False}))
    for kind in KINDS:
        resp = kit.kms("POST", "/keys", body=kind_body(kind, f"key-{kind}"))
        if kind == off:
            assert resp.status_code == 409 and reason(resp)["code"] == "KEY_CREATE_IMPORT_ACCESS_ERR"
            assert kind in reason(resp)["message"]
        else:
            assert resp.status_code == 201, (kind, resp.text)
            assert resp.json()["resources"][0]["imported"] is kind.startswith("import")


def test_omitted_attributes_default_true(kit: Kit) -> None:
    """An enabled policy without attributes stores all four as true and enforce_token false; every kind is created."""
    set_kcia(kit, kcia())
    got = kit.kms("GET", "/instance/policies", params={"policy": "keyCreateImportAccess"}).json()
    attrs = got["resources"][0]["policy_data"]["attributes"]
    assert attrs == {**dict.fromkeys(KINDS, True), "enforce_token": False}
    for kind in KINDS:
        assert kit.kms("POST", "/keys", body=kind_body(kind, f"key-{kind}")).status_code == 201


def test_disabled_policy_allows_everything(kit: Kit) -> None:
    """After the policy is disabled (attributes reset), a previously forbidden kind is created again (201)."""
    set_kcia(kit, kcia(import_standard_key=False))
    assert kit.kms("POST", "/keys", body=kind_body("import_standard_key")).status_code == 409
    set_kcia(kit, kcia(False))
    assert kit.kms("POST", "/keys", body=kind_body("import_standard_key")).status_code == 201


def test_enforce_token_is_accepted_not_enforced(kit: Kit) -> None:
    """enforce_token true is stored, but imports without an import token still succeed (201)."""
    set_kcia(kit, kcia(enforce_token=True))
    got = kit.kms("GET", "/instance/policies", params={"policy": "keyCreateImportAccess"}).json()
    assert got["resources"][0]["policy_data"]["attributes"]["enforce_token"] is True
    resp = kit.kms("POST", "/keys", body=kind_body("import_root_key"))
    assert resp.status_code == 201 and resp.json()["resources"][0]["imported"] is True


def test_policy_overrides_path_is_enforced(kit: Kit) -> None:
    """POST /keys_with_policy_overrides is refused the same way: 409 KEY_CREATE_IMPORT_ACCESS_ERR."""
    set_kcia(kit, kcia(create_standard_key=False))
    resp = kit.kms("POST", "/keys_with_policy_overrides", body=kind_body("create_standard_key"))
    assert resp.status_code == 409
    assert resp.json()["resources"][0]["errorMsg"] == CONFLICT
    assert reason(resp)["code"] == "KEY_CREATE_IMPORT_ACCESS_ERR"


def test_body_validation_comes_first(kit: Kit) -> None:
    """A forbidden kind with an invalid name answers 400 INVALID_FIELD_ERR, not 409."""
    set_kcia(kit, kcia(create_root_key=False))
    resp = kit.kms("POST", "/keys", body=key_body("x"))
    assert resp.status_code == 400 and reason(resp)["code"] == "INVALID_FIELD_ERR"


def test_policy_is_per_instance_and_applies_to_hpcs(kit: Kit) -> None:
    """The policy binds only its instance; on an HPCS instance it is enforced the same way (409)."""
    base = f"/hpcs/{HPCS}"
    set_kcia(kit, kcia(create_root_key=False), instance=HPCS, base=base)
    resp = kit.kms("POST", "/keys", body=kind_body("create_root_key"), instance=HPCS, base=base)
    assert resp.status_code == 409 and reason(resp)["code"] == "KEY_CREATE_IMPORT_ACCESS_ERR"
    assert kit.kms("POST", "/keys", body=kind_body("create_root_key")).status_code == 201
