"""IBM's keyprotect SDK (unmodified) on instance policies: every type, multi-policy PUT, errors (spec §1, §2).

Bodies are built with the SDK's own typed models and answers are parsed with its typed
``from_dict``, so a field the real API defines as required and the emulator forgot would fail here.
"""

from __future__ import annotations

from typing import Any

import keyprotect.ibm_key_protect_api_v2 as m
import pytest
from emu_kit import ALICE, BOB, CAROL, HPCS, KP_US, Kit
from ibm_cloud_sdk_core import ApiException
from sdk_kit import ROOT_SERVICE_ID, error_msg, kms_reason, kp

POLICY_CT = "application/vnd.ibm.kms.policy+json"
META = m.CollectionMetadata(collection_type=POLICY_CT, collection_total=1)
NOT_CREATED = "Bad Request: Instance policy could not be created. Please see `reasons` for more details."

# policy type -> (SDK set body, SDK typed GET model, policy_data the service stores)
CASES: dict[str, tuple[Any, type, dict[str, Any]]] = {
    "dualAuthDelete": (
        m.SetInstancePoliciesOneOfSetInstancePolicyDualAuthDelete(META, [m.SetInstancePolicyDualAuthDeleteResourcesItem(
            "dualAuthDelete", m.DualAuthDeleteProperties(enabled=True))]),
        m.GetInstancePoliciesOneOfGetInstancePolicyDualAuthDelete, {"enabled": True}),
    "allowedNetwork": (
        m.SetInstancePoliciesOneOfSetInstancePolicyAllowedNetwork(META, [
            m.SetInstancePoliciesOneOfSetInstancePolicyAllowedNetworkResourcesItem("allowedNetwork",
                m.InstancePolicyAllowedNetworkPolicyData(
                    True, attributes=m.InstancePolicyAllowedNetworkPolicyDataAttributes("private-only")))]),
        m.GetInstancePoliciesOneOfGetInstancePolicyAllowedNetwork,
        {"enabled": True, "attributes": {"allowed_network": "private-only"}}),
    "allowedIP": (
        m.SetInstancePoliciesOneOfSetInstancePolicyAllowedIP(META, [
            m.SetInstancePoliciesOneOfSetInstancePolicyAllowedIPResourcesItem("allowedIP",
                m.InstancePolicyAllowedIPPolicyData(True, attributes=m.InstancePolicyAllowedIPPolicyDataAttributes(
                    allowed_ip=["10.0.0.0/8", "192.0.2.0/24"])))]),
        m.GetInstancePoliciesOneOfGetInstancePolicyAllowedIP,
        {"enabled": True, "attributes": {"allowed_ip": ["10.0.0.0/8", "192.0.2.0/24"]}}),
    "keyCreateImportAccess": (
        m.SetInstancePoliciesOneOfSetInstancePolicyKeyCreateImportAccess(META, [
            m.SetInstancePoliciesOneOfSetInstancePolicyKeyCreateImportAccessResourcesItem("keyCreateImportAccess",
                m.InstancePolicyKeyCreateImportAccessPolicyData(True, attributes=(
                    m.InstancePolicyKeyCreateImportAccessPolicyDataAttributes(import_root_key=False))))]),
        m.GetInstancePoliciesOneOfGetInstancePolicyKeyCreateImportAccess,
        {"enabled": True, "attributes": {"create_root_key": True, "create_standard_key": True,
                                         "import_root_key": False, "import_standard_key": True,
                                         "enforce_token": False}}),
    "metrics": (
        m.SetInstancePoliciesOneOfSetInstancePolicyMetrics(META, [
            m.SetInstancePoliciesOneOfSetInstancePolicyMetricsResourcesItem("metrics", m.MetricsProperties(True))]),
        m.GetInstancePoliciesOneOfGetInstancePolicyMetrics, {"enabled": True}),
    "rotation": (
        m.SetInstancePoliciesOneOfSetInstancePolicyRotation(META, [
            m.SetInstancePoliciesOneOfSetInstancePolicyRotationResourcesItem("rotation",
                m.InstancePolicyRotationPolicyData(True, attributes=m.InstancePolicyRotationPolicyDataAttributes(
                    interval_month=3)))]),
        m.GetInstancePoliciesOneOfGetInstancePolicyRotation,
        {"enabled": True, "attributes": {"interval_month": 3}}),
}


def _put_error(kit: Kit, body: Any, policy: str | None = "dualAuthDelete") -> ApiException:
    with pytest.raises(ApiException) as info:
        kp(kit.url).put_instance_policy(KP_US, body, policy=policy)
    return info.value


@pytest.mark.parametrize("ptype", list(CASES))
def test_sdk_sets_and_reads_each_policy_type(kit: Kit, ptype: str) -> None:
    """put_instance_policy(policy=T) answers 204 and no body; get_instance_policy parses with the SDK's typed model."""
    body, model, stored = CASES[ptype]
    client = kp(kit.url)
    put = client.put_instance_policy(KP_US, body, policy=ptype)
    assert put.get_status_code() == 204 and put.get_result() is None
    got = client.get_instance_policy(KP_US, policy=ptype)
    assert got.get_status_code() == 200
    result = got.get_result()
    typed = model.from_dict(result)
    assert result["metadata"] == {"collectionType": POLICY_CT, "collectionTotal": 1}
    assert typed.resources[0].policy_type == ptype
    res = result["resources"][0]
    assert res["policy_type"] == ptype and res["policy_data"] == stored
    assert res["createdBy"] == res["updatedBy"] == ROOT_SERVICE_ID
    assert res["creationDate"].endswith("Z") and res["lastUpdated"] == res["creationDate"]


def test_sdk_disable_keeps_creation_and_moves_update(kit: Kit) -> None:
    """Disabling dualAuthDelete keeps the policy (enabled false) with creationDate/createdBy; updatedBy changes."""
    kp(kit.url, ALICE).put_instance_policy(KP_US, CASES["dualAuthDelete"][0], policy="dualAuthDelete")
    off = {"metadata": META.to_dict(), "resources": [{"policy_type": "dualAuthDelete",
                                                      "policy_data": {"enabled": False}}]}
    assert kp(kit.url, BOB).put_instance_policy(KP_US, off, policy="dualAuthDelete").get_status_code() == 204
    res = kp(kit.url).get_instance_policy(KP_US, policy="dualAuthDelete").get_result()["resources"][0]
    assert res["policy_data"] == {"enabled": False}
    assert (res["createdBy"], res["updatedBy"]) == ("IBMid-emu-alice", "IBMid-emu-bob")


def test_sdk_multi_policy_put_merges(kit: Kit) -> None:
    """PUT without ?policy= (SDK SetMultipleInstancePolicies) answers 204 and merges: policies not sent stay."""
    client = kp(kit.url)
    client.put_instance_policy(KP_US, CASES["metrics"][0], policy="metrics")
    multi = m.SetInstancePoliciesOneOfSetMultipleInstancePolicies(
        m.CollectionMetadata(collection_type=POLICY_CT, collection_total=2), [
            m.SetMultipleInstancePoliciesResourcesItem("dualAuthDelete",
                                                       m.SetMultipleInstancePoliciesResourcesItemPolicyData(True)),
            m.SetMultipleInstancePoliciesResourcesItem("rotation", m.SetMultipleInstancePoliciesResourcesItemPolicyData(
                True, attributes=m.SetMultipleInstancePoliciesResourcesItemPolicyDataAttributes(interval_month=6)))])
    assert client.put_instance_policy(KP_US, multi).get_status_code() == 204
    result = client.get_instance_policy(KP_US).get_result()
    assert result["metadata"]["collectionTotal"] == 3
    types = {r["policy_type"]: r["policy_data"] for r in result["resources"]}
    assert types == {"dualAuthDelete": {"enabled": True}, "metrics": {"enabled": True},
                     "rotation": {"enabled": True, "attributes": {"interval_month": 6}}}
    for res in result["resources"]:
        m.InstancePolicyResource.from_dict(res)


def test_sdk_never_set_policy_is_metadata_only(kit: Kit) -> None:
    """A never-set policy reads as 200 metadata only (collectionTotal 0, no resources).

    The SDK's typed ``GetInstancePolicies*.from_dict`` requires ``resources`` and raises on this
    answer, exactly as it does for the documented empty key list; ``get_result()`` (a dict) works.
    """
    got = kp(kit.url).get_instance_policy(KP_US, policy="dualAuthDelete")
    assert got.get_status_code() == 200
    assert got.get_result() == {"metadata": {"collectionType": POLICY_CT, "collectionTotal": 0}}
    with pytest.raises(ValueError, match="resources"):
        m.GetInstancePoliciesOneOfGetInstancePolicyDualAuthDelete.from_dict(got.get_result())


def test_sdk_dual_auth_with_attributes_is_bad_body(kit: Kit) -> None:
    """dualAuthDelete with attributes → 400 BAD_BODY_ERR ending in json: unknown field "attributes"."""
    body = {"metadata": META.to_dict(), "resources": [
        {"policy_type": "dualAuthDelete", "policy_data": {"enabled": True, "attributes": {}}}]}
    exc = _put_error(kit, body)
    assert exc.status_code == 400 and error_msg(exc) == NOT_CREATED
    r = kms_reason(exc)
    assert r["code"] == "BAD_BODY_ERR" and r["message"].endswith('json: unknown field "attributes"')


def test_sdk_rotation_thirteen_months_is_invalid_field(kit: Kit) -> None:
    """rotation interval_month 13 → 400 INVALID_FIELD_ERR with target {type: field, name: interval_month}."""
    body = CASES["rotation"][0].to_dict()
    body["resources"][0]["policy_data"]["attributes"]["interval_month"] = 13
    exc = _put_error(kit, body, "rotation")
    r = kms_reason(exc)
    assert (exc.status_code, r["code"]) == (400, "INVALID_FIELD_ERR")
    assert r["target"] == {"type": "field", "name": "interval_month"}


@pytest.mark.parametrize(("body", "policy", "code"), [
    ({"metadata": {"collectionType": POLICY_CT, "collectionTotal": 2},
      "resources": [{"policy_type": "dualAuthDelete", "policy_data": {"enabled": True}}]},
     "dualAuthDelete", "COLLECTION_TOTAL_MISMATCH_ERR"),
    ({"metadata": META.to_dict(), "resources": [{"policy_type": "metrics", "policy_data": {"enabled": True}}]},
     "dualAuthDelete", "BODY_QUERY_PARAM_MISMATCH_ERR"),
    ({"metadata": {"collectionType": POLICY_CT, "collectionTotal": 2},
      "resources": [{"policy_type": "dualAuthDelete", "policy_data": {"enabled": True}}] * 2},
     "dualAuthDelete", "NUM_COLLECTION_RESOURCE_ERR"),
    ({"metadata": {}, "resources": []}, "dualAuthDelete", "BAD_BODY_ERR"),
    ({"metadata": META.to_dict()}, "dualAuthDelete", "BAD_BODY_ERR"),
    ({"metadata": META.to_dict(), "resources": [
        {"policy_type": "dualAuthDelete", "policy_data": {"enabled": True}, "extra_field": 1}]},
     "dualAuthDelete", "BAD_BODY_ERR"),
], ids=["total-mismatch", "query-mismatch", "two-resources", "empty-metadata", "no-resources", "unknown-field"])
def test_sdk_put_validations(kit: Kit, body: dict[str, Any], policy: str, code: str) -> None:
    """The five §1.3 validations reach the SDK as ApiException 400 with the documented reason code."""
    exc = _put_error(kit, body, policy)
    assert exc.status_code == 400 and kms_reason(exc)["code"] == code
    assert error_msg(exc) == NOT_CREATED


def test_sdk_key_policy_shape_on_instance_endpoint_is_bad_body(kit: Kit) -> None:
    """The seed's key-policy disable body on /instance/policies → 400 BAD_BODY_ERR json: unknown field "type"."""
    body = {"resources": [{"type": POLICY_CT, "dualAuthDelete": {"enabled": False}}]}
    exc = _put_error(kit, body, None)
    r = kms_reason(exc)
    assert (exc.status_code, r["code"]) == (400, "BAD_BODY_ERR")
    assert r["message"].endswith('json: unknown field "type"')
    assert kp(kit.url).get_instance_policy(KP_US).get_result()["metadata"]["collectionTotal"] == 0


@pytest.mark.parametrize("call", ["get", "put"])
def test_sdk_reader_gets_401_on_instance_policies(kit: Kit, call: str) -> None:
    """A Reader reading or setting instance policies → 401 UNAUTHORIZED_ERR (KP answers 401, not 403)."""
    client = kp(kit.url, CAROL)
    with pytest.raises(ApiException) as info:
        if call == "get":
            client.get_instance_policy(KP_US)
        else:
            client.put_instance_policy(KP_US, CASES["dualAuthDelete"][0], policy="dualAuthDelete")
    assert info.value.status_code == 401 and kms_reason(info.value)["code"] == "UNAUTHORIZED_ERR"


def test_sdk_on_hpcs_instance_endpoint(kit: Kit) -> None:
    """The same SDK calls work against the HPCS instance's own endpoint (base URL from the RC record)."""
    client = kp(kit.url, hpcs=True)
    put = client.put_instance_policy(HPCS, CASES["dualAuthDelete"][0], policy="dualAuthDelete")
    assert put.get_status_code() == 204
    got = client.get_instance_policy(HPCS, policy="dualAuthDelete").get_result()
    assert got["resources"][0]["policy_data"] == {"enabled": True}
    with pytest.raises(ApiException) as info:
        client.get_instance_policy(KP_US)
    assert info.value.status_code == 401
