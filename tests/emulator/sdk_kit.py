"""IBM's own SDKs, unmodified, pointed at the emulator: client factories and error readers.

The conformance tests (``test_conformance_*.py``) drive these clients and assert what the real
service would answer. The SDKs are dev dependencies only; the product never imports them.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from emu_kit import FUNCS, HPCS
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import Authenticator, IAMAuthenticator
from ibm_platform_services import ResourceControllerV2
from keyprotect.ibm_key_protect_api_v2 import IbmKeyProtectApiV2

KEY_CT = "application/vnd.ibm.kms.key+json"
ROOT_SERVICE_ID = "iam-ServiceId-emu-dualauth"
PROFILE_ID, PROFILE_NAME, PROFILE_IAM_ID = (
    "Profile-emu-dualauth", "dualauth-functions-profile", "iam-Profile-emu-dualauth")
CR_TOKEN = "emu-cr-token-dualauth"

# ApiException.code is deprecated in favour of status_code; the SDK warns when anyone reads it.
warnings.filterwarnings("ignore", message="Using the `code` attribute", category=DeprecationWarning)


def iam(url: str, apikey: str = FUNCS) -> IAMAuthenticator:
    return IAMAuthenticator(apikey, url=url)


def kp(url: str, apikey: str = FUNCS, *, authenticator: Authenticator | None = None,
       hpcs: bool = False) -> IbmKeyProtectApiV2:
    """A keyprotect client; ``hpcs`` aims it at the HPCS instance's own endpoint."""
    client = IbmKeyProtectApiV2(authenticator=authenticator or iam(url, apikey))
    client.set_service_url(f"{url}/hpcs/{HPCS}" if hpcs else url)
    return client


def rc(url: str, apikey: str = FUNCS) -> ResourceControllerV2:
    client = ResourceControllerV2(authenticator=iam(url, apikey))
    client.set_service_url(url)
    return client


def key_create_body(name: str = "sdk-key", **extra: Any) -> str:
    """The raw JSON ``create_key`` takes (the SDK sends it as given, with the key+json type)."""
    res = {"type": KEY_CT, "name": name, "extractable": False, **extra}
    return json.dumps({"metadata": {"collectionType": KEY_CT, "collectionTotal": 1}, "resources": [res]})


def kms_reason(exc: ApiException) -> dict[str, Any]:
    """The first reason of the KMS error envelope behind an ApiException."""
    assert exc.http_response is not None
    assert exc.http_response.headers["Content-Type"] == "application/vnd.ibm.kms.error+json"
    body = exc.http_response.json()
    assert body["metadata"]["collectionType"] == "application/vnd.ibm.kms.error+json"
    reason: dict[str, Any] = body["resources"][0]["reasons"][0]
    assert reason["status"] == exc.status_code
    return reason


def error_msg(exc: ApiException) -> str:
    assert exc.http_response is not None
    return str(exc.http_response.json()["resources"][0]["errorMsg"])
