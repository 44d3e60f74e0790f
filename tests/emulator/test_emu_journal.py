"""The journal never shows a secret: in the query, in any body shape, in any credential header."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emu_kit import APIKEY_GRANT, FUNCS, KP_US, Kit

from emulator.journal import redact_headers


def journal(kit: Kit, surface: str) -> tuple[str, list[dict[str, Any]]]:
    resp = kit.control("GET", f"/journal?surface={surface}")
    assert resp.status_code == 200
    return resp.text, resp.json()["calls"]


@pytest.mark.parametrize("name", ["apikey", "APIKEY", "api_key", "cr_token", "client_secret", "password"])
def test_secret_query_parameters_are_redacted(kit: Kit, name: str) -> None:
    """A secret field in the query string (any surface, any letter case) is journalled as <redacted>."""
    kit.http.post(f"/identity/token?grant_type={APIKEY_GRANT}&{name}={FUNCS}")
    kit.http.get(f"/api/v2/keys?{name}={FUNCS}&limit=5", headers={"bluemix-instance": KP_US})
    for surface in ("iam", "kms"):
        text, calls = journal(kit, surface)
        assert FUNCS not in text
        assert calls[0]["query"][name] == "<redacted>"
    assert journal(kit, "kms")[1][0]["query"]["limit"] == "5"


def test_query_names_that_hide_a_secret_are_redacted(kit: Kit) -> None:
    """A query parameter whose decoded name is not a plain name (apikey%3D<key>) is shown as <redacted>."""
    kit.http.post(f"/identity/token?apikey%3D{FUNCS}&grant_type=x")
    text, calls = journal(kit, "iam")
    assert FUNCS not in text
    assert calls[0]["query"] == {"<redacted>": "<redacted>", "grant_type": "x"}


def test_multipart_iam_body_is_not_kept_as_text(kit: Kit) -> None:
    """A multipart `-F apikey=...` body to /identity/token is journalled as its size only, never as text."""
    resp = kit.http.post("/identity/token", files={"grant_type": (None, APIKEY_GRANT), "apikey": (None, FUNCS)})
    assert resp.status_code == 400
    text, calls = journal(kit, "iam")
    assert FUNCS not in text
    size = int(calls[0]["headers"]["content-length"])
    assert calls[0]["body"] == f"<redacted: {size} bytes>"


@pytest.mark.parametrize(("body", "ctype"), [
    (f"apikey%3D{FUNCS}", "application/x-www-form-urlencoded"),
    (f"apikey%3D{FUNCS}", None),
    (f"key is {FUNCS}", "text/plain"),
    ("[" * 80 + json.dumps({"apikey": FUNCS}) + "]" * 80, "application/json"),
])
def test_iam_bodies_that_are_neither_form_nor_json_are_not_kept_as_text(kit: Kit, body: str,
                                                                         ctype: str | None) -> None:
    """An IAM body that is no plain form and no JSON (odd names, other text, too deep) is journalled as its size."""
    kit.http.post("/identity/token", content=body, headers={"content-type": ctype} if ctype else {})
    text, calls = journal(kit, "iam")
    assert FUNCS not in text
    assert calls[0]["body"] == f"<redacted: {len(body.encode())} bytes>"


@pytest.mark.parametrize("body", [
    [{"apikey": FUNCS}],
    {"x": {"apikey": FUNCS}},
    {"grant_type": APIKEY_GRANT, "list": [[{"deep": {"API_KEY": FUNCS}}]]},
])
@pytest.mark.parametrize("surface", ["iam", "kms"])
def test_secrets_in_nested_json_bodies_are_redacted(kit: Kit, body: Any, surface: str) -> None:
    """Secret members of a JSON body are redacted at any depth and inside lists, on every surface."""
    path = "/identity/token" if surface == "iam" else "/api/v2/keys"
    kit.http.post(path, json=body, headers={"bluemix-instance": KP_US})
    text, calls = journal(kit, surface)
    assert FUNCS not in text
    assert "<redacted>" in text
    assert calls[0]["body"] == json.loads(json.dumps(body).replace(json.dumps(FUNCS), '"<redacted>"'))


def test_credential_headers_are_redacted_and_ids_kept(kit: Kit) -> None:
    """X-Auth-Key / X-Api-Key / Apikey headers are redacted; bluemix-instance, x-kms-key-ring and co stay visible."""
    headers = {"X-Auth-Key": FUNCS, "X-Api-Key": FUNCS, "Apikey": FUNCS, "X-AuthKey": FUNCS, "Private_Key": FUNCS,
               "bluemix-instance": KP_US, "x-kms-key-ring": "ring-1", "correlation-id": "c-1",
               "content-type": "application/json"}
    kit.http.get("/api/v2/keys", headers=headers)
    text, calls = journal(kit, "kms")
    assert FUNCS not in text
    shown = calls[0]["headers"]
    for name in ("x-auth-key", "x-api-key", "apikey", "x-authkey", "private_key"):
        assert shown[name] == "<redacted>", name
    assert shown["bluemix-instance"] == KP_US and shown["x-kms-key-ring"] == "ring-1"
    assert shown["correlation-id"] == "c-1" and shown["content-type"] == "application/json"


def test_authorization_keeps_only_a_known_scheme() -> None:
    """Only a known auth scheme (Bearer, Basic, ApiKey..., any case) is kept; any other value is redacted whole."""
    cases = [(f"{FUNCS} x", "<redacted>"), (f"{FUNCS} {FUNCS}", "<redacted>"), ("Bearer abc.def", "Bearer <redacted>"),
             ("bearer abc", "bearer <redacted>"), ("Basic dXNlcjpwYXNz", "Basic <redacted>"),
             ("ApiKey secret", "ApiKey <redacted>"), ("Bearer", "<redacted>")]
    for value, shown in cases:
        assert redact_headers({"Authorization": value}) == {"authorization": shown}, value
        assert redact_headers({"X-Event-Token": value}) == {"x-event-token": shown}, value


def test_unknown_scheme_authorization_is_redacted_whole_in_the_journal(kit: Kit) -> None:
    """An Authorization header whose first word is not an auth scheme is journalled as <redacted>, not kept."""
    resp = kit.http.get("/api/v2/keys", headers={"Authorization": f"{FUNCS} x", "bluemix-instance": KP_US})
    assert resp.status_code == 401
    text, calls = journal(kit, "kms")
    assert FUNCS not in text and calls[0]["headers"]["authorization"] == "<redacted>"

