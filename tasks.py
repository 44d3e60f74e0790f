"""Set-up and entry commands for dualauth, using only the Python standard library.

    python3 tasks.py demo    install runtime deps into .venv, then run the demo on the emulator
    python3 tasks.py test    install dev deps into .venv, then ruff, mypy and the test suite
    python3 tasks.py newest  the test suite in .venv-newest, with the newest runtime releases the
                             pins of functions-framework allow (a scheduled job's early warning)

Each command creates `.venv` when missing and installs the pinned requirements file it needs,
skipping the install when that file has not changed since the last one (a stamp in .venv).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
CHECKED = ["functions", "shared", "emulator"]


def run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    rc = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if rc != 0:
        sys.exit(rc)


def ensure_venv(requirements: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - a fresh machine may run an older python3
        sys.exit("dualauth needs Python 3.11 or later")
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    files = [ROOT / requirements] + ([ROOT / "requirements.txt"] if requirements != "requirements.txt" else [])
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", ROOT / requirements)
    stamp.write_text(digest)


def demo(args: list[str]) -> None:
    ensure_venv("requirements.txt")
    run(PY, "-m", "demo", *args)


def test(args: list[str]) -> None:
    ensure_venv("requirements-dev.txt")
    run(PY, "-m", "ruff", "check", *CHECKED, "tests", "main.py", "stack.py", "demo.py", "tasks.py")
    run(PY, "-m", "mypy", *CHECKED)
    run(PY, "-m", "pytest", *(args or ["-q", "-n", "2"]))


def newest(args: list[str]) -> None:
    venv = ROOT / ".venv-newest"
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not py.exists():
        run(sys.executable, "-m", "venv", venv)
    run(py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", ROOT / "requirements-dev.txt")
    run(py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--upgrade", "functions-framework",
        "cloudevents", "httpx", "flask", "werkzeug", "gunicorn")
    run(py, "-m", "pip", "freeze")
    run(py, "-m", "pytest", *(args or ["-q", "-n", "2"]))


COMMANDS = {"demo": demo, "test": test, "newest": newest}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
