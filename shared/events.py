"""Every accepted "instance provisioned" event shape → one frozen ProvisioningEvent.

Accepted envelopes: a binary CloudEvent (`ce-*` headers, JSON body), a structured CloudEvent
(JSON with `specversion`, under `application/cloudevents+json` or plain `application/json` as
Event Notifications sends it), or bare JSON. Accepted payloads: the Event Notifications
resource-lifecycle event (`event_type`, `context.activity`, `event_properties.crn`), the
Activity Tracker CADF event (`action`, `outcome`, `target.id`; also as the value of a Kafka
CloudEvent), or a hand-made object naming `instance_crn` / `resource_crn` / `crn`.

Bodies are decoded strictly here (UTF-8 JSON object or a clear InvalidEvent), and the cloudevents
1.x SDK validates the CloudEvent attributes; this is the only module importing cloudevents.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloudevents.exceptions import GenericException
from cloudevents.http import from_http

from shared.crn import KMS_SERVICES, Crn, parse_crn, require_kms_instance
from shared.errors import InvalidEvent, InvalidTarget, UnsupportedMediaType

CE_REQUIRED = ("specversion", "id", "source", "type")
JSON_MEDIA = "application/json, application/cloudevents+json or another +json type"


@dataclass(frozen=True)
class ProvisioningEvent:
    envelope: str  # binary | structured | bare
    shape: str  # en-lifecycle | activity-tracker | plain
    event_id: str | None = None
    ce_type: str | None = None
    event_type: str | None = None
    action: str | None = None
    outcome: str | None = None
    operation_type: str | None = None
    operation_state: str | None = None
    crn: Crn | None = None
    # Why the CRN field could not be read, if it could not. Raised only once the event has shown it is
    # a KMS instance create: an audit topic carries every service's events, with CRNs of other shapes.
    crn_problem: InvalidTarget | None = None


def _media(content_type: str | None) -> str:
    """The media type of a Content-Type value, without parameters, lower-cased."""
    return (content_type or "").partition(";")[0].strip().lower()


def is_json_media(content_type: str | None) -> bool:
    """application/json or application/*+json, in UTF-8 (the only charset JSON may use on the wire)."""
    media, params = _media(content_type), (content_type or "").partition(";")[2]
    charset = next(
        (p.split("=", 1)[1].strip(' "').lower() for p in params.split(";") if "charset=" in p.lower()), "utf-8"
    )
    json_type = media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
    return json_type and charset in ("utf-8", "utf8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: JSON's syntax, but no number a float holds
        raise ValueError("number out of range")
    return value


def decode_json_object(body: bytes, what: str = "body") -> dict[str, Any]:
    """Strict JSON: UTF-8, one object, no duplicate keys (which one would win?), no NaN/Infinity."""
    if not body.strip():
        raise InvalidEvent(f"{what} is empty")
    try:
        value = json.loads(
            body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant, parse_float=_finite
        )
    except UnicodeDecodeError:
        raise InvalidEvent(f"{what} is not UTF-8") from None
    except RecursionError:
        raise InvalidEvent(f"{what} is nested too deeply") from None
    except ValueError:
        raise InvalidEvent(f"{what} is not valid JSON (or repeats a key)") from None
    if not isinstance(value, dict):
        raise InvalidEvent(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def parse_event(headers: Mapping[str, str], body: bytes) -> ProvisioningEvent:
    """Parse one HTTP delivery; raises InvalidEvent, UnsupportedMediaType or InvalidTarget."""
    lower = {k.lower(): v for k, v in headers.items()}
    if not is_json_media(lower.get("content-type")):
        raise UnsupportedMediaType(f"send the event as {JSON_MEDIA}")
    # The content type decides the mode (CloudEvents HTTP binding): application/cloudevents+json is
    # structured even when ce-* headers come along; otherwise any ce-* attribute header means binary.
    structured = _media(lower.get("content-type")) == "application/cloudevents+json"
    if not structured and any(f"ce-{a}" in lower for a in CE_REQUIRED):
        missing = [f"ce-{a}" for a in CE_REQUIRED if not lower.get(f"ce-{a}", "").strip()]
        if missing:
            raise InvalidEvent("binary CloudEvent is missing required attribute(s): " + ", ".join(missing))
        attributes = _ce_attributes(lower, body)
        return _from_payload("binary", attributes, decode_json_object(body, "event data"))
    document = decode_json_object(body)
    if "specversion" not in document and not structured:
        return _from_payload("bare", {}, document)
    missing = [a for a in CE_REQUIRED if not isinstance(document.get(a), str) or not document[a].strip()]
    if missing:
        raise InvalidEvent("structured CloudEvent is missing required attribute(s): " + ", ".join(missing))
    if "datacontenttype" in document and not (
        isinstance(document["datacontenttype"], str) and is_json_media(document["datacontenttype"])
    ):
        raise UnsupportedMediaType(f"the event's datacontenttype must be {JSON_MEDIA}")
    attributes = _ce_attributes({"content-type": "application/cloudevents+json"}, body)
    return _from_payload("structured", attributes, _structured_data(document))


def _ce_attributes(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    try:
        event = from_http(dict(headers), body)
    except GenericException as exc:
        raise InvalidEvent(f"not a valid CloudEvent ({type(exc).__name__})") from None
    except (ValueError, TypeError, RecursionError):
        raise InvalidEvent("not a valid CloudEvent") from None
    return dict(event.get_attributes())


def _structured_data(document: Mapping[str, Any]) -> dict[str, Any]:
    if "data_base64" in document and "data" in document:
        raise InvalidEvent("a CloudEvent carries data or data_base64, not both")
    if "data_base64" in document:
        try:
            raw = base64.b64decode(str(document["data_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidEvent("data_base64 is not base64") from None
        return decode_json_object(raw, "event data")
    data = document.get("data")
    if isinstance(data, str):
        try:
            raw = data.encode()
        except UnicodeEncodeError:  # a lone surrogate escaped in the JSON (\ud800) has no UTF-8 form
            raise InvalidEvent("event data is not valid Unicode") from None
        return decode_json_object(raw, "event data")
    if not isinstance(data, dict):
        raise InvalidEvent("event data must be a JSON object")
    return data


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _quoted(value: str) -> str:
    """A caller-supplied value as it may appear in a reason: quoted, at most 80 characters."""
    return repr(value if len(value) <= 80 else value[:77] + "...")


MISSING = object()
NOT_TEXT = "<not a non-empty string>"


def _dig(data: Mapping[str, Any], *path: str) -> object:
    """The value at `path`, or MISSING when a key is absent (a JSON null is a value, not absence)."""
    value: object = data
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return MISSING
        value = value[key]
    return value


def _field(value: object) -> str | None:
    """An event field: None when absent; a field present with any other value than a non-empty
    string reads as NOT_TEXT, so that `"outcome": {"result": "failure"}` is not taken for absent."""
    if value is MISSING:
        return None
    return value if isinstance(value, str) and value else NOT_TEXT


def _crn(value: object) -> dict[str, Any]:
    """The `crn` and `crn_problem` fields for a CRN value taken from an event."""
    if value is MISSING:
        return {}
    try:
        return {"crn": parse_crn(value)}
    except InvalidTarget as problem:
        return {"crn_problem": problem}


def _from_payload(envelope: str, attributes: Mapping[str, Any], data: Mapping[str, Any]) -> ProvisioningEvent:
    event_id, ce_type = _text(attributes.get("id")), _text(attributes.get("type"))
    event_id = event_id[:200] if event_id else None
    if "event_type" in data or "event_properties" in data:
        return ProvisioningEvent(
            shape="en-lifecycle",
            event_type=_field(_dig(data, "event_type")),
            action=_field(_dig(data, "context", "activity", "action")),
            outcome=_field(_dig(data, "context", "activity", "outcome")),
            operation_type=_field(_dig(data, "event_properties", "last_operation", "type")),
            operation_state=_field(_dig(data, "event_properties", "last_operation", "state")),
            **_crn(_dig(data, "event_properties", "crn")),
            envelope=envelope,
            event_id=event_id,
            ce_type=ce_type,
        )
    if "action" in data and "target" in data:
        return ProvisioningEvent(
            shape="activity-tracker",
            action=_field(_dig(data, "action")),
            outcome=_field(_dig(data, "outcome")),
            **_crn(_dig(data, "target", "id")),
            envelope=envelope,
            event_id=event_id,
            ce_type=ce_type,
        )
    crn_value = next((data[k] for k in ("instance_crn", "resource_crn", "crn") if k in data), MISSING)
    return ProvisioningEvent(envelope=envelope, shape="plain", event_id=event_id, ce_type=ce_type, **_crn(crn_value))


def ce_subtype(ce_type: str | None) -> str | None:
    """The lifecycle sub-type of an Event Notifications type `<reverse-dns>:<sub-type>`."""
    if not ce_type or ":" not in ce_type:
        return None
    subtype = ce_type.rsplit(":", 1)[1]
    return subtype.removeprefix("instance.")


def select_target(event: ProvisioningEvent) -> Crn | str:
    """The KMS instance to enforce on, or the reason this event is none of ours (pure)."""
    subtype = ce_subtype(event.ce_type)
    says_create = bool(event.ce_type and ":" not in event.ce_type and event.ce_type.endswith(".instance.create"))
    if subtype is not None:
        if subtype != "create":
            return f"event sub-type {_quoted(subtype)} is not a completed instance create"
        says_create = True
    for name, value in (("event_type", event.event_type), ("action", event.action)):
        if value is not None:
            if not value.endswith(".instance.create"):
                return f"{name} {_quoted(value)} is not an instance create"
            says_create = True
    if not says_create:
        return "event does not say an instance was created"
    if event.outcome is not None and event.outcome != "success":
        return f"outcome {_quoted(event.outcome)} is not success"
    if event.operation_type not in (None, "create") or event.operation_state not in (None, "succeeded"):
        operation = _quoted(f"{event.operation_type}/{event.operation_state}")
        return f"last operation {operation} is not a succeeded create"
    if event.action is not None and event.action.split(".", 1)[0] not in KMS_SERVICES:
        return f"action {_quoted(event.action)} is not Key Protect or HPCS"
    if event.crn_problem is not None:
        raise event.crn_problem
    if event.crn is None:
        return "event names no instance CRN"
    if not event.crn.is_kms:
        return f"{_quoted(event.crn.service)} instances are not Key Protect or HPCS"
    if not event.crn.is_instance:
        return "CRN names a resource inside an instance, not an instance"
    return require_kms_instance(event.crn)
