"""IAM token endpoint: ``POST /identity/token`` and ``POST /oidc/token`` (spec §7).

Grants: API key, compute-resource token (trusted profile by ``profile_id`` / ``profile_name`` /
``profile_crn``) and assume (a valid emulator token + a profile). Tokens are HS256 JWTs.

    ServiceError
    └── IamError(status, errorCode, errorMessage)   -> IAM's body with a ``context`` object

Only BXNIM0415E (unknown API key) is confirmed; the other codes are plausible guesses (README).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from emulator import jwt
from emulator.web import Request, Response, Router, ServiceError

if TYPE_CHECKING:
    from emulator.app import Emulator

GRANT_APIKEY = "urn:ibm:params:oauth:grant-type:apikey"
GRANT_CR = "urn:ibm:params:oauth:grant-type:cr-token"
GRANT_ASSUME = "urn:ibm:params:oauth:grant-type:assume"


class IamError(ServiceError):
    def __init__(self, status: int, code: str, message: str, request: Request | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request = request

    def response(self) -> Response:
        now = time.strftime("%d.%m.%Y %H:%M:%S:000 GMT", time.gmtime())
        agent = self.request.header("user-agent") if self.request else None
        context = {
            "requestId": uuid.uuid4().hex, "requestType": "incoming.Identity_Token",
            "userAgent": agent or "", "url": self.request.base_url if self.request else "",
            "instanceId": "iamid-emulator", "threadId": "1", "host": "emulator", "startTime": now,
            "endTime": now, "elapsedTime": "0", "locale": "en_US", "clusterName": "emulator",
        }
        body = {"errorCode": self.code, "errorMessage": self.message, "context": context}
        return Response.json(self.status, body, headers={"ibm-cloud-service-name": "iam-identity"})


def missing(field: str, req: Request) -> IamError:
    return IamError(400, "BXNIM0109E", f"Property missing or empty. Property: {field}", req)


def issue(emu: Emulator, principal: dict[str, Any], grant: str, kind: str, base_url: str) -> dict[str, Any]:
    """Sign a token for ``principal``; return IAM's success body."""
    store = emu.store
    with store.lock:
        store.tokens["issued"] += 1
        seq = store.tokens["issued"]
        secret = bytes.fromhex(store.tokens["secret"])
        now = int(store.now())
    lifetime = int(emu.options.token_lifetime)
    account = store.world["account_id"]
    claims = {
        "iam_id": principal["iam_id"], "id": principal["iam_id"], "sub": principal["iam_id"],
        "sub_type": kind, "name": principal.get("name", principal["iam_id"]),
        "email": principal.get("email", ""), "realmid": "iam" if kind != "IBMid" else "IBMid",
        "jti": f"emu-{seq}", "identifier": principal["iam_id"],
        "account": {"valid": True, "bss": account, "frozen": True},
        "iat": now, "exp": now + lifetime, "iss": f"{base_url}/identity",
        "grant_type": grant, "scope": "ibm openid", "client_id": "default", "acr": 1, "amr": ["pwd"],
    }
    token = jwt.encode(claims, secret)
    return {
        "access_token": token, "refresh_token": "not_supported", "token_type": "Bearer",
        "expires_in": lifetime, "expiration": now + lifetime, "scope": "ibm openid",
        "ims_user_id": int(principal.get("ims_user_id", 0)),
    }


def _kind(principal: dict[str, Any]) -> str:
    iam_id = str(principal["iam_id"])
    if iam_id.startswith("iam-ServiceId"):
        return "ServiceId"
    if iam_id.startswith("iam-Profile") or "cr_tokens" in principal:
        return "Profile"
    return "IBMid" if iam_id.startswith("IBMid") else "user"


def token(emu: Emulator, req: Request) -> Response:
    """POST /identity/token and /oidc/token (form-encoded)."""
    ctype = (req.header("content-type") or "").lower()
    if ctype and "application/x-www-form-urlencoded" not in ctype:
        raise IamError(400, "BXNIM0109E", "Property missing or empty. Property: grant_type", req)
    try:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError as exc:
        raise IamError(400, "BXNIM0109E", "Property missing or empty. Property: grant_type", req) from exc
    grant = form.get("grant_type", "")
    if not grant:
        raise missing("grant_type", req)
    store = emu.store
    if grant == GRANT_APIKEY:
        apikey = form.get("apikey", "")
        if not apikey:
            raise missing("apikey", req)
        with store.lock:
            principal = store.principal_by_apikey(apikey)
        if principal is None:
            raise IamError(400, "BXNIM0415E", "Provided API key could not be found.", req)
        return Response.json(200, issue(emu, principal, grant, _kind(principal), req.base_url))
    if grant == GRANT_CR:
        cr = form.get("cr_token", "")
        if not cr:
            raise missing("cr_token", req)
        pid, name, crn = form.get("profile_id"), form.get("profile_name"), form.get("profile_crn")
        if not (pid or name or crn):
            raise missing("profile_id", req)
        with store.lock:
            profile = store.profile(pid=pid, name=name, crn=crn)
        if profile is None:
            raise IamError(400, "BXNIM0489E", "The trusted profile could not be found.", req)
        if cr not in profile.get("cr_tokens", []):
            raise IamError(400, "BXNIM0434E", "The compute resource token could not be verified.", req)
        return Response.json(200, issue(emu, profile, grant, "Profile", req.base_url))
    if grant == GRANT_ASSUME:
        access = form.get("access_token", "")
        if not access:
            raise missing("access_token", req)
        try:
            with store.lock:
                claims = jwt.decode(access, bytes.fromhex(store.tokens["secret"]))
        except jwt.TokenFormatError as exc:
            raise IamError(400, "BXNIM0407E", "The provided access token is invalid.", req) from exc
        if claims.get("exp", 0) <= store.now():
            raise IamError(400, "BXNIM0408E", "The provided access token is expired.", req)
        pid, name, crn = form.get("profile_id"), form.get("profile_name"), form.get("profile_crn")
        if name and not pid and not crn and not form.get("account"):
            raise missing("account", req)
        with store.lock:
            profile = store.profile(pid=pid, name=name, crn=crn)
        if profile is None:
            raise IamError(400, "BXNIM0489E", "The trusted profile could not be found.", req)
        return Response.json(200, issue(emu, profile, grant, "Profile", req.base_url))
    raise IamError(400, "BXNIM0104E", "Grant type not supported.", req)


def register(router: Router, emu: Emulator) -> None:
    for path in ("/identity/token", "/oidc/token"):
        router.add("POST", path, lambda req: token(emu, req))
