"""Entry module for functions-framework: re-exports every function target named in manifest.yaml.

Run one target per process from the repository root, e.g.
    python -m functions_framework --source main.py --target on_instance_created
(`python -m` keeps the repository root on sys.path, so `shared` imports.) Settings are checked
on import: a misconfigured process logs what is wrong and exits instead of serving.
"""

import flask

from functions.on_instance_created import on_instance_created
from shared.edge import guard_framework_routes
from shared.runtime import startup

startup()
if flask.has_app_context():  # functions-framework imports this module inside its app's context
    guard_framework_routes(flask.current_app)

__all__ = ["on_instance_created"]
