"""ibm-platform-services' ResourceControllerV2 (unmodified) against the emulator's Resource Controller (spec §9)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from emu_kit import HPCS, KP_EU, KP_US, Kit
from ibm_cloud_sdk_core import ApiException
from ibm_platform_services.resource_controller_v2 import (
    ResourceInstance,
    ResourceInstancesList,
    ResourceInstancesPager,
)
from sdk_kit import rc

KMS_ID = "ee41347f-b18e-4ca6-bf80-b5467c63f9a6"


def _rc_calls(kit: Kit) -> list[dict[str, str]]:
    calls = kit.control("GET", "/journal?path=/v2/resource_instances").json()["calls"]
    return [c["query"] for c in calls]


def test_pager_walks_every_page(kit: Kit) -> None:
    """The SDK pager with limit 1 follows the relative next_url's start token across 3 pages, then stops."""
    pager = ResourceInstancesPager(client=rc(kit.url), limit=1)
    rows = pager.get_all()
    assert sorted(r["guid"] for r in rows) == sorted([KP_US, KP_EU, HPCS])
    queries = _rc_calls(kit)
    assert len(queries) == 3 and "start" not in queries[0]
    assert all(q["limit"] == "1" and q["start"] for q in queries[1:])


def test_pager_filters_by_resource_id_and_type(kit: Kit) -> None:
    """resource_id (the kms service id) keeps the two Key Protect instances; type service_instance keeps all."""
    client = rc(kit.url)
    kms = ResourceInstancesPager(client=client, resource_id=KMS_ID, limit=1).get_all()
    assert sorted(r["guid"] for r in kms) == sorted([KP_US, KP_EU])
    assert all(r["sub_type"] == "kms" and r["crn"].split(":")[4] == "kms" for r in kms)
    every = ResourceInstancesPager(client=client, type="service_instance").get_all()
    assert len(every) == 3
    assert ResourceInstancesPager(client=client, type="resource_group").get_all() == []


def test_typed_list_parses_a_middle_page(kit: Kit) -> None:
    """A page with a following page parses with the SDK's typed ResourceInstancesList; next_url is relative."""
    result = rc(kit.url).list_resource_instances(limit=2).get_result()
    typed = ResourceInstancesList.from_dict(result)
    assert typed.rows_count == 2 and typed.next_url.startswith("/v2/resource_instances?")
    assert "start=" in typed.next_url


def test_last_page_next_url_is_null(kit: Kit) -> None:
    """The last page carries next_url: null (spec §9), which the SDK's typed from_dict cannot parse.

    ``ResourceInstancesList.from_dict`` treats a null ``next_url`` as missing and raises; the
    SDK's own pager (and ``get_result()`` dicts) handle it, so clients should page with those.
    """
    result = rc(kit.url).list_resource_instances().get_result()
    assert result["rows_count"] == 3 and "next_url" in result and result["next_url"] is None
    with pytest.raises(ValueError, match="next_url"):
        ResourceInstancesList.from_dict(result)


@pytest.mark.parametrize("ident", ["guid", "crn"])
def test_get_resource_instance(kit: Kit, ident: str) -> None:
    """get_resource_instance by guid or CRN (the SDK URL-encodes it) → the typed record with endpoints here."""
    client = rc(kit.url)
    crn = client.get_resource_instance(id=HPCS).get_result()["crn"]
    result = client.get_resource_instance(id=HPCS if ident == "guid" else crn).get_result()
    inst = ResourceInstance.from_dict(result)
    assert (inst.guid, inst.state, inst.type, inst.region_id) == (HPCS, "active", "service_instance", "us-south")
    assert inst.crn == f"crn:v1:bluemix:public:hs-crypto:us-south:a/{inst.account_id}:{HPCS}::"
    assert inst.extensions["endpoints"]["public"] == f"{kit.url}/hpcs/{HPCS}"
    kp_rec = client.get_resource_instance(id=KP_US).get_result()
    assert kp_rec["extensions"]["endpoints"]["public"] == kit.url


def test_get_unknown_instance_is_404(kit: Kit) -> None:
    """An unknown instance → ApiException 404 with the RC error body (message, status_code, error_code)."""
    with pytest.raises(ApiException) as info:
        rc(kit.url).get_resource_instance(id=quote("crn:v1:bluemix:public:kms:us-south:a/x:nope::", safe=""))
    assert info.value.status_code == 404
    assert info.value.http_response is not None
    body = info.value.http_response.json()
    assert body["status_code"] == 404 and body["error_code"] and info.value.message == body["message"]


def test_rc_needs_a_valid_token(kit: Kit) -> None:
    """Resource Controller with a revoked token → ApiException 401."""
    client = rc(kit.url)
    client.list_resource_instances()
    kit.control("POST", "/tokens/expire")
    with pytest.raises(ApiException) as info:
        client.list_resource_instances()
    assert info.value.status_code == 401


def test_provisioned_and_removed_instances(kit: Kit) -> None:
    """A provisioned instance shows in the pager; once removed it leaves the list but its record still reads."""
    made = kit.control("POST", "/instances", {"service": "kms", "region": "eu-gb", "name": "sdk-new",
                                              "event": "none"})
    guid = made.json()["instance"]["guid"]
    client = rc(kit.url)
    assert guid in {r["guid"] for r in ResourceInstancesPager(client=client, limit=2).get_all()}
    kit.control("DELETE", f"/instances/{guid}", {"event": "none"})
    assert guid not in {r["guid"] for r in ResourceInstancesPager(client=client, limit=2).get_all()}
    assert client.get_resource_instance(id=guid).get_result()["state"] == "removed"
