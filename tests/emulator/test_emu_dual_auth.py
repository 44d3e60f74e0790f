"""Deleting keys under dual authorization, and key-level policies (spec §3.1, §4)."""

from __future__ import annotations

from emu_kit import ALICE, BOB, Kit, reason

NOT_MET_MSG = ("Conflict: 1 prior authorization(s) are required for deletion: Key could not be deleted. "
               "Please see `reasons` for more details.")


def dual_key(kit: Kit) -> str:
    kit.set_dual(True)
    return str(kit.create_key()["id"])


def test_set_for_deletion_is_204_with_7_day_window(kit: Kit) -> None:
    """setKeyForDeletion answers 204; metadata shows keySetForDeletion and authExpiration 7 days later."""
    kid = dual_key(kit)
    resp = kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion", who=ALICE)
    assert resp.status_code == 204
    meta = kit.kms("GET", f"/keys/{kid}/metadata").json()["resources"][0]["dualAuthDelete"]
    assert meta["enabled"] is True and meta["keySetForDeletion"] is True
    from datetime import datetime, timedelta

    exp = datetime.fromisoformat(meta["authExpiration"].replace("Z", "+00:00"))
    created = datetime.fromisoformat(kit.kms("GET", f"/keys/{kid}").json()["resources"][0]["lastUpdateDate"]
                                     .replace("Z", "+00:00"))
    assert abs((exp - created) - timedelta(days=7)) < timedelta(seconds=5)


def test_delete_without_authorization_is_409(kit: Kit) -> None:
    """DELETE of a dual-auth key without a prior authorization answers 409 AUTHORIZATIONS_NOT_MET."""
    kid = dual_key(kit)
    resp = kit.kms("DELETE", f"/keys/{kid}", who=ALICE)
    assert resp.status_code == 409
    assert resp.json()["resources"][0]["errorMsg"] == NOT_MET_MSG
    r = reason(resp)
    assert r["code"] == "AUTHORIZATIONS_NOT_MET"
    assert r["message"] == "Number of authorizations required to delete is not met"


def test_same_user_cannot_complete_deletion(kit: Kit) -> None:
    """The user who set the key for deletion gets 409 AUTHORIZATIONS_NOT_MET on DELETE."""
    kid = dual_key(kit)
    kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion", who=ALICE)
    resp = kit.kms("DELETE", f"/keys/{kid}", who=ALICE)
    assert resp.status_code == 409
    assert reason(resp)["code"] == "AUTHORIZATIONS_NOT_MET"


def test_second_user_deletes_then_410(kit: Kit) -> None:
    """Another Manager deletes (200 + body with return=representation); a second DELETE is 410 KEY_DELETED_ERR."""
    kid = dual_key(kit)
    kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion", who=ALICE)
    resp = kit.kms("DELETE", f"/keys/{kid}", who=BOB, headers={"prefer": "return=representation"})
    assert resp.status_code == 200
    key = resp.json()["resources"][0]
    assert key["state"] == 5 and key["deleted"] is True and key["deletedBy"] == "IBMid-emu-bob"
    again = kit.kms("DELETE", f"/keys/{kid}", who=BOB)
    assert again.status_code == 410
    gone = "Gone: Key could not be deleted. Please see `reasons` for more details."
    assert again.json()["resources"][0]["errorMsg"] == gone
    assert reason(again)["code"] == "KEY_DELETED_ERR"


def test_delete_return_minimal_is_204(kit: Kit) -> None:
    """DELETE with prefer return=minimal answers 204 with no body."""
    kid = dual_key(kit)
    kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion", who=ALICE)
    resp = kit.kms("DELETE", f"/keys/{kid}", who=BOB, headers={"prefer": "return=minimal"})
    assert resp.status_code == 204 and resp.content == b""


def test_not_dual_auth_key(kit: Kit) -> None:
    """setKeyForDeletion on a key without dual auth answers 409 NOT_DUAL_AUTH_ERR; plain DELETE works."""
    kid = kit.create_key()["id"]
    resp = kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion")
    assert resp.status_code == 409
    assert resp.json()["resources"][0]["errorMsg"] == (
        "Conflict: Action could not be performed on key. Please see `reasons` for more details.")
    r = reason(resp)
    assert r["code"] == "NOT_DUAL_AUTH_ERR"
    assert r["message"] == "The key is not dual auth enabled and cannot be set for deletion"
    assert kit.kms("DELETE", f"/keys/{kid}").status_code == 204


def test_unset_cancels_authorization(kit: Kit) -> None:
    """unsetKeyForDeletion answers 204 and a later DELETE by another user is refused again."""
    kid = dual_key(kit)
    kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion", who=ALICE)
    assert kit.kms("POST", f"/keys/{kid}/actions/unsetKeyForDeletion", who=ALICE).status_code == 204
    assert kit.kms("DELETE", f"/keys/{kid}", who=BOB).status_code == 409


def test_legacy_action_query(kit: Kit) -> None:
    """POST /keys/{id}?action=setKeyForDeletion works like /actions/setKeyForDeletion."""
    kid = dual_key(kit)
    assert kit.kms("POST", f"/keys/{kid}", who=ALICE, params={"action": "setKeyForDeletion"},
                   body={}).status_code == 204
    assert kit.kms("DELETE", f"/keys/{kid}", who=BOB).status_code == 204


def test_authorization_lapses_after_7_days(kit: Kit) -> None:
    """After 7 days the first authorization lapses and DELETE answers 409 again."""
    kid = dual_key(kit)
    kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion", who=ALICE)
    kit.control("POST", "/clock", {"advance_seconds": 7 * 24 * 3600 + 1})
    kit.token(BOB, fresh=True)
    kit.token(fresh=True)
    meta = kit.kms("GET", f"/keys/{kid}/metadata").json()["resources"][0]
    assert meta["dualAuthDelete"]["keySetForDeletion"] is False
    assert kit.kms("DELETE", f"/keys/{kid}", who=BOB).status_code == 409


def test_action_on_suspended_key_is_invalid_state(kit: Kit) -> None:
    """setKeyForDeletion on a disabled (state 2) key answers 409 KEY_ACTION_INVALID_STATE_ERR."""
    kid = dual_key(kit)
    assert kit.kms("POST", f"/keys/{kid}/actions/disable").status_code == 204
    resp = kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion")
    assert resp.status_code == 409
    assert reason(resp)["code"] == "KEY_ACTION_INVALID_STATE_ERR"


def test_inherited_key_policy_visible(kit: Kit) -> None:
    """A key that inherited dual auth lists a dualAuthDelete key policy with lastUpdateDate."""
    kid = dual_key(kit)
    got = kit.kms("GET", f"/keys/{kid}/policies").json()
    item = got["resources"][0]
    assert item["dualAuthDelete"] == {"enabled": True}
    assert ":policy:" in item["crn"] and "lastUpdateDate" in item


def test_key_policy_without_policies_is_metadata_only(kit: Kit) -> None:
    """A key without policies answers metadata only with collectionTotal 0."""
    kid = kit.create_key()["id"]
    got = kit.kms("GET", f"/keys/{kid}/policies", params={"policy": "dualAuthDelete"}).json()
    assert got == {"metadata": {"collectionType": "application/vnd.ibm.kms.policy+json", "collectionTotal": 0}}


def test_key_policy_enable_and_never_disable(kit: Kit) -> None:
    """PUT key policy enables dual auth (200); switching it off is refused (400 INVALID_FIELD_ERR by default)."""
    kid = kit.create_key()["id"]
    body = {"metadata": {"collectionType": "application/vnd.ibm.kms.policy+json", "collectionTotal": 1},
            "resources": [{"type": "application/vnd.ibm.kms.policy+json", "dualAuthDelete": {"enabled": True}}]}
    resp = kit.kms("PUT", f"/keys/{kid}/policies", body=body, params={"policy": "dualAuthDelete"})
    assert resp.status_code == 200
    assert resp.json()["resources"][0]["dualAuthDelete"] == {"enabled": True}
    assert kit.kms("GET", f"/keys/{kid}").json()["resources"][0]["dualAuthDelete"]["enabled"] is True
    body["resources"][0]["dualAuthDelete"]["enabled"] = False
    off = kit.kms("PUT", f"/keys/{kid}/policies", body=body, params={"policy": "dualAuthDelete"})
    assert off.status_code == 400
    assert reason(off)["code"] == "INVALID_FIELD_ERR"
    kit.control("PATCH", "/settings", {"key_dual_auth_disable_status": 409})
    assert kit.kms("PUT", f"/keys/{kid}/policies", body=body).status_code == 409
