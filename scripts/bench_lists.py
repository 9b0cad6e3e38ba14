"""List-scale benchmark: time and peak memory of the list operations at 10k, 100k and 1M.

For each size and format (CSV, YAML) a synthetic list of example.com subscribers (names in
Korean and English, a dozen topic choices, some exclusions and languages) is written next to
the sample day, and each operation runs as its own process, measured from outside
(``os.wait4``: wall time and the child's peak resident memory):

- ``subscribers check``;
- ``send --dry-run`` (the edition already built: read, route, print the plan);
- planning the ledger (read, route, plan every row in a fresh ledger, as ``send`` does);
- ``build --force`` (read, route, render each variant; the render is the same at any size);
- the build stage alone given the lists the command read (what ``send`` runs): its own
  seconds as it reports them (the process's peak memory includes the lists).

Usage: .venv/bin/python scripts/bench_lists.py [--sizes 10000 100000 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import machine_speed

DAY = "2026-06-12"
TOPICS = ["", "llm", "vision", "agents,llm", "robotics", "efficiency;safety", "speech", "video"]
NAMES = ["", "Reader", "김민지", "Minji Kim", "Zoë Ünal", "박준"]

PLAN = f"""
import sys
from pathlib import Path
from newsletter.config import load_settings
from newsletter.stages.deliver import assignments, built_edition, plan
from newsletter.store import Store
from newsletter.subscribers import load_subscribers
settings = load_settings(None)
store = Store(Path(sys.argv[1]))
keys = assignments(settings, built_edition(settings, "{DAY}"), load_subscribers(settings, store))
print(plan(store, "{DAY}", keys), "rows planned")
"""

# The build stage given the lists the command read (as `send` runs it): its own seconds.
BUILD = f"""
import time
from newsletter.config import load_settings
from newsletter.stages.build import build
from newsletter.store import Store
from newsletter.subscribers import read_lists
settings = load_settings(None)
lists = read_lists(settings)
started = time.perf_counter()
build(settings, "{DAY}", force=True, store=Store(settings.layout.store), lists=lists,
      progress=lambda line: None)
print(time.perf_counter() - started)
"""


def write_list(folder: Path, n: int, kind: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    path = folder / f"list.{kind}"
    with path.open("w", encoding="utf-8") as fh:
        if kind == "csv":
            fh.write("email,name,topics,exclude,language\n")
        for i in range(n):
            email, name, topics = f"reader{i:07d}@example.com", NAMES[i % 6], TOPICS[i % 8]
            exclude, language = ("safety" if i % 11 == 0 else ""), ("", "ko", "en")[i % 3]
            if kind == "csv":
                fh.write(f'{email},{name},"{topics}",{exclude},{language}\n')
                continue
            fh.write(f"- email: {email}\n")
            if name:
                fh.write(f"  name: {name}\n")
            if topics:
                fh.write(f"  topics: [{topics.replace(';', ', ')}]\n")
            if exclude:
                fh.write(f"  exclude: [{exclude}]\n")
            if language:
                fh.write(f"  language: {language}\n")
    return path


def measure(args: list[str], cwd: Path, inner: bool = False) -> tuple[float, float]:
    """(seconds, peak MB) of one process; ``inner``: the seconds it prints itself."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak memory
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(args)} exited {proc.returncode}: {err.read()[-2000:]!r}")
        if inner:
            out.seek(0)
            elapsed = float(out.read().decode().split()[-1])
    return elapsed, usage.ru_maxrss / 1024  # KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "yaml"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure below 1M")
    args = parser.parse_args()
    newsletter = [sys.executable, "-m", "newsletter"]
    print(f"{machine_speed()}, {os.cpu_count()} cores")
    print(f"{'list':>14} {'operation':<22} {'seconds':>8} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_list(root / "subscribers", 4, "csv")
        measure([*newsletter, "send", "--date", DAY, "--replay", "sample", "--dry-run"], root)
        for kind in args.formats:
            for n in args.sizes:
                write_list(root / "subscribers", n, kind)
                # Prepared once for this list (analyses in each language its subscribers read,
                # the build), so dry-run and planning find the edition current.
                measure(
                    [*newsletter, "send", "--date", DAY, "--replay", "sample", "--dry-run"], root
                )
                operations = {
                    "subscribers check": [*newsletter, "subscribers", "check"],
                    "send --dry-run": [*newsletter, "send", "--date", DAY, "--dry-run"],
                    "plan the ledger": [sys.executable, "-c", PLAN, str(root / "plan.db")],
                    "build --force": [*newsletter, "build", "--date", DAY, "--force"],
                    "build, lists given": [sys.executable, "-c", BUILD],
                }
                for name, command in operations.items():
                    runs = []
                    for _ in range(args.repeat if n < 1_000_000 else 1):
                        for leftover in root.glob("plan.db*"):
                            leftover.unlink()
                        runs.append(measure(command, root, inner=name.endswith("given")))
                    seconds = statistics.median(t for t, _ in runs)
                    peak = max(m for _, m in runs)
                    print(f"{n:>10,} {kind:<4} {name:<22} {seconds:8.1f} {peak:8.0f}", flush=True)
        shutil.rmtree(root / "data", ignore_errors=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")


if __name__ == "__main__":
    main()
