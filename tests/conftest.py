"""Shared fixtures: the emulator as a real subprocess on 127.0.0.1.

``emulator`` (function scope) yields an object with ``.url`` after resetting the emulator's state;
the subprocess behind it lives for the whole session (one per xdist worker) and is stopped at the
end. Event delivery retries are shortened so delivery tests stay fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
READY = "dualauth-emulator listening on "


@dataclass
class EmulatorProcess:
    url: str
    process: subprocess.Popen[str]

    def reset(self) -> None:
        httpx.post(f"{self.url}/emulator/reset", timeout=10).raise_for_status()


def start_emulator(*extra: str, timeout: float = 20.0) -> EmulatorProcess:
    """Start ``python -m emulator --port 0`` and wait for its ready line."""
    stderr = tempfile.TemporaryFile(mode="w+")
    cmd = [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0",
           "--event-retry-base", "0.05", "--event-retry-cap", "0.3", "--event-timeout", "3", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(timeout)
    if not line or not line[0].startswith(READY):
        proc.kill()
        stderr.seek(0)
        raise RuntimeError(f"emulator did not start: {line!r} {stderr.read()}")
    return EmulatorProcess(line[0][len(READY):].strip(), proc)


def stop_emulator(emu: EmulatorProcess) -> None:
    emu.process.terminate()
    try:
        emu.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        emu.process.kill()
        emu.process.wait(timeout=5)


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[EmulatorProcess]:
    emu = start_emulator()
    try:
        yield emu
    finally:
        stop_emulator(emu)


@pytest.fixture
def emulator(emulator_session: EmulatorProcess) -> EmulatorProcess:
    emulator_session.reset()
    return emulator_session


class Launcher:
    """Starts extra emulator subprocesses for one test and stops any still running at its end."""

    def __init__(self) -> None:
        self.running: list[EmulatorProcess] = []

    def start(self, *extra: str) -> EmulatorProcess:
        emu = start_emulator(*extra)
        self.running.append(emu)
        return emu

    def stop(self, emu: EmulatorProcess) -> None:
        if emu in self.running:
            self.running.remove(emu)
            stop_emulator(emu)


@pytest.fixture
def emulator_launcher() -> Iterator[Launcher]:
    launcher = Launcher()
    try:
        yield launcher
    finally:
        for emu in list(launcher.running):
            launcher.stop(emu)
