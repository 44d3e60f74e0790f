"""IAM token endpoint of the emulator (spec §7)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from emu_kit import ALICE, APIKEY_GRANT, FUNCS, Kit


def claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


@pytest.mark.parametrize("path", ["/identity/token", "/oidc/token"])
def test_apikey_grant_returns_bearer_jwt(kit: Kit, path: str) -> None:
    """An API key grant answers 200 with IAM's body and an HS256 JWT carrying iat/exp/sub/iam_id/account."""
    resp = kit.http.post(path, data={"grant_type": APIKEY_GRANT, "apikey": FUNCS, "response_type": "cloud_iam"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"] == "not_supported"
    assert body["expires_in"] == 3600
    assert isinstance(body["ims_user_id"], int)
    assert body["scope"]
    c = claims(body["access_token"])
    assert json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))["alg"] == "HS256"
    assert c["sub"] == c["iam_id"] == "iam-ServiceId-emu-dualauth"
    assert c["exp"] - c["iat"] == 3600
    assert body["expiration"] == c["exp"]
    assert c["account"]["bss"] == "9f2c4e6a8b0d4f1e93a5c7e9b1d3f5a7"


def test_unknown_apikey_is_bxnim0415e(kit: Kit) -> None:
    """An unknown API key answers 400 BXNIM0415E with ibm-cloud-service-name: iam-identity and a context."""
    resp = kit.http.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": "nope"})
    assert resp.status_code == 400
    assert resp.headers["ibm-cloud-service-name"] == "iam-identity"
    body = resp.json()
    assert body["errorCode"] == "BXNIM0415E"
    assert body["errorMessage"] == "Provided API key could not be found."
    assert body["context"]["requestType"] == "incoming.Identity_Token"


@pytest.mark.parametrize(("form", "code"), [
    ({"apikey": ALICE}, "BXNIM0109E"),
    ({"grant_type": APIKEY_GRANT}, "BXNIM0109E"),
    ({"grant_type": "password", "apikey": ALICE}, "BXNIM0104E"),
])
def test_bad_grant_requests_are_iam_400s(kit: Kit, form: dict[str, str], code: str) -> None:
    """Missing grant/fields and unsupported grants answer IAM-style 400 errors."""
    resp = kit.http.post("/identity/token", data=form)
    assert resp.status_code == 400
    assert resp.json()["errorCode"] == code
    assert resp.headers["ibm-cloud-service-name"] == "iam-identity"


@pytest.mark.parametrize("selector", [{"profile_id": "Profile-emu-dualauth"},
                                      {"profile_name": "dualauth-functions-profile"}])
def test_cr_token_grant_by_profile(kit: Kit, selector: dict[str, str]) -> None:
    """A compute-resource token grant for a seeded trusted profile yields a token for the profile."""
    resp = kit.http.post("/identity/token", data={"grant_type": "urn:ibm:params:oauth:grant-type:cr-token",
                                                  "cr_token": "emu-cr-token-dualauth", **selector})
    assert resp.status_code == 200
    assert claims(resp.json()["access_token"])["sub"] == "iam-Profile-emu-dualauth"


def test_cr_token_grant_rejects_unknown_token(kit: Kit) -> None:
    """A CR token the profile does not accept answers 400."""
    resp = kit.http.post("/identity/token", data={"grant_type": "urn:ibm:params:oauth:grant-type:cr-token",
                                                  "cr_token": "forged", "profile_id": "Profile-emu-dualauth"})
    assert resp.status_code == 400
    assert resp.json()["errorCode"].startswith("BXNIM")


def test_assume_grant(kit: Kit) -> None:
    """The assume grant trades a valid token for a trusted-profile token."""
    resp = kit.http.post("/identity/token", data={"grant_type": "urn:ibm:params:oauth:grant-type:assume",
                                                  "access_token": kit.token(ALICE),
                                                  "profile_id": "Profile-emu-dualauth"})
    assert resp.status_code == 200
    assert claims(resp.json()["access_token"])["sub"] == "iam-Profile-emu-dualauth"


def test_token_lifetime_is_configurable(kit: Kit) -> None:
    """The token lifetime setting drives expires_in and exp - iat."""
    assert kit.control("PATCH", "/settings", {"token_lifetime": 5}).status_code == 200
    body = kit.http.post("/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": ALICE}).json()
    assert body["expires_in"] == 5
    c = claims(body["access_token"])
    assert c["exp"] - c["iat"] == 5


def test_ibm_sdk_core_authenticator_gets_a_token(kit: Kit) -> None:
    """ibm-cloud-sdk-core's IAMAuthenticator obtains a token from the emulator unmodified."""
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator

    auth = IAMAuthenticator(FUNCS, url=kit.url)
    token = auth.token_manager.get_token()
    assert claims(token)["sub"] == "iam-ServiceId-emu-dualauth"
