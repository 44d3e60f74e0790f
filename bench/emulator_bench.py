"""Benchmark of the emulator itself: requests/second and latency of the instance-policy GET and PUT.

Later benchmarks of the functions can compare against these numbers to show they measure the
functions, not the emulator. Standard library + httpx only; loopback only; bounded counts.

    .venv/bin/python bench/emulator_bench.py [--requests 2000] [--clients 4] [--warmup 200] [--in-process]

The emulator runs as a subprocess (``python -m emulator --port 0``) unless ``--in-process``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KP_US = "2b7c9d4e-1f3a-4b5c-8d6e-7f8091a2b3c4"
APIKEY = "emu-apikey-dualauth-functions"
PATH = "/api/v2/instance/policies"
BODY = json.dumps({"metadata": {"collectionType": "application/vnd.ibm.kms.policy+json", "collectionTotal": 1},
                   "resources": [{"policy_type": "dualAuthDelete", "policy_data": {"enabled": True}}]})


def start_subprocess() -> tuple[str, Callable[[], None]]:
    from stack import start_emulator

    emulator = start_emulator()
    return emulator.url, emulator.stop


def start_in_process() -> tuple[str, Callable[[], None]]:
    from emulator import Options, start

    running = start(Options(port=0))
    return running.url, running.stop


def headers(url: str) -> dict[str, str]:
    token = httpx.post(f"{url}/identity/token", timeout=10, data={
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": APIKEY}).json()["access_token"]
    return {"authorization": f"Bearer {token}", "bluemix-instance": KP_US, "content-type": "application/json"}


def run(url: str, hdrs: dict[str, str], method: str, count: int) -> list[float]:
    """``count`` sequential calls on one keep-alive connection; the latency of each, in ms."""
    latencies = []
    with httpx.Client(base_url=url, headers=hdrs, timeout=10) as client:
        for _ in range(count):
            started = time.perf_counter()
            resp = client.request(method, PATH, params={"policy": "dualAuthDelete"},
                                  content=BODY if method == "PUT" else None)
            latencies.append((time.perf_counter() - started) * 1000)
            if resp.status_code != (204 if method == "PUT" else 200):
                raise SystemExit(f"{method} answered {resp.status_code}: {resp.text}")
    return latencies


def measure(url: str, hdrs: dict[str, str], method: str, count: int, clients: int) -> dict[str, Any]:
    per_client = max(1, count // clients)
    results: list[list[float]] = [[] for _ in range(clients)]

    def work(i: int) -> None:
        results[i] = run(url, hdrs, method, per_client)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    lat = sorted(x for r in results for x in r)
    return {"method": method, "clients": clients, "requests": len(lat), "seconds": round(wall, 3),
            "rps": round(len(lat) / wall, 1), "median_ms": round(statistics.median(lat), 3),
            "p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000, help="requests per measurement (default 2000)")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients for the second round (default 4)")
    p.add_argument("--warmup", type=int, default=200, help="warm-up requests of each kind (default 200)")
    p.add_argument("--in-process", action="store_true", help="serve from a thread of this process")
    args = p.parse_args()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.clients <= 32:
        raise SystemExit("--requests must be 1..100000 and --clients 1..32")
    url, stop = start_in_process() if args.in_process else start_subprocess()
    try:
        hdrs = headers(url)
        for method in ("GET", "PUT"):
            run(url, hdrs, method, args.warmup)
        rows = [measure(url, hdrs, method, args.requests, clients)
                for clients in (1, args.clients) for method in ("GET", "PUT")]
    finally:
        stop()
    print(json.dumps({"python": platform.python_version(), "cpus": os.cpu_count(),
                      "mode": "in-process" if args.in_process else "subprocess", "results": rows}, indent=1))
    print("\n| method | clients | requests | req/s | median ms | p95 ms |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['clients']} | {r['requests']} | {r['rps']} | {r['median_ms']} | {r['p95_ms']} |")


if __name__ == "__main__":
    main()
