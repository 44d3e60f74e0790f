"""Keys with registrations: DELETE needs ?force=true, else 409 PROTECTED_RESOURCE_ERR (spec §4)."""

from __future__ import annotations

from emu_kit import ALICE, BOB, KP_US, Kit, reason

CONFLICT = "Conflict: Key could not be deleted. Please see `reasons` for more details."
FORCE_TARGET = {"type": "query_param", "name": "force"}


def register(kit: Kit, kid: str, count: int = 2) -> None:
    resp = kit.control("POST", f"/keys/{kid}/registrations", {"count": count})
    assert resp.status_code == 200, resp.text


def test_control_call_sets_count(kit: Kit) -> None:
    """POST /emulator/keys/{id}/registrations answers 200 {key, instance, registrations}; state shows it, KMS never."""
    kid = kit.create_key()["id"]
    resp = kit.control("POST", f"/keys/{kid}/registrations", {"count": 3})
    assert resp.status_code == 200
    assert resp.json() == {"key": kid, "instance": KP_US, "registrations": 3}
    inst = next(i for i in kit.control("GET", "/state").json()["instances"] if i["guid"] == KP_US)
    assert [k["registrations"] for k in inst["keys"]] == [3]
    key = kit.kms("GET", f"/keys/{kid}").json()["resources"][0]
    assert not any("registration" in name for name in key)


def test_control_call_errors(kit: Kit) -> None:
    """A bad count answers 400 {error, details}; an unknown key id 404."""
    kid = kit.create_key()["id"]
    for bad in ({"count": -1}, {"count": True}, {"count": "2"}, {}):
        resp = kit.control("POST", f"/keys/{kid}/registrations", bad)
        assert resp.status_code == 400
        assert resp.json() == {"error": "invalid registrations", "details": ["count must be a non-negative integer"]}
    missing = kit.control("POST", "/keys/00000000-0000-4000-8000-000000000000/registrations", {"count": 1})
    assert missing.status_code == 404 and missing.json()["error"] == "no such key"


def test_delete_with_registrations_is_409(kit: Kit) -> None:
    """DELETE of a key with registrations answers 409 PROTECTED_RESOURCE_ERR, target query_param force; key kept."""
    kid = kit.create_key()["id"]
    register(kit, kid)
    resp = kit.kms("DELETE", f"/keys/{kid}")
    assert resp.status_code == 409
    assert resp.json()["resources"][0]["errorMsg"] == CONFLICT
    r = reason(resp)
    assert r["code"] == "PROTECTED_RESOURCE_ERR"
    assert r["target"] == FORCE_TARGET
    assert set(r) == {"code", "message", "status", "moreInfo", "target"}
    assert kit.kms("GET", f"/keys/{kid}").status_code == 200


def test_force_deletes(kit: Kit) -> None:
    """DELETE ?force=true of a key with registrations deletes it (204; then state 5, deleted)."""
    kid = kit.create_key()["id"]
    register(kit, kid)
    assert kit.kms("DELETE", f"/keys/{kid}", params={"force": "false"}).status_code == 409
    resp = kit.kms("DELETE", f"/keys/{kid}", params={"force": "true"})
    assert resp.status_code == 204
    meta = kit.kms("GET", f"/keys/{kid}/metadata").json()["resources"][0]
    assert meta["state"] == 5 and meta["deleted"] is True


def test_zero_count_clears(kit: Kit) -> None:
    """Setting the count back to 0 removes the protection: a plain DELETE answers 204."""
    kid = kit.create_key()["id"]
    register(kit, kid)
    register(kit, kid, 0)
    assert kit.kms("DELETE", f"/keys/{kid}").status_code == 204


def test_bad_force_value_is_400(kit: Kit) -> None:
    """A force value that is not a Go bool answers 400 INVALID_QUERY_PARAM_ERR with target query_param force."""
    kid = kit.create_key()["id"]
    resp = kit.kms("DELETE", f"/keys/{kid}", params={"force": "yes"})
    assert resp.status_code == 400
    r = reason(resp)
    assert r["code"] == "INVALID_QUERY_PARAM_ERR" and r["target"] == FORCE_TARGET


def test_dual_auth_is_checked_before_registrations(kit: Kit) -> None:
    """On a dual-auth key with registrations, force=true without an authorization answers 409 AUTHORIZATIONS_NOT_MET."""
    kit.set_dual(True)
    kid = kit.create_key()["id"]
    register(kit, kid)
    resp = kit.kms("DELETE", f"/keys/{kid}", who=BOB, params={"force": "true"})
    assert resp.status_code == 409 and reason(resp)["code"] == "AUTHORIZATIONS_NOT_MET"


def test_dual_auth_key_then_needs_force(kit: Kit) -> None:
    """With a valid authorization, DELETE still needs force (409 PROTECTED_RESOURCE_ERR, authorization kept)."""
    kit.set_dual(True)
    kid = kit.create_key()["id"]
    register(kit, kid)
    assert kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion", who=ALICE).status_code == 204
    resp = kit.kms("DELETE", f"/keys/{kid}", who=BOB)
    assert resp.status_code == 409 and reason(resp)["code"] == "PROTECTED_RESOURCE_ERR"
    meta = kit.kms("GET", f"/keys/{kid}/metadata").json()["resources"][0]
    assert meta["dualAuthDelete"]["keySetForDeletion"] is True
    done = kit.kms("DELETE", f"/keys/{kid}", who=BOB, params={"force": "true"},
                   headers={"prefer": "return=representation"})
    assert done.status_code == 200 and done.json()["resources"][0]["deletedBy"] == "IBMid-emu-bob"
