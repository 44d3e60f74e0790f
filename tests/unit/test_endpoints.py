"""Endpoint resolution: Key Protect by region, HPCS from its record or the broker, only trusted hosts."""

import pytest

from shared.crn import parse_crn
from shared.endpoints import check_region, hpcs_base_url, key_protect_url
from shared.errors import EndpointError, RegionNotAllowed

GUID = "6f1d2c3b-4a59-4e68-9d7c-0b1a2f3e4d5c"
HPCS = parse_crn(f"crn:v1:bluemix:public:hs-crypto:us-south:a/1a2b3c4d5e6f708192a3b4c5d6e7f809:{GUID}::")
RC = "https://resource-controller.cloud.ibm.com"
BROKER = "https://{region}.broker.hs-crypto.cloud.ibm.com"


def test_key_protect_by_region_public_private_and_override():
    """Key Protect is <region>.kms.cloud.ibm.com, private.<region>... when private, or KMS_URL when set."""
    assert key_protect_url("eu-de", "public", None) == "https://eu-de.kms.cloud.ibm.com"
    assert key_protect_url("eu-de", "private", None) == "https://private.eu-de.kms.cloud.ibm.com"
    assert key_protect_url("eu-de", "public", "http://127.0.0.1:9") == "http://127.0.0.1:9"


def resolve(record=None, broker=None, endpoint_type="public", rc=RC):
    calls = []

    def lookup_broker(crn):
        calls.append(crn.instance)
        return broker or {}

    url = hpcs_base_url(
        HPCS,
        endpoint_type=endpoint_type,
        resource_controller_url=rc,
        lookup_record=lambda crn: record or {},
        broker_template=BROKER,
        lookup_broker=lookup_broker,
    )
    return url, calls


@pytest.mark.parametrize(
    "endpoint",
    [
        f"https://{GUID}.api.us-south.hs-crypto.appdomain.cloud",
        "https://api.us-south.hs-crypto.cloud.ibm.com:8931",
    ],
)
def test_hpcs_from_record_new_and_old_style(endpoint):
    """New instance-based and old port-based HPCS endpoints from the record are used as they are."""
    url, broker_calls = resolve({"extensions": {"endpoints": {"public": endpoint + "/"}}})
    assert url == endpoint and broker_calls == []


def test_hpcs_private_endpoint():
    """With private endpoints the record's `private` entry is used."""
    record = {
        "extensions": {
            "endpoints": {
                "public": "https://a.hs-crypto.cloud.ibm.com",
                "private": "https://api.private.us-south.hs-crypto.cloud.ibm.com:9001",
            }
        }
    }
    assert resolve(record, endpoint_type="private")[0] == "https://api.private.us-south.hs-crypto.cloud.ibm.com:9001"


def test_hpcs_broker_fallback_with_bare_host():
    """Without endpoints in the record, the broker's bare kms host becomes an https base URL."""
    url, calls = resolve({}, {"kms": {"public": f"{GUID}.api.us-south.hs-crypto.appdomain.cloud"}})
    assert url == f"https://{GUID}.api.us-south.hs-crypto.appdomain.cloud" and calls == [GUID]


def test_no_endpoint_anywhere_is_an_endpoint_error():
    """No endpoint in the record nor at the broker is an EndpointError."""
    with pytest.raises(EndpointError):
        resolve({}, {"instance_id": GUID})


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://evil.example.com",
        "http://api.us-south.hs-crypto.cloud.ibm.com:8000",
        "https://api.us-south.hs-crypto.cloud.ibm.com@evil.example.com",
        "https://hs-crypto.cloud.ibm.com.evil.example.com",
        "https://x.hs-crypto.appdomain.cloud/?redirect=1",
        "http://127.0.0.2:9000",
        "https://evil.com:443\\.hs-crypto.cloud.ibm.com",
        "https://evil.com\t.hs-crypto.cloud.ibm.com",
        "https://api.us-south.hs-crypto.cloud.ibm.com:notaport",
        "https://xn--x.hs-crypto.cloud.ibm.com",
        "https://evil.com;.hs-crypto.cloud.ibm.com",
        "https://evil%40x.hs-crypto.cloud.ibm.com",
        "https://x.hs-crypto.appdomain.cloud/api/v2/keys#",
        "https://x.hs-crypto.appdomain.cloud/other",
        "https://x.hs-crypto.appdomain.cloud?",
        "http://127.0.0.1:9000/hpcs/x/api/v2/keys#",
        "https://a..hs-crypto.cloud.ibm.com",
        "https://" + "a" * 64 + ".api.us-south.hs-crypto.appdomain.cloud",
        "https://-x.api.us-south.hs-crypto.appdomain.cloud",
    ],
)
def test_untrusted_endpoints_are_refused(endpoint):
    """Endpoints off IBM's HPCS domains, without https, with userinfo, a query or a host no resolver takes."""
    with pytest.raises(EndpointError):
        resolve({"extensions": {"endpoints": {"public": endpoint}}}, rc="http://127.0.0.1:9000")


def test_same_origin_as_resource_controller_is_trusted():
    """An endpoint on the configured Resource Controller's own origin (the emulator) is trusted."""
    record = {"extensions": {"endpoints": {"public": f"http://127.0.0.1:9000/hpcs/{GUID}"}}}
    assert resolve(record, rc="http://127.0.0.1:9000")[0] == f"http://127.0.0.1:9000/hpcs/{GUID}"


def test_region_allow_list_per_service():
    """A region must be in the allow-list and served by the instance's service."""
    kp_osaka = parse_crn(f"crn:v1:bluemix:public:kms:jp-osa:a/abc:{GUID}::")
    check_region(kp_osaka, frozenset({"jp-osa"}))
    with pytest.raises(RegionNotAllowed):
        check_region(kp_osaka, frozenset({"us-south"}))
    with pytest.raises(RegionNotAllowed):
        check_region(parse_crn(f"crn:v1:bluemix:public:hs-crypto:jp-osa:a/abc:{GUID}::"), frozenset({"jp-osa"}))
