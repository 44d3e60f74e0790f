"""Event parsing and target selection: every accepted shape, every rejected one, no crash."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidEvent, InvalidTarget, RequestError, UnsupportedMediaType
from shared.events import parse_event, select_target

ACCOUNT = "1a2b3c4d5e6f708192a3b4c5d6e7f809"
GUID = "6f1d2c3b-4a59-4e68-9d7c-0b1a2f3e4d5c"
KP = f"crn:v1:bluemix:public:kms:eu-de:a/{ACCOUNT}:{GUID}::"
HPCS = f"crn:v1:bluemix:public:hs-crypto:us-south:a/{ACCOUNT}:{GUID}::"
COS = f"crn:v1:bluemix:public:cloud-object-storage:global:a/{ACCOUNT}:{GUID}::"
JSON = {"content-type": "application/json"}


def lifecycle(crn=KP, action="kms.instance.create", outcome="success", op=("create", "succeeded")):
    return {
        "event_type": "resource-controller.instance.create",
        "context": {"activity": {"action": action, "outcome": outcome}},
        "event_properties": {"crn": crn, "last_operation": {"type": op[0], "state": op[1]}},
    }


def en_event(data, type_="com.ibm.cloud.resource-lifecycle:instance.create"):
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "crn:v1:bluemix:public:event-notifications:eu-de:a/x:y::",
        "type": type_,
        "notification_id": "n-1",
        "ibmensourceid": "src:rc",
        "data": data,
    }


def cadf(crn=KP, action="kms.instance.create", outcome="success"):
    return {"action": action, "outcome": outcome, "target": {"id": crn, "typeURI": "kms/instance"}}


def kafka_headers():
    return {
        "ce-specversion": "1.0",
        "ce-id": "partition:3/offset:81234",
        "ce-source": "/apis/v1/namespaces/ns/kafkasources/at#events",
        "ce-type": "dev.knative.kafka.event",
        "content-type": "application/json",
    }


def body(obj):
    return json.dumps(obj).encode()


def target(headers, payload):
    return select_target(parse_event(headers, payload))


def test_en_lifecycle_structured_with_plain_json_content_type():
    """An Event Notifications lifecycle event under application/json (with notification_id) targets its CRN."""
    event = parse_event(JSON, body(en_event(lifecycle())))
    assert (event.envelope, event.shape, event.event_id) == ("structured", "en-lifecycle", "evt-1")
    assert str(select_target(event)) == KP


def test_en_lifecycle_structured_cloudevents_json():
    """The same event as application/cloudevents+json targets the same CRN."""
    assert str(target({"content-type": "application/cloudevents+json"}, body(en_event(lifecycle(HPCS))))) == HPCS


def test_cloudevents_json_is_structured_even_with_ce_headers():
    """application/cloudevents+json means structured mode: ce-* headers alongside do not make it binary."""
    headers = {**kafka_headers(), "content-type": "application/cloudevents+json; charset=utf-8"}
    event = parse_event(headers, body(en_event(lifecycle())))
    assert (event.envelope, event.event_id) == ("structured", "evt-1") and str(select_target(event)) == KP


def test_activity_tracker_inside_kafka_cloudevent():
    """An Activity Tracker event as the body of a binary Kafka CloudEvent targets target.id."""
    event = parse_event(kafka_headers(), body(cadf()))
    assert (event.envelope, event.shape, event.event_id) == ("binary", "activity-tracker", "partition:3/offset:81234")
    assert str(select_target(event)) == KP


def test_bare_activity_tracker_and_bare_lifecycle():
    """Bare AT CADF JSON and bare lifecycle JSON are both accepted."""
    assert str(target(JSON, body(cadf(HPCS, "hs-crypto.instance.create")))) == HPCS
    assert str(target(JSON, body(lifecycle()))) == KP


def test_structured_data_base64():
    """A structured CloudEvent carrying data_base64 is decoded."""
    import base64

    doc = en_event(None)
    del doc["data"]
    doc["data_base64"] = base64.b64encode(body(lifecycle())).decode()
    assert str(target(JSON, body(doc))) == KP


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (en_event(lifecycle(COS, "cloud-object-storage.instance.create")), "not Key Protect or HPCS"),
        (en_event({"resource_crn": KP}, "instance:create_failure"), "create_failure"),
        (en_event(lifecycle(), "com.ibm.cloud.resource-lifecycle:instance.create_inprogress"), "create_inprogress"),
        (en_event(lifecycle(action="kms.instance.update")), "not an instance create"),
        (en_event(lifecycle(outcome="failure")), "not success"),
        (en_event(lifecycle(op=("create", "in progress"))), "not a succeeded create"),
        (en_event({"resource_crn": KP}, "com.example.thing.happened"), "does not say"),
        (en_event({}, "com.ibm.cloud.resource-lifecycle:instance.create"), "names no instance CRN"),
        (cadf(action="kms.instance-policies.write"), "not an instance create"),
        (cadf(f"crn:v1:bluemix:public:kms:us-south:a/{ACCOUNT}:{GUID}:key:k1", "kms.instance.create"), "inside"),
        ({"hello": "world"}, "does not say"),
        (cadf(outcome={"result": "failure"}), "not success"),
        (cadf(outcome=None), "not success"),
        (cadf(outcome=""), "not success"),
        (lifecycle(op=("create", {"x": 1})), "not a succeeded create"),
        ({**cadf(), "action": 7}, "not an instance create"),
        (cadf(f"crn:v1:bluemix:public:cloud-object-storage:global:a/{ACCOUNT}:1a:object:b%2Fk", "cos.object.create"),
         "not an instance create"),
        (cadf("not-a-crn", "iam-identity.apikey.create"), "not an instance create"),
        (en_event(lifecycle("crn:v1:bluemix", action="kms.instance.update")), "not an instance create"),
        (cadf("crn:v1:bluemix:public:cloud-object-storage:global:s/abc:1234::", "cloud-object-storage.instance.create"),
         "not Key Protect or HPCS"),
        (en_event(lifecycle("crn:x", action="Databases-For-Redis.instance.create")), "not Key Protect or HPCS"),
    ],
)
def test_events_that_are_not_ours_are_ignored_with_a_reason(payload, reason):
    """Other services, failed or in-progress creates, updates and empty data give a reason, not a target."""
    result = target(JSON, body(payload))
    assert isinstance(result, str) and reason in result


@pytest.mark.parametrize(
    ("headers", "payload", "error"),
    [
        (JSON, b"", InvalidEvent),
        (JSON, b"   ", InvalidEvent),
        (JSON, b'[{"instance_crn":"x"}]', InvalidEvent),
        (JSON, b'"just a string"', InvalidEvent),
        (JSON, b'{"instance_crn":', InvalidEvent),
        (JSON, b"\xff\xfe{}", InvalidEvent),
        ({"content-type": "text/plain"}, b"instance=x", UnsupportedMediaType),
        ({}, body(cadf()), UnsupportedMediaType),
        ({"content-type": "application/x-www-form-urlencoded"}, body(cadf()), UnsupportedMediaType),
        ({**kafka_headers(), "content-type": "text/plain"}, b"instance=x", UnsupportedMediaType),
        (kafka_headers(), b"", InvalidEvent),
        (kafka_headers(), b"[1]", InvalidEvent),
        ({k: v for k, v in kafka_headers().items() if k != "ce-id"}, body(cadf()), InvalidEvent),
        ({**kafka_headers(), "ce-specversion": "0.9"}, body(cadf()), InvalidEvent),
        (JSON, body({k: v for k, v in en_event(lifecycle()).items() if k != "source"}), InvalidEvent),
        (JSON, body({**en_event(lifecycle()), "data": [1, 2]}), InvalidEvent),
        (JSON, body({**en_event(lifecycle()), "data_base64": "@@@"}), InvalidEvent),
        (JSON, body(en_event(lifecycle("crn:v1:bluemix"))), InvalidTarget),
        (JSON, body(en_event(lifecycle(KP.replace(GUID, GUID + "\r\nx")))), InvalidTarget),
        (JSON, body(cadf({"not": "a string"})), InvalidTarget),
        (JSON, body(cadf(None)), InvalidTarget),
        (JSON, b"[" * 5000 + b"]" * 5000, InvalidEvent),
        (JSON, b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}", InvalidEvent),
        (
            JSON,
            b'{"outcome": "failure", "outcome": "success", "action": "kms.instance.create", "target": {}}',
            InvalidEvent,
        ),
        (JSON, b'{"action": "kms.instance.create", "n": NaN}', InvalidEvent),
        (JSON, b'{"action": "kms.instance.create", "n": Infinity}', InvalidEvent),
        (JSON, body({**en_event(lifecycle()), "data_base64": "e30="}), InvalidEvent),
        ({"content-type": "application/json; charset=utf-16"}, body(cadf()), UnsupportedMediaType),
        ({**kafka_headers(), "ce-id": ""}, body(cadf()), InvalidEvent),
        ({**kafka_headers(), "ce-source": "  "}, body(cadf()), InvalidEvent),
        (JSON, body({**en_event(lifecycle()), "type": " "}), InvalidEvent),
        ({"content-type": "application/cloudevents+json"}, body(cadf()), InvalidEvent),
        (JSON, body({**en_event(lifecycle()), "data": "\ud800"}), InvalidEvent),
        (JSON, b'{"action": "kms.instance.create", "n": 1e999}', InvalidEvent),
        (JSON, body({**en_event(lifecycle()), "datacontenttype": "text/plain"}), UnsupportedMediaType),
        (JSON, body({**en_event(lifecycle()), "datacontenttype": 5}), UnsupportedMediaType),
    ],
)
def test_bad_input_raises_a_request_error(headers, payload, error):
    """Empty, non-object, truncated, non-UTF-8, non-JSON or incomplete CloudEvents raise the right 4xx error."""
    with pytest.raises(error):
        target(headers, payload)


def test_reasons_quote_caller_values_briefly():
    """A huge caller-supplied action appears in the reason cut to a short quote."""
    reason = target(JSON, body(cadf(action="x" * 200_000)))
    assert isinstance(reason, str) and len(reason) < 200


def test_charset_utf8_is_accepted():
    """application/json; charset=utf-8 is a JSON content type."""
    assert str(target({"content-type": "application/json; charset=UTF-8"}, body(cadf()))) == KP


def test_target_guid_is_lower_cased():
    """The instance GUID of the target is lower-cased, the canonical form sent to KMS."""
    assert target(JSON, body(cadf(KP.replace(GUID, GUID.upper())))).instance == GUID


def test_kms_crn_with_non_uuid_instance_is_invalid_target():
    """A create event for a kms CRN whose instance id is not a UUID is a 400, not ignored."""
    with pytest.raises(InvalidTarget):
        target(JSON, body(lifecycle(f"crn:v1:bluemix:public:kms:eu-de:a/{ACCOUNT}:abc::")))


@given(st.binary(max_size=300), st.sampled_from(["application/json", "application/cloudevents+json", "text/plain"]))
def test_parse_never_crashes_on_arbitrary_bytes(payload, content_type):
    """Arbitrary bytes give either a parsed event or a RequestError, never another exception."""
    try:
        target({"content-type": content_type}, payload)
    except RequestError:
        pass


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "data",
                        "crn",
                        "action",
                        "target",
                        "id",
                        "event_type",
                        "event_properties",
                        "context",
                        "specversion",
                        "source",
                        "type",
                        "outcome",
                    ]
                ),
                c,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_parse_never_crashes_on_arbitrary_json(value):
    """Arbitrary JSON built from the field names we read gives a result or a RequestError."""
    try:
        target(JSON, body(value))
    except RequestError:
        pass
