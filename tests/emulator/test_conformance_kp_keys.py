"""IBM's keyprotect SDK (unmodified) on keys: create, list filters, count, get, metadata, overrides (spec §3).

Answers are parsed with the SDK's typed models (``ListKeys``, ``GetKey``, ``GetKeyMetadata``) where
the API defines them, so a missing required field fails here.
"""

from __future__ import annotations

import json

import keyprotect.ibm_key_protect_api_v2 as m
import pytest
from emu_kit import CAROL, KP_EU, KP_US, Kit
from ibm_cloud_sdk_core import ApiException
from sdk_kit import KEY_CT, ROOT_SERVICE_ID, error_msg, key_create_body, kms_reason, kp

POLICY_CT = "application/vnd.ibm.kms.policy+json"
DUAL_ON = m.SetInstancePoliciesOneOfSetInstancePolicyDualAuthDelete(
    m.CollectionMetadata(collection_type=POLICY_CT, collection_total=1),
    [m.SetInstancePolicyDualAuthDeleteResourcesItem("dualAuthDelete", m.DualAuthDeleteProperties(enabled=True))])


def test_sdk_create_key_is_201_with_full_key(kit: Kit) -> None:
    """create_key answers 201 with a key collection: id, state 1, crn …:key:<id>, keyRingID default, createdBy."""
    resp = kp(kit.url).create_key(KP_US, key_create_body("sdk-root"))
    assert resp.get_status_code() == 201
    body = resp.get_result()
    assert body["metadata"] == {"collectionType": KEY_CT, "collectionTotal": 1}
    key = m.KeyWithPayload.from_dict(body["resources"][0])
    assert (key.name, key.state, key.extractable, key.key_ring_id) == ("sdk-root", 1, False, "default")
    assert key.crn.endswith(f":{KP_US}:key:{key.id}") and key.created_by == ROOT_SERVICE_ID
    assert body["resources"][0]["dualAuthDelete"] == {"enabled": False} and key.deleted is False
    assert "payload" not in body["resources"][0]


def test_sdk_create_key_prefer_minimal(kit: Kit) -> None:
    """prefer return=minimal → 201 with only type and id of the new key."""
    body = kp(kit.url).create_key(KP_US, key_create_body(), prefer="return=minimal").get_result()
    assert body["metadata"]["collectionTotal"] == 1
    assert set(body["resources"][0]) == {"type", "id"}


def test_sdk_key_inherits_dual_auth_and_override_skips_it(kit: Kit) -> None:
    """After the instance policy is on, create_key inherits dual auth; create_key_with_policies_overrides can say no."""
    client = kp(kit.url)
    client.put_instance_policy(KP_US, DUAL_ON, policy="dualAuthDelete")
    inherited = client.create_key(KP_US, key_create_body("inherits")).get_result()["resources"][0]
    assert inherited["dualAuthDelete"] == {"enabled": True, "keySetForDeletion": False}
    skipped = client.create_key_with_policies_overrides(
        KP_US, key_create_body("skips", dualAuthDelete={"enabled": False})).get_result()["resources"][0]
    assert skipped["dualAuthDelete"] == {"enabled": False}


def test_sdk_override_can_force_dual_auth(kit: Kit) -> None:
    """keys_with_policy_overrides with dualAuthDelete true on an instance without the policy → a dual-auth key."""
    body = key_create_body("forced", dualAuthDelete={"enabled": True})
    resp = kp(kit.url).create_key_with_policies_overrides(KP_US, body)
    assert resp.get_status_code() == 201
    assert resp.get_result()["resources"][0]["dualAuthDelete"]["enabled"] is True


def test_sdk_list_filters(kit: Kit) -> None:
    """get_keys honours limit/offset, extractable, state and x_kms_key_ring; ListKeys parses every page."""
    client = kp(kit.url)
    for i in range(3):
        client.create_key(KP_US, key_create_body(f"root-{i}"))
    client.create_key(KP_US, key_create_body("std", extractable=True))
    client.create_key(KP_US, key_create_body("ringed"), x_kms_key_ring="ring-a")
    page = client.get_keys(KP_US, limit=2, offset=1).get_result()
    m.ListKeys.from_dict(page)
    assert page["metadata"]["collectionTotal"] == 2
    assert [k["name"] for k in page["resources"]] == ["root-1", "root-2"]
    std = client.get_keys(KP_US, extractable=True).get_result()["resources"]
    assert [k["name"] for k in std] == ["std"]
    ringed = client.get_keys(KP_US, x_kms_key_ring="ring-a").get_result()["resources"]
    assert [(k["name"], k["keyRingID"]) for k in ringed] == [("ringed", "ring-a")]
    assert client.get_keys(KP_US, state=[2, 3]).get_result() == {
        "metadata": {"collectionType": KEY_CT, "collectionTotal": 0}}


def test_sdk_list_bad_limit_is_invalid_query(kit: Kit) -> None:
    """get_keys limit 5001 → 400 INVALID_QUERY_PARAM_ERR with target query_param limit."""
    with pytest.raises(ApiException) as info:
        kp(kit.url).get_keys(KP_US, limit=5001)
    r = kms_reason(info.value)
    assert (info.value.status_code, r["code"]) == (400, "INVALID_QUERY_PARAM_ERR")
    assert r["target"] == {"type": "query_param", "name": "limit"}


def test_sdk_key_collection_metadata_counts(kit: Kit) -> None:
    """get_key_collection_metadata (HEAD /keys) → 200, no body, Key-Total header with the matching count."""
    client = kp(kit.url)
    client.create_key(KP_US, key_create_body("key-a"))
    client.create_key(KP_US, key_create_body("key-b", extractable=True))
    resp = client.get_key_collection_metadata(KP_US)
    assert resp.get_status_code() == 200 and resp.get_result() is None
    assert resp.get_headers()["Key-Total"] == "2"
    assert client.get_key_collection_metadata(KP_US, extractable=True).get_headers()["Key-Total"] == "1"


def test_sdk_get_key_and_metadata(kit: Kit) -> None:
    """get_key returns the key (payload for a standard key); get_key_metadata the metadata without payload."""
    client = kp(kit.url)
    kid = client.create_key(KP_US, key_create_body("std", extractable=True)).get_result()["resources"][0]["id"]
    full = client.get_key(kid, KP_US).get_result()
    typed = m.GetKey.from_dict(full)
    assert typed.resources[0].id == kid and full["resources"][0]["payload"]
    meta = client.get_key_metadata(kid, KP_US).get_result()
    m.GetKeyMetadata.from_dict(meta)
    assert meta["resources"][0]["id"] == kid and "payload" not in meta["resources"][0]


def test_sdk_get_unknown_key_is_404(kit: Kit) -> None:
    """get_key of an unknown id → 404 KEY_NOT_FOUND_ERR, errorMsg "Not Found: Key could not be retrieved…"."""
    with pytest.raises(ApiException) as info:
        kp(kit.url).get_key("0f0e0d0c-0b0a-4909-8807-060504030201", KP_US)
    assert info.value.status_code == 404 and kms_reason(info.value)["code"] == "KEY_NOT_FOUND_ERR"
    assert error_msg(info.value).startswith("Not Found: Key could not be retrieved")


def test_sdk_keys_are_per_instance(kit: Kit) -> None:
    """A key of one instance is not found through another instance (bluemix-instance scopes every call)."""
    client = kp(kit.url)
    kid = client.create_key(KP_US, key_create_body()).get_result()["resources"][0]["id"]
    with pytest.raises(ApiException) as info:
        client.get_key(kid, KP_EU)
    assert info.value.status_code == 404


def test_sdk_reader_lists_but_cannot_create(kit: Kit) -> None:
    """A Reader lists keys (200) but create_key → 401 UNAUTHORIZED_ERR."""
    reader = kp(kit.url, CAROL)
    assert reader.get_keys(KP_US).get_status_code() == 200
    with pytest.raises(ApiException) as info:
        reader.create_key(KP_US, key_create_body())
    assert info.value.status_code == 401 and kms_reason(info.value)["code"] == "UNAUTHORIZED_ERR"


def test_sdk_create_errors(kit: Kit) -> None:
    """Two resources → 400 BAD_BODY_ERR "Only creation of one key per request"; a 1-char name → INVALID_FIELD_ERR."""
    client = kp(kit.url)
    doc = json.loads(key_create_body())
    doc["resources"].append(dict(doc["resources"][0], name="other"))
    doc["metadata"]["collectionTotal"] = 2
    with pytest.raises(ApiException) as info:
        client.create_key(KP_US, json.dumps(doc))
    assert kms_reason(info.value)["message"].endswith("Only creation of one key per request is supported")
    with pytest.raises(ApiException) as info:
        client.create_key(KP_US, key_create_body("x"))
    r = kms_reason(info.value)
    assert (r["code"], r["target"]) == ("INVALID_FIELD_ERR", {"type": "field", "name": "name"})


def test_sdk_enable_and_disable_key(kit: Kit) -> None:
    """disable_key → 204, state 2; disabling again → 409 KEY_ACTION_INVALID_STATE_ERR; enable_key → state 1."""
    client = kp(kit.url)
    kid = client.create_key(KP_US, key_create_body()).get_result()["resources"][0]["id"]
    assert client.disable_key(kid, KP_US).get_status_code() == 204
    assert client.get_key_metadata(kid, KP_US).get_result()["resources"][0]["state"] == 2
    with pytest.raises(ApiException) as info:
        client.disable_key(kid, KP_US)
    assert info.value.status_code == 409 and kms_reason(info.value)["code"] == "KEY_ACTION_INVALID_STATE_ERR"
    assert client.enable_key(kid, KP_US).get_status_code() == 204
    assert client.get_key_metadata(kid, KP_US).get_result()["resources"][0]["state"] == 1
