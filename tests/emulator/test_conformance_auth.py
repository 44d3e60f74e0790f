"""ibm-cloud-sdk-core's authenticators (unmodified) against the emulator's IAM (spec §7).

IAMAuthenticator (API key), ContainerAuthenticator (compute-resource token + trusted profile by
id or name) and IAMAssumeAuthenticator (API key, then assume a profile), each proven by a real
KMS call whose ``createdBy`` shows whom the token names; plus the SDK's refresh rules against a
short token lifetime, and IAM's errors as the SDK surfaces them.
"""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from emu_kit import ACCOUNT, FUNCS, KP_US, Kit
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import Authenticator, ContainerAuthenticator, IAMAssumeAuthenticator
from sdk_kit import CR_TOKEN, PROFILE_IAM_ID, PROFILE_ID, PROFILE_NAME, ROOT_SERVICE_ID, iam, key_create_body, kp

PROFILE_CRN = f"crn:v1:bluemix:public:iam-identity::a/{ACCOUNT}::profile:{PROFILE_ID}"


def _creator(kit: Kit, authenticator: Authenticator) -> str:
    """Create a key through ``authenticator``; return the key's createdBy (the token's subject)."""
    key = kp(kit.url, authenticator=authenticator).create_key(KP_US, key_create_body()).get_result()
    return str(key["resources"][0]["createdBy"])


def _grants(kit: Kit) -> list[str]:
    calls = kit.control("GET", "/journal?path=/identity/token").json()["calls"]
    return [c["body"]["grant_type"].rsplit(":", 1)[-1] for c in calls]


def _cr_file(tmp_path: Path, token: str = CR_TOKEN) -> str:
    path = tmp_path / "cr-token"
    path.write_text(token, encoding="utf-8")  # projected tokens carry no trailing newline
    return str(path)


def test_iam_authenticator_token_and_refresh_schedule(kit: Kit) -> None:
    """IAMAuthenticator gets an HS256 JWT; the SDK schedules refresh at exp - 20 % of a 3600 s lifetime."""
    auth = iam(kit.url)
    assert _creator(kit, auth) == ROOT_SERVICE_ID
    manager = auth.token_manager
    claims = jwt.decode(manager.access_token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600 and claims["sub"] == ROOT_SERVICE_ID
    assert manager.expire_time == claims["exp"]
    assert manager.refresh_time == pytest.approx(claims["exp"] - 720)
    assert manager.token_info["expires_in"] == 3600 and manager.token_info["refresh_token"] == "not_supported"
    assert _grants(kit) == ["apikey"]


def test_iam_authenticator_refetches_when_token_nears_expiry(kit: Kit) -> None:
    """With a 12 s token, the SDK treats it as expired 10 s before exp and fetches a new one; both work on KMS."""
    assert kit.control("PATCH", "/settings", {"token_lifetime": 12}).status_code == 200
    auth = iam(kit.url)
    client = kp(kit.url, authenticator=auth)
    client.get_keys(KP_US)
    first = auth.token_manager.access_token
    iat = jwt.decode(first, options={"verify_signature": False})["iat"]
    while int(time.time()) < iat + 2:
        time.sleep(0.1)
    assert client.get_keys(KP_US).get_status_code() == 200
    assert auth.token_manager.access_token != first
    assert _grants(kit) == ["apikey", "apikey"]


def test_iam_unknown_api_key_is_bxnim0415e(kit: Kit) -> None:
    """An unknown API key: the SDK raises ApiException 400 with IAM's errorMessage (BXNIM0415E body)."""
    with pytest.raises(ApiException) as info:
        kp(kit.url, "no-such-key").get_keys(KP_US)
    exc = info.value
    assert exc.status_code == 400 and exc.message == "Provided API key could not be found."
    assert exc.http_response is not None and exc.http_response.json()["errorCode"] == "BXNIM0415E"
    assert exc.http_response.headers["ibm-cloud-service-name"] == "iam-identity"


def test_server_side_expiry_surfaces_as_401(kit: Kit) -> None:
    """Tokens expired by the control API: the SDK still holds its token, KMS answers 401 UNAUTHORIZED_ERR."""
    client = kp(kit.url)
    client.get_keys(KP_US)
    kit.control("POST", "/tokens/expire")
    with pytest.raises(ApiException) as info:
        client.get_keys(KP_US)
    assert info.value.status_code == 401
    assert info.value.http_response is not None
    assert info.value.http_response.json()["resources"][0]["reasons"][0]["code"] == "UNAUTHORIZED_ERR"


@pytest.mark.parametrize("by", ["id", "name"])
def test_container_authenticator_with_profile(kit: Kit, tmp_path: Path, by: str) -> None:
    """ContainerAuthenticator reads the CR token file and gets a token for the trusted profile (by id or name)."""
    kwargs = {"iam_profile_id": PROFILE_ID} if by == "id" else {"iam_profile_name": PROFILE_NAME}
    auth = ContainerAuthenticator(cr_token_filename=_cr_file(tmp_path), url=kit.url, **kwargs)
    assert _creator(kit, auth) == PROFILE_IAM_ID
    call = kit.control("GET", "/journal?path=/identity/token").json()["calls"][0]
    assert call["body"]["grant_type"] == "urn:ibm:params:oauth:grant-type:cr-token"
    assert call["body"].get("profile_id" if by == "id" else "profile_name") == kwargs[f"iam_profile_{by}"]


def test_container_authenticator_bad_cr_token(kit: Kit, tmp_path: Path) -> None:
    """A CR token the profile does not trust → ApiException 400 (IAM body, BXNIM0434E)."""
    auth = ContainerAuthenticator(cr_token_filename=_cr_file(tmp_path, "forged"), iam_profile_id=PROFILE_ID,
                                  url=kit.url)
    with pytest.raises(ApiException) as info:
        kp(kit.url, authenticator=auth).get_keys(KP_US)
    assert info.value.status_code == 400
    assert info.value.http_response is not None and info.value.http_response.json()["errorCode"] == "BXNIM0434E"


def test_container_authenticator_unknown_profile(kit: Kit, tmp_path: Path) -> None:
    """An unknown trusted profile → ApiException 400 (IAM body, BXNIM0489E)."""
    auth = ContainerAuthenticator(cr_token_filename=_cr_file(tmp_path), iam_profile_name="nobody", url=kit.url)
    with pytest.raises(ApiException) as info:
        kp(kit.url, authenticator=auth).get_keys(KP_US)
    assert info.value.status_code == 400
    assert info.value.http_response is not None and info.value.http_response.json()["errorCode"] == "BXNIM0489E"


@pytest.mark.parametrize("how", ["id", "crn", "name+account"])
def test_iam_assume_authenticator(kit: Kit, how: str) -> None:
    """IAMAssumeAuthenticator: API-key token first, then the assume grant for the profile (id, crn or name+account)."""
    kwargs = {"id": {"iam_profile_id": PROFILE_ID}, "crn": {"iam_profile_crn": PROFILE_CRN},
              "name+account": {"iam_profile_name": PROFILE_NAME, "iam_account_id": ACCOUNT}}[how]
    auth = IAMAssumeAuthenticator(FUNCS, url=kit.url, **kwargs)
    assert _creator(kit, auth) == PROFILE_IAM_ID
    assert _grants(kit) == ["apikey", "assume"]


def test_iam_assume_unknown_profile(kit: Kit) -> None:
    """Assuming a profile that does not exist → ApiException 400 (IAM body, BXNIM0489E)."""
    auth = IAMAssumeAuthenticator(FUNCS, url=kit.url, iam_profile_id="Profile-nope")
    with pytest.raises(ApiException) as info:
        kp(kit.url, authenticator=auth).get_keys(KP_US)
    assert info.value.status_code == 400
    assert info.value.http_response is not None and info.value.http_response.json()["errorCode"] == "BXNIM0489E"
