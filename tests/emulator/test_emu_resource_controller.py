"""Resource Controller listing/lookup and the HPCS broker (spec §6.3, §9)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import httpx
from emu_kit import HPCS, KP_EU, KP_US, Kit


def rc(kit: Kit, path: str, **params: str) -> httpx.Response:
    return kit.http.get(path, params=params or None, headers={"authorization": f"Bearer {kit.token()}"})


def test_paging_with_relative_next_url(kit: Kit) -> None:
    """limit=1 pages with a relative next_url carrying start; the last page has next_url null."""
    seen, url, pages = [], "/v2/resource_instances?limit=1", 0
    while url:
        resp = kit.http.get(url, headers={"authorization": f"Bearer {kit.token()}"})
        assert resp.status_code == 200
        body = resp.json()
        assert "next_url" in body and body["rows_count"] == len(body["resources"]) == 1
        seen += [r["guid"] for r in body["resources"]]
        url = body["next_url"]
        if url:
            assert url.startswith("/v2/resource_instances?") and "start" in parse_qs(urlsplit(url).query)
        pages += 1
    assert pages == 3
    assert set(seen) == {KP_US, KP_EU, HPCS}


def test_filters_and_record_shape(kit: Kit) -> None:
    """type/resource_id filter; records carry crn, region_id and extensions.endpoints pointing here."""
    body = rc(kit, "/v2/resource_instances", type="service_instance",
              resource_id="ee41347f-b18e-4ca6-bf80-b5467c63f9a6").json()
    assert {r["guid"] for r in body["resources"]} == {KP_US, KP_EU}
    assert body["next_url"] is None
    rec = next(r for r in body["resources"] if r["guid"] == KP_US)
    assert rec["crn"] == f"crn:v1:bluemix:public:kms:us-south:a/9f2c4e6a8b0d4f1e93a5c7e9b1d3f5a7:{KP_US}::"
    assert rec["region_id"] == "us-south" and rec["state"] == "active"
    assert rec["extensions"]["endpoints"]["public"] == kit.url


def test_single_lookup_by_guid_and_crn(kit: Kit) -> None:
    """Lookup works by GUID and by URL-encoded CRN; unknown ids answer 404; HPCS endpoint is B/hpcs/{guid}."""
    by_guid = rc(kit, f"/v2/resource_instances/{HPCS}").json()
    assert by_guid["extensions"]["endpoints"]["public"] == f"{kit.url}/hpcs/{HPCS}"
    by_crn = rc(kit, f"/v2/resource_instances/{quote(by_guid['crn'], safe='')}")
    assert by_crn.json()["guid"] == HPCS
    assert rc(kit, "/v2/resource_instances/nope").status_code == 404


def test_rc_endpoint_reaches_the_instance(kit: Kit) -> None:
    """The public endpoint from the RC record + /api/v2 serves that instance."""
    rec = rc(kit, f"/v2/resource_instances/{HPCS}").json()
    base = rec["extensions"]["endpoints"]["public"][len(kit.url):]
    assert kit.kms("GET", "/instance/policies", instance=HPCS, base=base).status_code == 200


def test_rc_needs_a_token(kit: Kit) -> None:
    """Resource Controller calls without a valid bearer answer 401."""
    assert kit.http.get("/v2/resource_instances").status_code == 401


def test_broker_hosts_without_scheme(kit: Kit) -> None:
    """The HPCS broker answers kms.public/private as host[:port]/hpcs/{guid} without scheme; 404 for KP guids."""
    body = rc(kit, f"/crypto_v2/instances/{HPCS}").json()
    host = kit.url.split("://", 1)[1]
    assert body["instance_id"] == HPCS
    assert body["kms"]["public"] == f"{host}/hpcs/{HPCS}"
    assert rc(kit, f"/crypto_v2/instances/{KP_US}").status_code == 404


def test_platform_services_sdk_reads_instances(kit: Kit) -> None:
    """ibm-platform-services ResourceControllerV2 reads an instance from the emulator unmodified."""
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
    from ibm_platform_services import ResourceControllerV2

    client = ResourceControllerV2(authenticator=IAMAuthenticator("emu-apikey-dualauth-functions", url=kit.url))
    client.set_service_url(kit.url)
    inst = client.get_resource_instance(id=KP_EU).get_result()
    assert inst["region_id"] == "eu-de"
    listed = client.list_resource_instances(limit=2).get_result()
    assert listed["rows_count"] == 2 and listed["next_url"]
