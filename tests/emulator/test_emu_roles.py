"""The KMS role table of spec §10 (Reader, Writer, Manager) and the remaining confirmed list/action rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emu_kit import ALICE, KP_US, Kit, key_body, policy_body, reason

SEED = Path(__file__).resolve().parents[2] / "emulator" / "default_seed.json"
WRITER = "emu-apikey-dave-writer"
KEY_POLICY = {"metadata": {"collectionType": "application/vnd.ibm.kms.policy+json", "collectionTotal": 1},
              "resources": [{"type": "application/vnd.ibm.kms.policy+json", "dualAuthDelete": {"enabled": True}}]}


def _seed_with_writer(tmp_path: Path) -> str:
    seed: dict[str, Any] = json.loads(SEED.read_text(encoding="utf-8"))
    seed["users"].append({"iam_id": "IBMid-emu-dave", "name": "Dave", "apikey": WRITER, "roles": {"*": "Writer"}})
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    return str(path)


def test_role_table(tmp_path: Path, emulator_launcher: Any) -> None:
    """Reader reads; Writer also creates keys and sets/unsets deletion; only Manager does policies and DELETE (401)."""
    kit = Kit(emulator_launcher.start("--seed", _seed_with_writer(tmp_path)).url)
    kit.set_dual(True, who=ALICE)
    kid = kit.create_key("victim")["id"]
    ops: list[tuple[str, str, str, Any, dict[str, str] | None]] = [
        ("list keys", "GET", "/keys", None, None),
        ("read metadata", "GET", f"/keys/{kid}/metadata", None, None),
        ("create key", "POST", "/keys", key_body("made"), None),
        ("set for deletion", "POST", f"/keys/{kid}/actions/setKeyForDeletion", None, None),
        ("unset for deletion", "POST", f"/keys/{kid}/actions/unsetKeyForDeletion", None, None),
        ("read instance policies", "GET", "/instance/policies", None, None),
        ("set instance policy", "PUT", "/instance/policies", policy_body(
            {"policy_type": "metrics", "policy_data": {"enabled": True}}), {"policy": "metrics"}),
        ("read key policies", "GET", f"/keys/{kid}/policies", None, None),
        ("set key policy", "PUT", f"/keys/{kid}/policies", KEY_POLICY, {"policy": "dualAuthDelete"}),
        ("delete key", "DELETE", f"/keys/{kid}", None, None),
    ]
    allowed = {"Reader": {"list keys", "read metadata"},
               "Writer": {"list keys", "read metadata", "create key", "set for deletion", "unset for deletion"}}
    wrong = []
    for role, apikey in (("Reader", "emu-apikey-carol-reader"), ("Writer", WRITER)):
        for name, method, path, body, params in ops:
            resp = kit.kms(method, path, who=apikey, body=body, params=params)
            ok = resp.status_code < 400
            if ok != (name in allowed[role]) or (not ok and (resp.status_code, reason(resp)["code"])
                                                 != (401, "UNAUTHORIZED_ERR")):
                wrong.append((role, name, resp.status_code))
    assert wrong == []
    kit.kms("POST", f"/keys/{kid}/actions/setKeyForDeletion", who=WRITER)
    assert kit.kms("DELETE", f"/keys/{kid}", who=ALICE).status_code == 204  # Manager, a different user
    kit.http.close()


def test_list_default_limit_is_200(kit: Kit) -> None:
    """GET /keys without limit returns the first 200 keys; limit=5000 (the maximum) returns them all."""
    for n in range(201):
        kit.kms("POST", "/keys", body=key_body(f"bulk-{n:03d}"), headers={"prefer": "return=minimal"})
    page = kit.kms("GET", "/keys").json()
    assert page["metadata"]["collectionTotal"] == 200 and len(page["resources"]) == 200
    assert kit.kms("GET", "/keys", params={"limit": 5000}).json()["metadata"]["collectionTotal"] == 201


def test_unset_on_key_without_dual_auth_is_409(kit: Kit) -> None:
    """unsetKeyForDeletion on a key without dual auth → 409 NOT_DUAL_AUTH_ERR, like setKeyForDeletion."""
    kid = kit.create_key()["id"]
    resp = kit.kms("POST", f"/keys/{kid}/actions/unsetKeyForDeletion")
    assert resp.status_code == 409 and reason(resp)["code"] == "NOT_DUAL_AUTH_ERR"


def test_instance_policy_put_requires_instance_header(kit: Kit) -> None:
    """Every KMS call carries bluemix-instance; without it the call fails before any change (default 400)."""
    resp = kit.kms("PUT", "/instance/policies", instance=None, body=policy_body(
        {"policy_type": "dualAuthDelete", "policy_data": {"enabled": True}}), params={"policy": "dualAuthDelete"})
    assert resp.status_code == 400 and reason(resp)["code"] == "MISSING_INSTANCE_ERR"
    assert kit.kms("GET", "/instance/policies", instance=KP_US).json()["metadata"]["collectionTotal"] == 0
