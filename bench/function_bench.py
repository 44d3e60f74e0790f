"""Benchmark of on_instance_created end to end: one event in, the JSON reply out.

Two paths, each with `--events` sequential deliveries over one keep-alive connection:
- compliant: the instance already has dualAuthDelete on (one KMS GET behind the reply);
- enabled: a fresh instance each time (GET, PUT, GET behind the reply).
Both the function (functions-framework + gunicorn) and the emulator run as processes on
127.0.0.1, started by stack.py; counts are bounded; it stops both and exits by itself.

    .venv/bin/python bench/function_bench.py [--events 200] [--warmup 20]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stack import emulator_env, start_emulator, start_function


def event(crn: str) -> bytes:
    return json.dumps(
        {"action": f"{crn.split(':')[4]}.instance.create", "outcome": "success", "target": {"id": crn}}
    ).encode()


def provision(control: httpx.Client) -> str:
    body = {"service": "kms", "region": "us-south", "name": "bench", "event": "none"}
    return str(control.post("/emulator/instances", json=body).json()["instance"]["crn"])


def timed(client: httpx.Client, payload: bytes, expect: str) -> float:
    started = time.perf_counter()
    reply = client.post("/", content=payload, headers={"content-type": "application/json"})
    elapsed = (time.perf_counter() - started) * 1000
    if reply.status_code != 200 or reply.json()["outcome"] != expect:
        raise SystemExit(f"unexpected reply {reply.status_code} {reply.text[:200]}")
    return elapsed


def summary(name: str, samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "path": name,
        "events": len(samples),
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "events_per_s": round(len(samples) / (sum(samples) / 1000), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    if not 1 <= args.events <= 5000 or not 0 <= args.warmup <= 1000:
        parser.error("--events 1..5000, --warmup 0..1000")
    emulator = start_emulator()
    function = start_function("on_instance_created", emulator_env(emulator.url))
    try:
        with (
            httpx.Client(base_url=emulator.url, timeout=30) as control,
            httpx.Client(base_url=function.url, timeout=30) as client,
        ):
            enabled_crns = [provision(control) for _ in range(args.events + args.warmup)]
            known = provision(control)
            timed(client, event(known), "enabled")
            for crn in enabled_crns[: args.warmup]:
                timed(client, event(crn), "enabled")
            for _ in range(args.warmup):
                timed(client, event(known), "compliant")
            compliant = [timed(client, event(known), "compliant") for _ in range(args.events)]
            enabled = [timed(client, event(crn), "enabled") for crn in enabled_crns[args.warmup :]]
    finally:
        function.stop()
        emulator.stop()
    rows = [summary("compliant (GET)", compliant), summary("enabled (GET, PUT, GET)", enabled)]
    record = {"date": time.strftime("%Y-%m-%d"), "python": platform.python_version(), "rows": rows}
    print(json.dumps(record))
    print("| path | events | events/s | median ms | p95 ms |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['path']} | {r['events']} | {r['events_per_s']} | {r['median_ms']} | {r['p95_ms']} |")


if __name__ == "__main__":
    main()
