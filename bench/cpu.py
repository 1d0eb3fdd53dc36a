"""The CPU work of a request, counted: ``python bench/cpu.py [--against CHECKOUT]``.

wrk's requests per second on this shared two-core machine moved by a factor of two
between runs of the same code, and CPU time measured in-process by 15 % between two runs
of the same code side by side: too much to tell whether a change costs 10 %. Instructions
do not move. This counts them with valgrind (``cachegrind``, no cache simulation; Debian's
``valgrind`` is installed when missing): the read scenarios of ``bench/run.py`` sent
through the Flask test client against the benchmark's 100,000 incidents, each in a process
of its own that first warms every scenario and then sends one of them ``--requests``
times. A request's count is that process's instructions minus those of one that sends
nothing after the warming, divided by ``--requests``. Reruns agree within 3 % for lists
and pages; a single GET, a few million instructions, moves by up to 15 % (the warming
process's own variation over only ``--requests`` requests: send more to narrow it).

With ``--against`` a second checkout (``git worktree add /tmp/before <rev>``) is counted the
same way on a data set made by its own code, and the table gives the change. A process
runs a checkout's own ``bench`` package and app, so the older checkout needs no copy of
this file.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]

# Writes would change the data the reads see.
READS = ("list", "filtered", "technician", "reporter", "deep", "search", "get", "grid",
         "details", "dashboard")
WARMING = 2  # requests of each scenario before counting: caches filled once per process


# --- in a child process: one checkout's app ---------------------------------------------

def child(args) -> int:
    """``--prepare``: make a data set with the checkout's code and print its URL.
    Otherwise: warm every scenario, then send ``--send`` ``--requests`` times."""
    sys.path.insert(0, str(args.root))
    os.chdir(args.root)
    from bench import dataset, databases, run, servers

    def app_on(url: str):
        os.environ.update(servers.app_environment(url))  # the settings gunicorn gets
        from portal import create_app

        return create_app({"MAIL_DELIVERY_THREAD": False})

    if args.prepare:
        with databases.fresh_database(args.db, keep=True) as (url, _):
            app = app_on(url)
            dataset.create_schema(app)
            dataset.load(app, args.incidents)
            print("DATABASE " + url, flush=True)
        return 0
    app = app_on(args.reuse)
    cast = dataset.existing_cast(app)
    credentials = run.log_in(app, cast)
    senders = {s.key: sender(s, cast, credentials) for s in run.scenarios(cast)
               if s.key in READS}
    for send in senders.values():
        for _ in range(WARMING):
            send()
    for _ in range(args.requests if args.send else 0):
        senders[args.send]()
    print("SCENARIOS " + json.dumps({s.key: s.name for s in run.scenarios(cast)
                                     if s.key in senders}), flush=True)
    return 0


def sender(scenario, cast, credentials):
    """A function sending the scenario's request once, checking that it answered 200."""
    client = credentials.clients["session" if scenario.session else "api"]
    headers = {} if scenario.session else {
        "Authorization": f"Bearer {credentials.tokens[scenario.who]}"}
    path = scenario.path.replace("{id}", str(cast.incidents // 2))

    def send():
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    return send


# --- the parent -------------------------------------------------------------------------

def child_command(root: Path, args, *options: str) -> list[str]:
    return [sys.executable, str(HERE), "--child", "--root", str(root), "--db", args.db,
            "--incidents", str(args.incidents), "--requests", str(args.requests), *options]


def prepare(root: Path, args) -> str:
    """A fresh data set for ``root``'s code; its URL."""
    completed = subprocess.run(child_command(root, args, "--prepare"), capture_output=True,
                               text=True)
    for line in completed.stdout.splitlines():
        if line.startswith("DATABASE "):
            return line.split(" ", 1)[1]
    raise RuntimeError(f"no data set for {root}:\n{completed.stdout}\n{completed.stderr}")


def instructions(root: Path, url: str, args, send: str | None) -> tuple[int, dict]:
    """The instructions a child process executed, and the scenarios it knew."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
               "--cachegrind-out-file=/dev/null",
               *child_command(root, args, "--reuse", url, *(["--send", send] if send else []))]
    # One hash seed: sets and dicts then iterate alike in every run.
    completed = subprocess.run(command, capture_output=True, text=True,
                               env={**os.environ, "PYTHONHASHSEED": "0"})
    counted = re.search(r"I\s+refs:\s+([\d,]+)", completed.stderr)
    names = [line for line in completed.stdout.splitlines() if line.startswith("SCENARIOS ")]
    if completed.returncode != 0 or not counted or not names:
        raise RuntimeError(f"counting {send or 'the warming'} in {root} failed:\n"
                           f"{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}")
    return int(counted.group(1).replace(",", "")), json.loads(names[0].split(" ", 1)[1])


def count(checkouts: dict[str, tuple[Path, str]], keys: list[str], args) -> dict:
    """Millions of instructions per request, per checkout and scenario."""
    jobs = {(label, key): (root, url, args, key) for label, (root, url) in checkouts.items()
            for key in [None, *keys]}
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        futures = {job: pool.submit(instructions, *how) for job, how in jobs.items()}
        done = {job: future.result() for job, future in futures.items()}
    result = {"_names": next(iter(done.values()))[1]}
    for label in checkouts:
        warming = done[(label, None)][0]
        result[label] = {key: (done[(label, key)][0] - warming) / args.requests / 1e6
                         for key in keys if key in done[(label, key)][1]}
    return result


def table(result: dict) -> str:
    before = result.get("before")
    lines = ["| request | million instructions |" + (" before | change |" if before else ""),
             "|---|---:|" + ("---:|---:|" if before else "")]
    for key, value in result["now"].items():
        line = f"| {result['_names'][key]} | {value:.1f} |"
        if before and key in before:
            line += f" {before[key]:.1f} | {100 * (value / before[key] - 1):+.1f} % |"
        lines.append(line)
    return "\n".join(lines)


def parse_args(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="another checkout (a git worktree) to compare with")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20, help="requests counted")
    parser.add_argument("--only", nargs="*", help=f"only these: {' '.join(READS)}")
    parser.add_argument("--reuse", metavar="URL", help="this checkout's data set, kept "
                        "by an earlier run (default: a fresh one, removed afterwards)")
    parser.add_argument("--against-reuse", metavar="URL", help="the other's data set")
    parser.add_argument("--json", type=Path, help="also write the counts to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--send", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        return child(args)
    if args.against and not (args.against / "portal").is_dir():
        sys.exit(f"--against {args.against}: not a checkout of this project")
    sys.path.insert(0, str(ROOT))
    from bench import databases, debian

    debian.ensure("valgrind")

    wanted = [(ROOT, args.reuse, "now")]
    if args.against:
        wanted.append((args.against.resolve(), args.against_reuse, "before"))
    checkouts, made = {}, []
    try:
        for root, url, label in wanted:
            if url is None:
                url = prepare(root, args)
                made.append(url)
                print(f"data set for {root}: {url}", flush=True)
            checkouts[label] = (root, url)
        keys = [k for k in READS if not args.only or k in args.only]
        result = count(checkouts, keys, args)
    finally:
        for url in made:
            databases.remove(url)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print("\n" + table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
