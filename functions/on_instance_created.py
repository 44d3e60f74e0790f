"""`on_instance_created`: a provisioning event for a Key Protect or HPCS instance → dualAuthDelete on.

Accepts Event Notifications lifecycle events, Activity Tracker events (bare or inside a Kafka
CloudEvent), binary and structured CloudEvents. Registered as an HTTP function so that we, not
the framework, parse the CloudEvent and choose every status code (see shared/responses.py).
"""

from __future__ import annotations

import flask
import functions_framework

from shared.edge import serve
from shared.provisioning import handle_provisioning_event, verify_event_token


@functions_framework.http
def on_instance_created(request: flask.Request) -> flask.Response:
    return serve(request, "on_instance_created", verify_event_token, handle_provisioning_event, verify_before_body=True)
