"""Start the local stack as real processes on 127.0.0.1 free ports: the emulator and functions.

Used by the demo, the integration tests and the benchmarks. Each process's output goes to a
file, so callers can read a function's audit lines after the fact; `stop()` ends the process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent
READY_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    url: str
    output_path: Path
    _closed: bool = field(default=False, repr=False)

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)


def _spawn(name: str, args: list[str], env: dict[str, str] | None) -> tuple[subprocess.Popen[bytes], Path]:
    fd, path = tempfile.mkstemp(prefix=f"dualauth-{name}-", suffix=".log")
    merged = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    popen = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=merged, stdout=fd, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    os.close(fd)
    return popen, Path(path)


def _wait_ready(popen: subprocess.Popen[bytes], path: Path, ready: str | None, url: str, name: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{name} exited with {popen.returncode}:\n{path.read_text(errors='replace')[-2000:]}")
        if ready is not None:
            if ready in path.read_text(errors="replace"):
                return
        else:
            try:
                httpx.get(url, timeout=1.0)
                return
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    popen.kill()
    raise RuntimeError(f"{name} not ready within {READY_TIMEOUT}s:\n{path.read_text(errors='replace')[-2000:]}")


def start_emulator(*extra: str, sink: str | None = None, seed: str | None = None) -> Process:
    port = free_port()
    args = ["-m", "emulator", "--host", "127.0.0.1", "--port", str(port)]
    if sink:
        args += ["--event-sink", sink]
    if seed:
        args += ["--seed", seed]
    popen, path = _spawn("emulator", [*args, *extra], None)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(popen, path, "listening on", url, "emulator")
    return Process("emulator", popen, url, path)


def emulator_env(emulator_url: str, api_key: str = "emu-apikey-dualauth-functions") -> dict[str, str]:
    """Function settings that point every IBM Cloud call at the emulator."""
    return {
        "IBMCLOUD_API_KEY": api_key,
        "IBMCLOUD_IAM_URL": emulator_url,
        "IBMCLOUD_RESOURCE_CONTROLLER_URL": emulator_url,
        "KMS_URL": emulator_url,
    }


def start_function(target: str, env: dict[str, str], port: int | None = None) -> Process:
    port = port or free_port()
    args = ["-m", "functions_framework", "--source", "main.py", "--target", target]
    args += ["--host", "127.0.0.1", "--port", str(port)]
    popen, path = _spawn(target, args, env)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(popen, path, None, url, target)
    return Process(target, popen, url, path)
