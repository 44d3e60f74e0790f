"""IBM's keyprotect SDK (unmodified) on key policies, set/unset for deletion and DELETE (spec §3.1, §4, §5.3)."""

from __future__ import annotations

import calendar
import json
import time

import keyprotect.ibm_key_protect_api_v2 as m
import pytest
from emu_kit import ALICE, BOB, KP_US, Kit
from ibm_cloud_sdk_core import ApiException
from sdk_kit import error_msg, key_create_body, kms_reason, kp

POLICY_CT = "application/vnd.ibm.kms.policy+json"
META = m.CollectionMetadata(collection_type=POLICY_CT, collection_total=1)


def _key_dual(enabled: bool) -> m.SetKeyPoliciesOneOfSetKeyPolicyDualAuthDelete:
    return m.SetKeyPoliciesOneOfSetKeyPolicyDualAuthDelete(META, [
        m.KeyPolicyDualAuthDelete(POLICY_CT, m.KeyPolicyDualAuthDeleteDualAuthDelete(enabled))])


def _dual_key(kit: Kit, who: str = ALICE) -> str:
    """A key with a key-level dualAuthDelete policy, created and protected by ``who``."""
    client = kp(kit.url, who)
    kid: str = client.create_key(KP_US, key_create_body()).get_result()["resources"][0]["id"]
    client.put_policy(kid, KP_US, _key_dual(True), policy="dualAuthDelete")
    return kid


def test_sdk_key_policy_put_and_get(kit: Kit) -> None:
    """put_policy(dualAuthDelete) → 200 with the policy; get_policy parses with the SDK's typed model."""
    client = kp(kit.url)
    kid = client.create_key(KP_US, key_create_body()).get_result()["resources"][0]["id"]
    empty = client.get_policy(kid, KP_US).get_result()
    assert empty == {"metadata": {"collectionType": POLICY_CT, "collectionTotal": 0}}
    put = client.put_policy(kid, KP_US, _key_dual(True), policy="dualAuthDelete")
    assert put.get_status_code() == 200
    got = client.get_policy(kid, KP_US, policy="dualAuthDelete").get_result()
    typed = m.GetKeyPoliciesOneOfGetKeyPolicyDualAuthDelete.from_dict(got)
    res = got["resources"][0]
    assert typed.resources[0].dual_auth_delete.enabled is True
    assert res["type"] == POLICY_CT and res["crn"].endswith(f":{KP_US}:policy:{res['id']}")
    assert {"createdBy", "creationDate", "updatedBy", "lastUpdateDate"} <= set(res)
    meta = client.get_key_metadata(kid, KP_US).get_result()["resources"][0]
    assert meta["dualAuthDelete"] == {"enabled": True, "keySetForDeletion": False}


def test_sdk_key_rotation_policy(kit: Kit) -> None:
    """put_policy(rotation) → 200; get_policy without ?policy lists it (GetMultipleKeyPolicies parses)."""
    client = kp(kit.url)
    kid = client.create_key(KP_US, key_create_body()).get_result()["resources"][0]["id"]
    body = m.SetKeyPoliciesOneOfSetKeyPolicyRotation(META, [
        m.KeyPolicyRotation(POLICY_CT, m.KeyPolicyRotationRotation(True, interval_month=2))])
    assert client.put_policy(kid, KP_US, body, policy="rotation").get_status_code() == 200
    got = client.get_policy(kid, KP_US).get_result()
    m.GetKeyPoliciesOneOfGetMultipleKeyPolicies.from_dict(got)
    assert got["resources"][0]["rotation"] == {"enabled": True, "interval_month": 2}


def test_sdk_key_dual_auth_cannot_be_switched_off(kit: Kit) -> None:
    """Once on, a key's dualAuthDelete cannot be switched off: 400 INVALID_FIELD_ERR (default switch)."""
    kid = _dual_key(kit)
    with pytest.raises(ApiException) as info:
        kp(kit.url).put_policy(kid, KP_US, _key_dual(False), policy="dualAuthDelete")
    assert info.value.status_code == 400 and kms_reason(info.value)["code"] == "INVALID_FIELD_ERR"
    got = kp(kit.url).get_policy(kid, KP_US, policy="dualAuthDelete").get_result()
    assert got["resources"][0]["dualAuthDelete"] == {"enabled": True}


def test_sdk_set_key_for_deletion_opens_seven_days(kit: Kit) -> None:
    """set_key_for_deletion → 204; metadata shows keySetForDeletion and authExpiration 7 days on; unset clears it."""
    kid = _dual_key(kit)
    client = kp(kit.url, ALICE)
    before = int(time.time())
    assert client.set_key_for_deletion(kid, KP_US).get_status_code() == 204
    dual = client.get_key_metadata(kid, KP_US).get_result()["resources"][0]["dualAuthDelete"]
    assert dual["enabled"] is True and dual["keySetForDeletion"] is True
    expires = calendar.timegm(time.strptime(dual["authExpiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(expires - before - 7 * 24 * 3600) <= 5
    assert client.unset_key_for_deletion(kid, KP_US).get_status_code() == 204
    dual = client.get_key_metadata(kid, KP_US).get_result()["resources"][0]["dualAuthDelete"]
    assert dual == {"enabled": True, "keySetForDeletion": False}


def test_sdk_set_for_deletion_without_dual_auth_is_409(kit: Kit) -> None:
    """set_key_for_deletion on a key without dual auth → 409 NOT_DUAL_AUTH_ERR with the documented texts."""
    client = kp(kit.url)
    kid = client.create_key(KP_US, key_create_body()).get_result()["resources"][0]["id"]
    with pytest.raises(ApiException) as info:
        client.set_key_for_deletion(kid, KP_US)
    r = kms_reason(info.value)
    assert (info.value.status_code, r["code"]) == (409, "NOT_DUAL_AUTH_ERR")
    assert r["message"] == "The key is not dual auth enabled and cannot be set for deletion"
    assert error_msg(info.value) == ("Conflict: Action could not be performed on key. "
                                     "Please see `reasons` for more details.")


def test_sdk_set_for_deletion_needs_active_key(kit: Kit) -> None:
    """set_key_for_deletion on a disabled (state 2) dual-auth key → 409 KEY_ACTION_INVALID_STATE_ERR."""
    kid = _dual_key(kit)
    client = kp(kit.url)
    client.disable_key(kid, KP_US)
    with pytest.raises(ApiException) as info:
        client.set_key_for_deletion(kid, KP_US)
    assert info.value.status_code == 409 and kms_reason(info.value)["code"] == "KEY_ACTION_INVALID_STATE_ERR"


def test_sdk_delete_without_authorization_is_409(kit: Kit) -> None:
    """delete_key of a dual-auth key with no prior authorization → 409 AUTHORIZATIONS_NOT_MET, documented texts."""
    kid = _dual_key(kit)
    with pytest.raises(ApiException) as info:
        kp(kit.url, BOB).delete_key(kid, KP_US)
    r = kms_reason(info.value)
    assert (info.value.status_code, r["code"]) == (409, "AUTHORIZATIONS_NOT_MET")
    assert r["message"] == "Number of authorizations required to delete is not met"
    assert error_msg(info.value).startswith("Conflict: 1 prior authorization(s) are required for deletion")


def test_sdk_same_user_cannot_give_both_authorizations(kit: Kit) -> None:
    """The user who set the key for deletion cannot delete it: 409 AUTHORIZATIONS_NOT_MET."""
    kid = _dual_key(kit)
    client = kp(kit.url, ALICE)
    client.set_key_for_deletion(kid, KP_US)
    with pytest.raises(ApiException) as info:
        client.delete_key(kid, KP_US)
    assert info.value.status_code == 409 and kms_reason(info.value)["code"] == "AUTHORIZATIONS_NOT_MET"


def test_sdk_second_user_deletes_then_410(kit: Kit) -> None:
    """Alice authorizes, Bob deletes (prefer representation → 200, state 5, deleted); deleting again → 410."""
    kid = _dual_key(kit)
    kp(kit.url, ALICE).set_key_for_deletion(kid, KP_US)
    bob = kp(kit.url, BOB)
    resp = bob.delete_key(kid, KP_US, prefer="return=representation")
    assert resp.get_status_code() == 200
    body = resp.get_result()
    m.DeleteKey.from_dict(body)
    key = body["resources"][0]
    assert (key["state"], key["deleted"], key["deletedBy"]) == (5, True, "IBMid-emu-bob")
    assert key["deletionDate"].endswith("Z")
    with pytest.raises(ApiException) as info:
        bob.delete_key(kid, KP_US)
    assert info.value.status_code == 410 and kms_reason(info.value)["code"] == "KEY_DELETED_ERR"
    with pytest.raises(ApiException) as info:
        bob.get_key(kid, KP_US)
    assert info.value.status_code == 410
    assert bob.get_key_metadata(kid, KP_US).get_result()["resources"][0]["state"] == 5
    listed = bob.get_keys(KP_US, state=[5]).get_result()["resources"]
    assert [k["id"] for k in listed] == [kid]


def test_sdk_delete_single_auth_key_minimal(kit: Kit) -> None:
    """A key without dual auth is deleted by one Manager; prefer return=minimal → 204 and no body."""
    client = kp(kit.url)
    kid = client.create_key(KP_US, key_create_body()).get_result()["resources"][0]["id"]
    resp = client.delete_key(kid, KP_US, prefer="return=minimal", force=True)
    assert resp.get_status_code() == 204 and resp.get_result() is None


def test_sdk_legacy_action_on_key(kit: Kit) -> None:
    """The deprecated action_on_key (POST /keys/{id}?action=setKeyForDeletion) still works: 204."""
    kid = _dual_key(kit)
    resp = kp(kit.url, ALICE).action_on_key(kid, KP_US, "setKeyForDeletion", json.dumps({}))
    assert resp.get_status_code() == 204
    meta = kp(kit.url).get_key_metadata(kid, KP_US).get_result()["resources"][0]
    assert meta["dualAuthDelete"]["keySetForDeletion"] is True


def test_sdk_retries_honour_retry_after(kit: Kit) -> None:
    """With enable_retries, an injected 429 + Retry-After is retried by the SDK and the call succeeds."""
    rule = {"method": "GET", "path": "/api/v2/instance/policies", "status": 429, "headers": {"Retry-After": "1"},
            "times": 1}
    assert kit.control("POST", "/faults", rule).status_code == 201
    client = kp(kit.url)
    client.enable_retries(max_retries=2, retry_interval=2.0)
    started = time.monotonic()
    assert client.get_instance_policy(KP_US).get_status_code() == 200
    assert time.monotonic() - started >= 0.9
    calls = kit.control("GET", "/journal?path=/api/v2/instance/policies").json()["calls"]
    assert [c["status"] for c in calls] == [429, 200]


def test_sdk_without_retries_surfaces_429(kit: Kit) -> None:
    """Without retries an injected 429 surfaces as ApiException 429 with Retry-After and the KMS envelope."""
    rule = {"method": "*", "path": "/api/v2/keys", "status": 429, "headers": {"Retry-After": "3"}}
    kit.control("POST", "/faults", rule)
    with pytest.raises(ApiException) as info:
        kp(kit.url).get_keys(KP_US)
    assert info.value.status_code == 429 and kms_reason(info.value)["code"] == "TOO_MANY_REQUESTS"
    assert info.value.http_response is not None and info.value.http_response.headers["Retry-After"] == "3"
