"""Lifecycle event payloads the emulator posts to the sink (the team's event notes, §1.1-1.3).

``en``: the Event Notifications lifecycle event as a structured CloudEvent (JSON body).
``at``: an Activity Tracker CADF event as a binary CloudEvent from a Knative Kafka source.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

SERVICE_LABEL = {"kms": "Key Protect", "hs-crypto": "Hyper Protect Crypto Services"}
EN_INSTANCE = "0f0e0d0c-0b0a-4909-8807-060504030201"


def _ce_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _cadf_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 100):02d}+0000"


def en_event(inst: dict[str, Any], account: str, verb: str, subject: str, region: str,
             now: float) -> tuple[dict[str, str], dict[str, Any]]:
    """(headers, body) of an EN notification for ``verb`` (create/delete) of ``inst``."""
    service = inst["service"]
    action = f"{service}.instance.{verb}"
    message = f"{SERVICE_LABEL[service]}: {verb} instance {inst['name']}"
    data = {
        "account_id": account,
        "event_id": str(uuid.uuid4()),
        "event_type": f"resource-controller.instance.{verb}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "context": {
            "subject_id": subject,
            "subject_name": f"{subject}@example.com",
            "activity": {"action": action, "message": message, "outcome": "success",
                         "reason_reasonCode": 201 if verb == "create" else 200,
                         "target_name": inst["name"]},
        },
        "event_properties": {
            "crn": inst["crn"], "guid": inst["guid"], "name": inst["name"], "region_id": inst["region"],
            "resource_group_id": inst["resource_group_id"], "resource_id": service,
            "state": "active" if verb == "create" else "removed", "type": "service_instance",
            "created_by": inst["created_by"], "created_at": inst["created_at"],
            "updated_at": inst["updated_at"],
            "last_operation": {"type": verb, "state": "succeeded",
                               "description": f"Completed {verb} instance operation"},
        },
    }
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"crn:v1:bluemix:public:event-notifications:{region}:a/{account}:{EN_INSTANCE}::",
        "type": f"com.ibm.cloud.resource-lifecycle:instance.{verb}",
        "time": _ce_time(now),
        "datacontenttype": "application/json",
        "ibmensourceid": "11112222-3333-4444-5555-666677778888:rc",
        "ibmenseverity": "LOW",
        "ibmendefaultshort": message,
        "ibmendefaultlong": message,
        "notification_id": str(uuid.uuid4()),
        "data": data,
    }
    return {"Content-Type": "application/json"}, body


def at_event(inst: dict[str, Any], account: str, verb: str, subject: str, offset: int,
             now: float) -> tuple[dict[str, str], dict[str, Any]]:
    """(headers, body) of a Kafka-source binary CloudEvent carrying the AT event."""
    service = inst["service"]
    body = {
        "eventTime": _cadf_time(now),
        "action": f"{service}.instance.{verb}",
        "outcome": "success",
        "severity": "normal" if verb == "create" else "warning",
        "message": f"{SERVICE_LABEL[service]}: {verb} instance {inst['name']}",
        "initiator": {"id": subject, "name": f"{subject}@example.com",
                      "typeURI": "service/security/account/user", "credential": {"type": "token"},
                      "host": {"address": "203.0.113.7"}},
        "target": {"id": inst["crn"], "name": inst["name"], "typeURI": f"{service}/instance",
                   "resourceGroupId": f"crn:v1:bluemix:public:resource-controller::a/{account}::"
                                      f"resource-group:{inst['resource_group_id']}"},
        "reason": {"reasonCode": 201 if verb == "create" else 200,
                   "reasonType": "Created" if verb == "create" else "OK"},
        "observer": {"name": "ActivityTracker"},
        "logSourceCRN": f"crn:v1:bluemix:public:{service}:{inst['region']}:a/{account}:::",
        "correlationId": str(uuid.uuid4()),
        "dataEvent": False,
        "saveServiceCopy": True,
    }
    headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": f"partition:0/offset:{offset}",
        "ce-source": "/apis/v1/namespaces/emulator/kafkasources/at-audit#at-events",
        "ce-subject": f"partition:0#{offset}",
        "ce-time": _ce_time(now),
        "ce-type": "dev.knative.kafka.event",
    }
    return headers, body
