"""Keys of the emulated KMS API: create, inherit, list, get (spec §3)."""

from __future__ import annotations

from typing import Any

import pytest
from emu_kit import KP_US, Kit, key_body, reason

KEY_CT = "application/vnd.ibm.kms.key+json"


def test_create_is_201_with_key_collection(kit: Kit) -> None:
    """POST /keys answers 201 with a key collection carrying id, state 1, crn, keyRingID default."""
    resp = kit.kms("POST", "/keys", body=key_body(), headers={"content-type": KEY_CT})
    assert resp.status_code == 201
    body = resp.json()
    assert body["metadata"] == {"collectionType": KEY_CT, "collectionTotal": 1}
    key = body["resources"][0]
    assert key["state"] == 1 and key["extractable"] is False and key["deleted"] is False
    assert key["crn"].endswith(f":{KP_US}:key:{key['id']}")
    assert key["crn"].startswith("crn:v1:bluemix:public:kms:us-south:a/")
    assert key["keyRingID"] == "default"
    assert key["dualAuthDelete"] == {"enabled": False}
    assert key["createdBy"] == "iam-ServiceId-emu-dualauth"


def test_key_inherits_dual_auth_at_creation_only(kit: Kit) -> None:
    """Keys created after the instance policy is on carry dual auth; earlier keys do not; disabling later keeps it."""
    before = kit.create_key("before")
    kit.set_dual(True)
    after = kit.create_key("after")
    assert after["dualAuthDelete"] == {"enabled": True, "keySetForDeletion": False}
    kit.set_dual(False)
    got = {k["name"]: k for k in kit.kms("GET", "/keys").json()["resources"]}
    assert got["before"]["dualAuthDelete"]["enabled"] is False
    assert got["after"]["dualAuthDelete"]["enabled"] is True
    assert before["id"] != after["id"]


def test_policy_overrides_can_skip_dual_auth(kit: Kit) -> None:
    """keys_with_policy_overrides with dualAuthDelete false creates a key without dual auth."""
    kit.set_dual(True)
    resp = kit.kms("POST", "/keys_with_policy_overrides",
                   body=key_body("override", dualAuthDelete={"enabled": False}))
    assert resp.status_code == 201
    assert resp.json()["resources"][0]["dualAuthDelete"] == {"enabled": False}


def test_only_one_key_per_request(kit: Kit) -> None:
    """Two resources answer 400 BAD_BODY_ERR "Only creation of one key per request is supported"."""
    body: dict[str, Any] = key_body("a")
    body["resources"].append(dict(body["resources"][0], name="b"))
    resp = kit.kms("POST", "/keys", body=body)
    assert resp.status_code == 400
    assert resp.json()["resources"][0]["errorMsg"].startswith("Bad Request: Key could not be created.")
    r = reason(resp)
    assert r["code"] == "BAD_BODY_ERR"
    assert r["message"].endswith("Only creation of one key per request is supported")


def test_empty_metadata_on_create(kit: Kit) -> None:
    """Empty metadata on create answers 400 BAD_BODY_ERR ending "CollectionMetadata is empty"."""
    body = key_body()
    body["metadata"] = {}
    r = reason(kit.kms("POST", "/keys", body=body))
    assert r["code"] == "BAD_BODY_ERR"
    assert r["message"].endswith("CollectionMetadata is empty")


def test_empty_list_is_metadata_only(kit: Kit) -> None:
    """Listing an instance without keys answers metadata only (collectionTotal 0, no resources)."""
    resp = kit.kms("GET", "/keys")
    assert resp.status_code == 200
    assert resp.json() == {"metadata": {"collectionType": KEY_CT, "collectionTotal": 0}}


def test_list_paging_and_filters(kit: Kit) -> None:
    """limit/offset page the list; extractable and x-kms-key-ring filter it; collectionTotal counts the page."""
    for n in range(3):
        kit.create_key(f"root-{n}")
    kit.kms("POST", "/keys", body=key_body("std", extractable=True), headers={"x-kms-key-ring": "ring-a"})
    page = kit.kms("GET", "/keys", params={"limit": 2, "offset": 1}).json()
    assert page["metadata"]["collectionTotal"] == 2
    assert [k["name"] for k in page["resources"]] == ["root-1", "root-2"]
    std = kit.kms("GET", "/keys", params={"extractable": "true"}).json()["resources"]
    assert [k["name"] for k in std] == ["std"]
    ring = kit.kms("GET", "/keys", headers={"x-kms-key-ring": "ring-a"}).json()["resources"]
    assert [(k["name"], k["keyRingID"]) for k in ring] == [("std", "ring-a")]
    assert reason(kit.kms("GET", "/keys", params={"limit": 5001}))["code"] == "INVALID_QUERY_PARAM_ERR"


def test_get_and_metadata_and_not_found(kit: Kit) -> None:
    """GET /keys/{id} and /metadata answer 200; an unknown id answers 404 KEY_NOT_FOUND_ERR."""
    key = kit.create_key()
    assert kit.kms("GET", f"/keys/{key['id']}").json()["resources"][0]["id"] == key["id"]
    assert kit.kms("GET", f"/keys/{key['id']}/metadata").json()["resources"][0]["name"] == "emu-root-1"
    resp = kit.kms("GET", "/keys/00000000-0000-4000-8000-000000000000")
    assert resp.status_code == 404
    assert reason(resp)["code"] == "KEY_NOT_FOUND_ERR"


def test_deleted_keys_hidden_unless_state_5(kit: Kit) -> None:
    """Deleted keys are left out of the default list and shown with state=5."""
    key = kit.create_key()
    assert kit.kms("DELETE", f"/keys/{key['id']}").status_code == 204
    assert "resources" not in kit.kms("GET", "/keys").json()
    listed = kit.kms("GET", "/keys", params={"state": "5"}).json()["resources"]
    assert listed[0]["state"] == 5 and listed[0]["deleted"] is True


def test_keyprotect_sdk_creates_and_lists(kit: Kit) -> None:
    """IBM's keyprotect SDK (with the SDK core IAM authenticator) creates and lists keys unmodified."""
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
    from keyprotect.ibm_key_protect_api_v2 import IbmKeyProtectApiV2

    client = IbmKeyProtectApiV2(authenticator=IAMAuthenticator("emu-apikey-dualauth-functions", url=kit.url))
    client.set_service_url(kit.url)
    created = client.create_key(bluemix_instance=KP_US, key_create_body=key_body("sdk-key")).get_result()
    assert created["resources"][0]["name"] == "sdk-key"
    listed = client.get_keys(bluemix_instance=KP_US).get_result()
    assert listed["metadata"]["collectionTotal"] == 1


@pytest.mark.parametrize("path", ["/keys", "/keys_with_policy_overrides"])
@pytest.mark.parametrize("payload", ["é", "QUJD\u00e9", "\uff31\uff35\uff2a\uff24", "QUJD\u200b"])
def test_non_ascii_payload_is_answered_like_invalid_base64(kit: Kit, path: str, payload: str) -> None:
    """A payload with non-ASCII characters is 400 INVALID_FIELD_ERR on `payload`, as invalid base64 is (never a 500)."""
    bad_base64 = reason(kit.kms("POST", path, body=key_body("imported", extractable=True, payload="!!!")))
    resp = kit.kms("POST", path, body=key_body("imported", extractable=True, payload=payload))
    assert resp.status_code == 400
    assert reason(resp) == bad_base64
    assert bad_base64["code"] == "INVALID_FIELD_ERR" and bad_base64["target"]["name"] == "payload"
    assert kit.kms("GET", "/keys").json()["metadata"]["collectionTotal"] == 0
