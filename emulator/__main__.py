"""``python -m emulator``: serve until interrupted (see README.md for the options)."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from emulator.options import from_args
from emulator.server import start
from emulator.state import SeedError


def main(argv: list[str] | None = None) -> int:
    options = from_args(argv)
    try:
        running = start(options)
    except (OSError, SeedError, ValueError) as exc:
        print(f"dualauth-emulator: cannot start: {exc}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()

    def _signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _signal)
    signal.signal(signal.SIGINT, _signal)
    print(f"dualauth-emulator listening on {running.url}", flush=True)
    while not stop.wait(0.5):
        pass
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
