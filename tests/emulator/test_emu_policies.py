"""Instance policies of the emulated KMS API (spec §1, §2)."""

from __future__ import annotations

from typing import Any

import pytest
from emu_kit import BOB, HPCS, POLICY_CT, Kit, dual, policy_body, reason

POLICY_ERR = "Bad Request: Instance policy could not be created. Please see `reasons` for more details."
BAD_BODY_PREFIX = ("Invalid body data was passed. Please ensure the data passed had valid formatting "
                   "with no invalid characters: ")


def put(kit: Kit, body: Any, policy: str | None = "dualAuthDelete", **kw: Any) -> Any:
    return kit.kms("PUT", "/instance/policies", body=body, params={"policy": policy} if policy else None, **kw)


def assert_400(resp: Any, code: str, message_end: str | None = None) -> dict[str, Any]:
    assert resp.status_code == 400, resp.text
    assert resp.json()["resources"][0]["errorMsg"] == POLICY_ERR
    r = reason(resp)
    assert r["code"] == code
    if message_end is not None:
        assert r["message"].endswith(message_end), r["message"]
    return r


def test_never_set_is_metadata_only(kit: Kit) -> None:
    """GET on a fresh instance answers 200 with collectionTotal 0 and no resources key."""
    for params in (None, {"policy": "dualAuthDelete"}):
        resp = kit.kms("GET", "/instance/policies", params=params)
        assert resp.status_code == 200
        assert resp.json() == {"metadata": {"collectionType": POLICY_CT, "collectionTotal": 0}}


def test_put_is_204_and_get_shows_policy_with_audit_fields(kit: Kit) -> None:
    """PUT answers 204 with no body; GET shows createdBy/creationDate/updatedBy/lastUpdated."""
    resp = put(kit, policy_body(dual()))
    assert resp.status_code == 204
    assert resp.content == b""
    got = kit.kms("GET", "/instance/policies", params={"policy": "dualAuthDelete"}).json()
    assert got["metadata"] == {"collectionType": POLICY_CT, "collectionTotal": 1}
    item = got["resources"][0]
    assert item["policy_type"] == "dualAuthDelete"
    assert item["policy_data"] == {"enabled": True}
    assert item["createdBy"] == item["updatedBy"] == "iam-ServiceId-emu-dualauth"
    assert item["creationDate"].endswith("Z") and item["lastUpdated"].endswith("Z")
    assert "lastUpdateDate" not in item


def test_disable_keeps_creation_and_updates_updater(kit: Kit) -> None:
    """Disabling keeps the policy listed (enabled false), keeps createdBy/creationDate, changes updatedBy."""
    put(kit, policy_body(dual(True)))
    first = kit.kms("GET", "/instance/policies").json()["resources"][0]
    assert put(kit, policy_body(dual(False)), who=BOB).status_code == 204
    item = kit.kms("GET", "/instance/policies").json()["resources"][0]
    assert item["policy_data"] == {"enabled": False}
    assert item["createdBy"] == first["createdBy"]
    assert item["creationDate"] == first["creationDate"]
    assert item["updatedBy"] == "IBMid-emu-bob"


def test_attributes_on_dual_auth_is_unknown_field(kit: Kit) -> None:
    """attributes on dualAuthDelete answers 400 BAD_BODY_ERR ending json: unknown field "attributes"."""
    body = policy_body({"policy_type": "dualAuthDelete", "policy_data": {"enabled": True, "attributes": {}}})
    assert_400(put(kit, body), "BAD_BODY_ERR", 'json: unknown field "attributes"')


def test_extra_field_is_unknown_field(kit: Kit) -> None:
    """An extra field in a resource answers 400 BAD_BODY_ERR with Go's unknown-field message."""
    body = policy_body({**dual(), "extra_field": "junk data"})
    r = assert_400(put(kit, body), "BAD_BODY_ERR")
    assert r["message"] == BAD_BODY_PREFIX + 'json: unknown field "extra_field"'


def test_key_policy_shape_is_rejected(kit: Kit) -> None:
    """The key-policy body shape from the docs answers 400 BAD_BODY_ERR json: unknown field "type"."""
    body = {"resources": [{"type": POLICY_CT, "dualAuthDelete": {"enabled": False}}]}
    assert_400(put(kit, body), "BAD_BODY_ERR", 'json: unknown field "type"')


def test_key_policy_shape_accepted_when_lenient(kit: Kit) -> None:
    """With lenient_policy_shape the key-policy shape disables dualAuthDelete (204)."""
    put(kit, policy_body(dual(True)))
    kit.control("PATCH", "/settings", {"lenient_policy_shape": True})
    body = {"resources": [{"type": POLICY_CT, "dualAuthDelete": {"enabled": False}}]}
    assert put(kit, body).status_code == 204
    item = kit.kms("GET", "/instance/policies").json()["resources"][0]
    assert item["policy_data"] == {"enabled": False}


def test_collection_total_mismatch(kit: Kit) -> None:
    """collectionTotal different from the resource count answers 400 COLLECTION_TOTAL_MISMATCH_ERR."""
    r = assert_400(put(kit, policy_body(dual(), total=2)), "COLLECTION_TOTAL_MISMATCH_ERR")
    assert r["message"] == "Collection total does not match number of resources"


def test_body_query_param_mismatch(kit: Kit) -> None:
    """?policy=dualAuthDelete with another policy_type answers 400 BODY_QUERY_PARAM_MISMATCH_ERR."""
    body = policy_body({"policy_type": "metrics", "policy_data": {"enabled": True}})
    r = assert_400(put(kit, body), "BODY_QUERY_PARAM_MISMATCH_ERR")
    assert r["message"] == "Data in body does not match data required by query parameter"


def test_num_collection_resource(kit: Kit) -> None:
    """?policy= with two resources answers 400 NUM_COLLECTION_RESOURCE_ERR."""
    assert_400(put(kit, policy_body(dual(), dual())), "NUM_COLLECTION_RESOURCE_ERR")


def test_missing_resources_and_empty_metadata(kit: Kit) -> None:
    """A body without resources, or with empty metadata, answers 400 BAD_BODY_ERR."""
    assert_400(put(kit, {"metadata": {"collectionType": POLICY_CT, "collectionTotal": 1}}), "BAD_BODY_ERR")
    assert_400(put(kit, {"metadata": {}, "resources": [dual()]}), "BAD_BODY_ERR", "CollectionMetadata is empty")


def test_rotation_out_of_range_is_invalid_field(kit: Kit) -> None:
    """rotation interval_month 13 answers 400 INVALID_FIELD_ERR with target field interval_month."""
    body = policy_body({"policy_type": "rotation", "policy_data": {"enabled": True,
                                                                   "attributes": {"interval_month": 13}}})
    r = assert_400(put(kit, body, policy="rotation"), "INVALID_FIELD_ERR")
    assert r["target"] == {"type": "field", "name": "interval_month"}


def test_bad_json_wrong_types_and_empty_body(kit: Kit) -> None:
    """Malformed JSON and wrong types answer BAD_BODY_ERR; an empty body answers NO_BODY_ERR."""
    assert_400(put(kit, "{not json"), "BAD_BODY_ERR")
    wrong = policy_body({"policy_type": "dualAuthDelete", "policy_data": {"enabled": "yes"}})
    r = assert_400(put(kit, wrong), "BAD_BODY_ERR")
    assert "cannot unmarshal string" in r["message"]
    assert_400(put(kit, ""), "NO_BODY_ERR")
    assert_400(put(kit, "[1, 2]"), "BAD_BODY_ERR")


ALL_SIX = [
    {"policy_type": "dualAuthDelete", "policy_data": {"enabled": True}},
    {"policy_type": "metrics", "policy_data": {"enabled": True}},
    {"policy_type": "allowedNetwork", "policy_data": {"enabled": True,
                                                      "attributes": {"allowed_network": "private-only"}}},
    {"policy_type": "allowedIP", "policy_data": {"enabled": True, "attributes": {"allowed_ip": ["10.0.0.0/8"]}}},
    {"policy_type": "keyCreateImportAccess", "policy_data": {"enabled": True,
                                                             "attributes": {"create_root_key": False}}},
    {"policy_type": "rotation", "policy_data": {"enabled": True, "attributes": {"interval_month": 3}}},
]


@pytest.mark.parametrize("resource", ALL_SIX, ids=lambda r: r["policy_type"])
def test_each_policy_type_can_be_set(kit: Kit, resource: dict[str, Any]) -> None:
    """Each of the six policy types is accepted with ?policy=<type> and read back."""
    assert put(kit, policy_body(resource), policy=resource["policy_type"]).status_code == 204
    got = kit.kms("GET", "/instance/policies", params={"policy": resource["policy_type"]}).json()
    assert got["resources"][0]["policy_type"] == resource["policy_type"]
    assert got["resources"][0]["policy_data"]["enabled"] is True


def test_key_create_import_access_defaults(kit: Kit) -> None:
    """keyCreateImportAccess fills omitted attributes: create/import default true, enforce_token false."""
    put(kit, policy_body(ALL_SIX[4]), policy="keyCreateImportAccess")
    data = kit.kms("GET", "/instance/policies").json()["resources"][0]["policy_data"]
    assert data["attributes"] == {"create_root_key": False, "create_standard_key": True, "import_root_key": True,
                                  "import_standard_key": True, "enforce_token": False}


def test_multi_policy_put_merges(kit: Kit) -> None:
    """PUT without ?policy= sets the policies sent and leaves the others untouched."""
    assert put(kit, policy_body(ALL_SIX[0], ALL_SIX[5]), policy=None).status_code == 204
    assert put(kit, policy_body(ALL_SIX[1]), policy=None).status_code == 204
    types = {r["policy_type"] for r in kit.kms("GET", "/instance/policies").json()["resources"]}
    assert types == {"dualAuthDelete", "rotation", "metrics"}


def test_multi_policy_put_rejects_duplicates(kit: Kit) -> None:
    """PUT without ?policy= with the same type twice answers 400 BAD_BODY_ERR."""
    assert_400(put(kit, policy_body(dual(), dual()), policy=None), "BAD_BODY_ERR")


def test_disabling_resets_attributes(kit: Kit) -> None:
    """Disabling a policy with attributes drops them."""
    put(kit, policy_body(ALL_SIX[5]), policy="rotation")
    put(kit, policy_body({"policy_type": "rotation", "policy_data": {"enabled": False}}), policy="rotation")
    data = kit.kms("GET", "/instance/policies", params={"policy": "rotation"}).json()["resources"][0]
    assert data["policy_data"] == {"enabled": False}


def test_unknown_policy_query_is_invalid_query_param(kit: Kit) -> None:
    """An unknown ?policy= value answers 400 INVALID_QUERY_PARAM_ERR."""
    resp = kit.kms("GET", "/instance/policies", params={"policy": "nope"})
    assert resp.status_code == 400
    assert reason(resp)["code"] == "INVALID_QUERY_PARAM_ERR"


def test_hpcs_instance_policies(kit: Kit) -> None:
    """The HPCS endpoint takes the same instance-policy calls."""
    base = f"/hpcs/{HPCS}"
    assert put(kit, policy_body(dual()), instance=HPCS, base=base).status_code == 204
    got = kit.kms("GET", "/instance/policies", instance=HPCS, base=base).json()
    assert got["resources"][0]["policy_data"] == {"enabled": True}
