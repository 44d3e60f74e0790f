"""KMS (Key Protect / HPCS) errors, named as the service names them, in its envelope (spec §5.1).

    ServiceError
    └── KmsError(status, code, message, error_msg, target)   -> application/vnd.ibm.kms.error+json

Constructors below cover each reason code the emulator answers with. Codes marked *synthetic*
are not documented by IBM (README "Synthetic codes").
"""

from __future__ import annotations

from typing import Any

from emulator.web import Response, ServiceError

ERROR_TYPE = "application/vnd.ibm.kms.error+json"
MORE_INFO = "https://cloud.ibm.com/apidocs/key-protect"
REASONS = "Please see `reasons` for more details."
BAD_BODY_PREFIX = ("Invalid body data was passed. Please ensure the data passed had valid formatting "
                   "with no invalid characters")
UNAUTHORIZED_MSG = "Unauthorized: The user does not have access to the specified resource"

# errorMsg per operation
POLICY_NOT_CREATED = f"Bad Request: Instance policy could not be created. {REASONS}"
KEY_NOT_CREATED = f"Bad Request: Key could not be created. {REASONS}"
KEY_POLICY_NOT_CREATED = f"Bad Request: Policy could not be created. {REASONS}"
ACTION_CONFLICT = f"Conflict: Action could not be performed on key. {REASONS}"
KEY_NOT_CREATED_CONFLICT = f"Conflict: Key could not be created. {REASONS}"
KEY_NOT_DELETED_CONFLICT = f"Conflict: Key could not be deleted. {REASONS}"
AUTHS_NOT_MET = ("Conflict: 1 prior authorization(s) are required for deletion: Key could not be deleted. "
                 + REASONS)


class KmsError(ServiceError):
    def __init__(self, status: int, code: str | None, message: str, error_msg: str,
                 target: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.error_msg = error_msg
        self.target = target
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        resource: dict[str, Any] = {"errorMsg": self.error_msg}
        if self.code:
            reason: dict[str, Any] = {"code": self.code, "message": self.message,
                                      "status": self.status, "moreInfo": MORE_INFO}
            if self.target:
                reason["target"] = self.target
            resource["reasons"] = [reason]
        return {"metadata": {"collectionType": ERROR_TYPE, "collectionTotal": 1}, "resources": [resource]}

    def response(self) -> Response:
        return Response.json(self.status, self.body(), ERROR_TYPE, self.headers)


def bad_body(detail: str | None, error_msg: str) -> KmsError:
    msg = f"{BAD_BODY_PREFIX}: {detail}" if detail else BAD_BODY_PREFIX
    return KmsError(400, "BAD_BODY_ERR", msg, error_msg)


def no_body(error_msg: str) -> KmsError:
    return KmsError(400, "NO_BODY_ERR", "Missing body in request", error_msg)


def invalid_field(name: str, must_be: str, error_msg: str) -> KmsError:
    return KmsError(400, "INVALID_FIELD_ERR", f"The field `{name}` must be: {must_be}", error_msg,
                    {"type": "field", "name": name})


def invalid_query(name: str, must_be: str, error_msg: str) -> KmsError:
    return KmsError(400, "INVALID_QUERY_PARAM_ERR", f"The query_param `{name}` must be: {must_be}",
                    error_msg, {"type": "query_param", "name": name})


def collection_total_mismatch(error_msg: str) -> KmsError:
    return KmsError(400, "COLLECTION_TOTAL_MISMATCH_ERR",
                    "Collection total does not match number of resources", error_msg)


def unauthorized() -> KmsError:
    return KmsError(401, "UNAUTHORIZED_ERR", "The user does not have access to the specified resource",
                    UNAUTHORIZED_MSG)


def bearer_sub_extraction() -> KmsError:
    return KmsError(400, "BEARER_SUB_EXTRACTION_ERR",
                    "Extracting the subject from the bearer token failed: Make sure the bearer token "
                    "passed is the correct one (and correct format) and is allowed to perform requested "
                    "actions", "Bad Request: Bearer token could not be read. " + REASONS)


def key_not_found(verb: str = "retrieved") -> KmsError:
    return KmsError(404, "KEY_NOT_FOUND_ERR", "Key does not exist",
                    f"Not Found: Key could not be {verb}. {REASONS}")


def key_deleted(verb: str = "deleted") -> KmsError:
    return KmsError(410, "KEY_DELETED_ERR", "Key has already been deleted. Please delete references to this key.",
                    f"Gone: Key could not be {verb}. {REASONS}")


def invalid_state(what: str) -> KmsError:
    return KmsError(409, "KEY_ACTION_INVALID_STATE_ERR", "Key is not in a valid state",
                    f"Conflict: Key is not in active state: Key could not be {what}. {REASONS}")


def not_dual_auth() -> KmsError:
    return KmsError(409, "NOT_DUAL_AUTH_ERR", "The key is not dual auth enabled and cannot be set for deletion",
                    ACTION_CONFLICT)


def authorizations_not_met() -> KmsError:
    return KmsError(409, "AUTHORIZATIONS_NOT_MET", "Number of authorizations required to delete is not met",
                    AUTHS_NOT_MET)


def key_create_import_access(kind: str) -> KmsError:
    """409 KEY_CREATE_IMPORT_ACCESS_ERR (code confirmed, §5.2; errorMsg/message wording composed).

    ``kind`` is the policy attribute that is false: create_root_key, import_standard_key, ...
    """
    verb, key = kind.split("_", 1)
    what = f"{'Creating' if verb == 'create' else 'Importing'} a {key.replace('_', ' ')}"
    return KmsError(409, "KEY_CREATE_IMPORT_ACCESS_ERR",
                    f"{what} is not allowed by the keyCreateImportAccess instance policy ({kind} is false)",
                    KEY_NOT_CREATED_CONFLICT)


def protected_resource() -> KmsError:
    """409 PROTECTED_RESOURCE_ERR, target query_param force (code and target confirmed, §4; wording composed)."""
    return KmsError(409, "PROTECTED_RESOURCE_ERR",
                    "The key is protecting one or more cloud resources (it has registrations); "
                    "use the force query parameter to delete it anyway",
                    KEY_NOT_DELETED_CONFLICT, {"type": "query_param", "name": "force"})


def not_found_route() -> KmsError:
    """*synthetic* NOT_FOUND_ERR: no such API path."""
    return KmsError(404, "NOT_FOUND_ERR", "The requested resource could not be found",
                    f"Not Found: The requested resource could not be found. {REASONS}")


def method_not_allowed(allowed: list[str]) -> KmsError:
    """*synthetic* METHOD_NOT_ALLOWED_ERR."""
    return KmsError(405, "METHOD_NOT_ALLOWED_ERR", "The method is not allowed for the requested resource",
                    f"Method Not Allowed: {REASONS}", headers={"Allow": ", ".join(sorted(set(allowed)))})


def generic(status: int, code: str, message: str) -> KmsError:
    """A status the service has no documented body for (faults, rate limits, 413, 415, 500)."""
    phrase = {413: "Request Entity Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
              500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
              504: "Gateway Timeout"}.get(status, "Error")
    return KmsError(status, code, message, f"{phrase}: {message}. {REASONS}")
