"""Shared fixtures: the emulator as a real subprocess on 127.0.0.1 (started by stack.py).

``emulator`` (function scope) yields the process, with ``.url``, after resetting the emulator's
state; the subprocess behind it lives for the whole session (one per xdist worker) and is stopped
at the end. Event delivery retries are shortened so delivery tests stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from stack import Process, start_emulator

FAST_DELIVERY = ("--event-retry-base", "0.05", "--event-retry-cap", "0.3", "--event-timeout", "3")


def start(*extra: str) -> Process:
    return start_emulator(*FAST_DELIVERY, *extra)


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Process]:
    emu = start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(emulator_session: Process) -> Process:
    httpx.post(f"{emulator_session.url}/emulator/reset", timeout=10).raise_for_status()
    return emulator_session


class Launcher:
    """Starts extra emulator subprocesses for one test and stops any still running at its end."""

    def __init__(self) -> None:
        self.running: list[Process] = []

    def start(self, *extra: str) -> Process:
        emu = start(*extra)
        self.running.append(emu)
        return emu

    def stop(self, emu: Process) -> None:
        if emu in self.running:
            self.running.remove(emu)
        emu.stop()


@pytest.fixture
def emulator_launcher() -> Iterator[Launcher]:
    launcher = Launcher()
    try:
        yield launcher
    finally:
        for emu in list(launcher.running):
            launcher.stop(emu)
