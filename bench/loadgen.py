"""wrk (installed on demand by ``bench.debian``), run with a Lua script, its figures read
from the script's ``done()`` hook (``bench/wrk/common.lua`` prints one ``BENCH_RESULT
{json}`` line)."""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

WRK_DIR = Path(__file__).resolve().parent / "wrk"


@dataclass
class Load:
    """What wrk measured for one scenario."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run(url: str, script: str, env: dict[str, str], *, duration: float, connections: int,
        threads: int) -> Load:
    """``wrk -t threads -c connections -d duration --latency -s script url``."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
               "--latency", "--timeout", "10s", "-s", script, url]
    # wrk's Lua finds common.lua through package.path ("./?.lua"): run it in bench/wrk.
    completed = subprocess.run(command, cwd=WRK_DIR, capture_output=True, text=True,
                               env={**os.environ, "BENCH_THREADS": str(threads), **env})
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line[len("BENCH_RESULT "):])
            return Load(requests=data["requests"], seconds=data["duration_us"] / 1e6,
                        p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000,
                        p99_ms=data["p99_us"] / 1000, max_ms=data["max_us"] / 1000,
                        non_2xx=data["non_2xx"], socket_errors=data["socket_errors"])
    raise RuntimeError(f"wrk gave no result for {url}:\n{completed.stdout}\n{completed.stderr}")
