"""The command line: numeric options out of range are argparse usage errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emulator import Options
from emulator.server import start

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [
    ("--port", "99999"), ("--port", "-1"), ("--port", "65536"),
    ("--max-body-bytes", "-5"), ("--max-body-bytes", "0"), ("--max-body-bytes", "2000000000"),
    ("--rc-default-limit", "1_0"), ("--event-timeout", "1_0"), ("--missing-instance-status", "4_00"),
    ("--port", "9" * 5000),
])
def test_bad_numeric_option_is_a_usage_error(args: tuple[str, str]) -> None:
    """A numeric option out of range or not in ASCII digits exits 2 with a usage error naming it, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "emulator", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=20, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("usage: python -m emulator")
    assert f"error: argument {args[0]}: must be " in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("options", [Options(port=99999), Options(port=-1), Options(max_body_bytes=-5),
                                     Options(max_body_bytes=0)])
def test_start_refuses_out_of_range_options(options: Options) -> None:
    """emulator.start raises ValueError naming the option for a port or body limit out of range."""
    name = "port" if options.port != 0 else "max_body_bytes"
    with pytest.raises(ValueError, match=f"{name} must be an integer from"):
        start(options)
