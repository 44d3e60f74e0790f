"""Strict request decoding the way the KMS API's Go server does it.

Unknown fields give ``json: unknown field "x"`` and wrong JSON types give
``json: cannot unmarshal <kind> into Go struct field <path> of type <type>``, both as 400
BAD_BODY_ERR. Decoding errors come before any semantic validation (as with Go's decoder).
Numbers a float64 cannot hold (``1e400``, integers of hundreds of digits, which Python would also
refuse past 4300 digits) are Go's ``json: cannot unmarshal number ... of type float64``.
"""

from __future__ import annotations

import json
from typing import Any

from emulator import strict_json
from emulator.kms_errors import bad_body, collection_total_mismatch, no_body

GO_TYPES = {bool: "bool", str: "string", int: "int", list: "[]", dict: "struct"}


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def parse_body(body: bytes, error_msg: str) -> Any:
    if not body.strip():
        raise no_body(error_msg)
    try:
        return strict_json.loads(body.decode("utf-8"))
    except RecursionError as exc:  # Go's decoder stops at depth 10000 with this message
        raise bad_body("exceeded max depth", error_msg) from exc
    except strict_json.BadNumber as exc:
        shown = str(exc) if len(str(exc)) <= 32 else f"{str(exc)[:29]}..."
        raise bad_body(f"json: cannot unmarshal number {shown} into Go value of type float64", error_msg) from exc
    except strict_json.BadConstant as exc:
        raise bad_body(f"invalid character {str(exc).lstrip('-')[0]!r} looking for beginning of value",
                       error_msg) from exc
    except UnicodeDecodeError as exc:
        raise bad_body("invalid character in string literal", error_msg) from exc
    except json.JSONDecodeError as exc:
        text = body.decode("utf-8", "replace")
        if exc.pos >= len(text.rstrip()):
            raise bad_body("unexpected end of JSON input", error_msg) from exc
        ch = text[exc.pos]
        raise bad_body(f"invalid character {ch!r} looking for beginning of value", error_msg) from exc


def unknown_fields(obj: dict[str, Any], allowed: set[str] | dict[str, Any], error_msg: str) -> None:
    for name in obj:
        if name not in allowed:
            raise bad_body(f'json: unknown field "{name}"', error_msg)


def expect(value: Any, kind: type, path: str, go_type: str, error_msg: str) -> None:
    """Raise BAD_BODY_ERR unless ``value`` is null or of ``kind`` (bool is not int)."""
    if value is None:
        return
    ok = isinstance(value, kind)
    if kind is int:
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    elif kind is not bool and isinstance(value, bool):
        ok = False
    if not ok:
        raise bad_body(f"json: cannot unmarshal {json_kind(value)} into Go struct field {path} of type {go_type}",
                       error_msg)


def collection(doc: Any, resource_fields: set[str] | None, error_msg: str,
               struct: str, single: str | None = None) -> list[dict[str, Any]]:
    """Decode ``{"metadata": {...}, "resources": [...]}``; returns the resources.

    ``resource_fields`` None leaves resource fields to the caller. Checks, in order: JSON object,
    unknown fields, types, empty metadata, missing resources, exactly one resource (when
    ``single`` holds the message for it), collectionTotal.
    """
    if not isinstance(doc, dict):
        raise bad_body(f"json: cannot unmarshal {json_kind(doc)} into Go value of type {struct}", error_msg)
    unknown_fields(doc, {"metadata", "resources"}, error_msg)
    meta = doc.get("metadata")
    expect(meta, dict, f"{struct}.metadata", "CollectionMetadata", error_msg)
    if isinstance(meta, dict):
        unknown_fields(meta, {"collectionType", "collectionTotal"}, error_msg)
        expect(meta.get("collectionType"), str, f"{struct}.metadata.collectionType", "string", error_msg)
        expect(meta.get("collectionTotal"), int, f"{struct}.metadata.collectionTotal", "int", error_msg)
    resources = doc.get("resources")
    expect(resources, list, f"{struct}.resources", "[]Resource", error_msg)
    for item in resources or []:
        expect(item, dict, f"{struct}.resources", "Resource", error_msg)
        if item is not None and resource_fields is not None:
            unknown_fields(item, resource_fields, error_msg)
    if not meta:
        raise bad_body("CollectionMetadata is empty", error_msg)
    if resources is None:
        raise bad_body("resources is required", error_msg)
    if single is not None and len(resources) != 1:
        raise bad_body(single, error_msg)
    if meta.get("collectionTotal") != len(resources):
        raise collection_total_mismatch(error_msg)
    return [r if isinstance(r, dict) else {} for r in resources]
