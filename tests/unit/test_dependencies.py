"""Dependency hygiene: cloudevents is imported in one module, and the runtime pins stay coherent."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cloudevents_imported_only_in_events():
    """Only shared/events.py imports cloudevents, so a move to its 2.x API stays local."""
    importers = sorted(
        str(path.relative_to(ROOT))
        for folder in ("shared", "functions", "emulator")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"^\s*(from|import)\s+cloudevents", path.read_text(), re.M)
    )
    assert importers == ["shared/events.py"]


def test_runtime_requirements_are_exact_pins_within_functions_framework_range():
    """requirements.txt pins every package exactly, with cloudevents inside 1.11-1.12 as functions-framework needs."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            pins[name.lower()] = version
    assert pins["functions-framework"].startswith("3.10.")
    assert pins["cloudevents"] in ("1.11.0", "1.12.0")
