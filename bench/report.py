"""The result table (printed, and written as Markdown to ``bench/results/``), the
targets of issue 7 checked against it, and a description of the machine."""
from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RSS_LIMIT_MB = 200


@dataclass
class Row:
    """One scenario's figures; ``statements`` is None where not measured (the floor)."""

    key: str
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    statements: float | None
    vs_floor: float | None = None
    target: str = ""
    met: bool | None = None


def check_targets(rows: dict[str, Row], floor: Row | None) -> None:
    """Fill in each row's target and whether it was met (the issue's numbers)."""
    page1 = rows.get("list")
    for row in rows.values():
        if floor and row.key in LIST_KEYS and floor.rps:
            row.vs_floor = row.rps / floor.rps
    if page1:
        page1.target = "≥ 60% of floor req/s, p99 < 50 ms"
        page1.met = (page1.vs_floor or 0) >= 0.6 and page1.p99_ms < 50
        for key in ("filtered", "deep"):
            if key in rows:
                rows[key].target = f"p99 ≤ 2 × page 1 ({2 * page1.p99_ms:.1f} ms)"
                rows[key].met = rows[key].p99_ms <= 2 * page1.p99_ms
    for key, limit in (("get", 30), ("create", 30), ("grid", 150), ("details", 150),
                       ("dashboard", 150)):
        if key in rows:
            rows[key].target = f"p99 < {limit} ms"
            rows[key].met = rows[key].p99_ms < limit
    for row in rows.values():
        if row.errors and row.met:
            row.met = False  # fast errors are no success


LIST_KEYS = ("list", "filtered", "technician", "reporter", "deep", "search")


def _mark(met: bool | None) -> str:
    return "" if met is None else ("✅" if met else "❌")


def table(rows: list[Row], floor: Row | None) -> str:
    lines = ["| scenario | req/s | p50 ms | p99 ms | errors | vs floor | SQL/req | target |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in ([floor] if floor else []) + rows:
        vs_floor = f"{row.vs_floor:.0%}" if row.vs_floor is not None else ""
        statements = "" if row.statements is None else f"{row.statements:g}"
        target = f"{_mark(row.met)} {row.target}".strip()
        lines.append(f"| {row.name} | {row.rps:,.0f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} "
                     f"| {row.errors} | {vs_floor} | {statements} | {target} |")
    return "\n".join(lines)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews the run."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _wrk_version() -> str:
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return (completed.stdout or completed.stderr).split("\n")[0].split(" [")[0].strip()


def machine(database: str, database_version: str, load: str) -> list[str]:
    from importlib.metadata import version

    return [f"- machine: {os.cpu_count()} CPUs (nproc), {_cpu_model()}, {_ram_gib():.1f} GiB RAM,"
            f" {platform.system()} {platform.release()}",
            f"- Python {platform.python_version()}, gunicorn {version('gunicorn')}, "
            f"SQLAlchemy {version('SQLAlchemy')}, Flask {version('Flask')}, {_wrk_version()}",
            f"- load average (1, 5, 15 min) when this database's run started, a sign of other "
            f"work on the machine (or of the previous database's run): "
            f"{load}",
            f"- database: {database} {database_version}"
            + (f" (Python's sqlite3 module links SQLite {sqlite3.sqlite_version})"
               if database == "SQLite" else "")]


def markdown(*, database: str, database_version: str, load: str, settings: list[str],
             rows: list[Row], floor: Row | None, peak_rss_mb: float,
             floor_rss_mb: float | None, command: str) -> str:
    rss_met = peak_rss_mb < RSS_LIMIT_MB
    lines = [f"# Benchmark {time.strftime('%Y-%m-%d %H:%M')} — {database}", "",
             f"Command: `{command}`", "", *machine(database, database_version, load), *settings, "",
             table(rows, floor), "",
             f"Peak RSS of a gunicorn worker (VmHWM, largest of 2): **{peak_rss_mb:.0f} MiB** "
             f"{_mark(rss_met)} target < {RSS_LIMIT_MB} MB"
             + (f"; the floor's workers: {floor_rss_mb:.0f} MiB" if floor_rss_mb else "") + ".",
             "",
             "req/s and latencies from wrk (16 connections, 2 threads, after a warm-up); "
             "errors = non-2xx answers plus socket errors; SQL/req counted once per scenario "
             "in-process (Flask test client, same database); vs floor = req/s ÷ the floor's "
             "req/s (bench/floor.py: bare WSGI, one SQL statement, no authentication).", ""]
    return "\n".join(lines)


def write(text: str, database: str) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{time.strftime('%Y-%m-%d')}-{database.lower()}.md"
    path.write_text(text)
    return path
