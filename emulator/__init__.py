"""A local IBM Cloud for dualauth: IAM, the KMS API (Key Protect / HPCS), the Resource Controller,
the HPCS broker and a control API, served by one standard-library HTTP server.

Run it with ``python -m emulator`` (see README.md) or in-process with :func:`start`::

    running = start(Options(port=0))
    print(running.url)   # http://127.0.0.1:PORT
    running.stop()

The emulator never imports the product's ``shared`` package: it plays the real service.
"""

from __future__ import annotations

from emulator.options import Options
from emulator.server import RunningEmulator, start

__all__ = ["Options", "RunningEmulator", "start"]
