"""Delivery benchmark: 10,000 messages to a local SES v2 endpoint.

Prints (medians of repeated runs):
- messages per second end to end (personalize, ledger claim + mark, boto3 sesv2 SendEmail over
  HTTP to 127.0.0.1), at several concurrencies; then the same with a delay on every answer,
  as a real SES endpoint tens of milliseconds away has, where the worker threads pay off;
- the ledger's cost per message (claim + mark, SQLite WAL), with synchronous=NORMAL (what the
  store uses) beside synchronous=FULL, and beside building the message itself;
- how closely the rate limiter holds a configured rate, from the endpoint's own arrival times:
  achieved / configured, and the busiest one-second window.

Usage: .venv/bin/python scripts/bench_deliver.py [--messages 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.config import Settings, load_settings
from newsletter.delivery.transports.ses import SesTransport
from newsletter.models import Subscriber
from newsletter.stages.deliver import built_edition, deliver, make_personalizer, variants_for
from newsletter.store import Store

DAY = "2026-06-12"


class Endpoint:
    """The smallest SES v2 SendEmail that boto3 accepts; records arrival times."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.latency_s = 0.0  # added before each answer, as a far-away SES would
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as SES does
            # Headers and body go out in separate writes: without this, Nagle's algorithm
            # meets the client's delayed ACK and every answer waits ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                if owner.latency_s:
                    time.sleep(owner.latency_s)
                with owner.lock:
                    owner.arrivals.append(time.monotonic())
                    n = len(owner.arrivals)
                body = json.dumps({"MessageId": f"bench-{n}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.arrivals = []


def build_site(root: Path, n: int) -> None:
    """The sample day built for ``n`` example.com subscribers under ``root``."""
    (root / "subscribers").mkdir(parents=True, exist_ok=True)
    topics = ["", "llm", "vision", "agents,llm", "robotics", "efficiency"]
    with (root / "subscribers" / "bench.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["email", "topics"])
        for i in range(n):
            w.writerow([f"reader{i:05d}@example.com", topics[i % len(topics)]])
    os.chdir(root)
    result = CliRunner().invoke(cli, ["send", "--date", DAY, "--replay", "sample", "--dry-run"])
    if result.exit_code != 0:
        sys.exit(result.output)


def settings_for(root: Path, rate: float, concurrency: int) -> Settings:
    env = {
        "NEWSLETTER_DELIVERY__TRANSPORT": "ses",
        "NEWSLETTER_DELIVERY__RATE_PER_S": str(rate),
        "NEWSLETTER_DELIVERY__CONCURRENCY": str(concurrency),
    }
    return load_settings(None, env=env, data_dir=root / "data")


def transport(url: str, concurrency: int) -> SesTransport:
    client = boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(
            retries={"total_max_attempts": 1}, max_pool_connections=max(10, concurrency * 2)
        ),
    )
    return SesTransport(client)


def deliver_once(
    root: Path, endpoint: Endpoint, rate: float, concurrency: int, limit: int | None = None
) -> tuple[int, float]:
    """(messages sent, seconds) for one run on a fresh ledger."""
    for name in ("newsletter.db", "newsletter.db-wal", "newsletter.db-shm"):
        (root / "data" / name).unlink(missing_ok=True)
    settings = settings_for(root, rate, concurrency)
    endpoint.reset()
    store = Store(settings.layout.store)
    started = time.perf_counter()
    summary = deliver(
        settings, DAY, store=store, transport=transport(endpoint.url, concurrency), limit=limit
    )
    elapsed = time.perf_counter() - started
    store.close()
    assert summary.failed == 0 and summary.sent == len(endpoint.arrivals)
    return summary.sent, elapsed


def ledger_cost(folder: Path, n: int, synchronous: str) -> float:
    """Microseconds per message for claim + mark on a ledger of ``n`` rows."""
    path = folder / f"ledger-{synchronous}-{time.monotonic_ns()}.db"
    store = Store(path)
    store._connection().execute(f"PRAGMA synchronous={synchronous}")
    store.plan(DAY, [(f"r{i}@example.com", "v", "pending") for i in range(n)])
    started = time.perf_counter()
    for i in range(n):
        email = f"r{i}@example.com"
        store.claim(DAY, email)
        store.mark(DAY, email, "sent", message_id=f"id-{i}")
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed / n * 1e6


def message_cost(root: Path, n: int) -> float:
    """Microseconds to personalize and serialize one message of the largest variant."""
    settings = settings_for(root, 10, 1)
    edition = built_edition(settings, DAY)
    key = max(edition.variants, key=lambda v: len(v.paper_ids)).key
    variants = variants_for(settings, edition, set())
    personalizer = make_personalizer(settings, edition)
    started = time.perf_counter()
    for i in range(n):
        personalizer.message(variants[key], Subscriber(email=f"r{i}@example.com"))
    return (time.perf_counter() - started) / n * 1e6


def limiter_accuracy(root: Path, endpoint: Endpoint, rate: float, n: int) -> tuple[float, int]:
    """(achieved / configured rate, most arrivals in any one-second window)."""
    deliver_once(root, endpoint, rate, 8, limit=n)
    times = sorted(endpoint.arrivals)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    busiest, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        busiest = max(busiest, i - j + 1)
    return achieved / rate, busiest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--part", choices=["all", "throughput", "latency", "ledger", "limiter"], default="all"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=30.0,
        help="Answer delay for the 'latency' part (SES is tens of ms away).",
    )
    args = parser.parse_args()
    endpoint = Endpoint()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_site(root, args.messages)
        print(
            f"{args.messages} subscribers, sample day 2026-06-12, local SES at {endpoint.url}"
            " (served by a thread of this process, so its CPU counts against the sender)"
        )

        if args.part in ("all", "throughput"):
            print("\nend to end (rate unlimited), median of", args.repeat, "runs:")
            for concurrency in (1, 4, 16):
                runs = [deliver_once(root, endpoint, 1e9, concurrency) for _ in range(args.repeat)]
                per_s = statistics.median(sent / t for sent, t in runs)
                seconds = statistics.median(t for _, t in runs)
                print(
                    f"  concurrency {concurrency:>2}: {per_s:7.0f} messages/s "
                    f"({runs[0][0]} messages, median {seconds:.1f}s)"
                )

        if args.part in ("all", "latency"):
            n = min(args.messages, 2000)
            print(
                f"\nwith {args.latency_ms:.0f} ms per SES answer ({n} messages, rate "
                f"unlimited), median of {args.repeat} runs:"
            )
            endpoint.latency_s = args.latency_ms / 1000
            for concurrency in (1, 4, 16):
                runs = [
                    deliver_once(root, endpoint, 1e9, concurrency, limit=n)
                    for _ in range(args.repeat)
                ]
                per_s = statistics.median(sent / t for sent, t in runs)
                print(f"  concurrency {concurrency:>2}: {per_s:7.0f} messages/s")
            endpoint.latency_s = 0.0

        if args.part in ("all", "ledger"):
            print("\nper message, median of", args.repeat, "runs:")
            normal = statistics.median(
                ledger_cost(root, args.messages, "NORMAL") for _ in range(args.repeat)
            )
            full = statistics.median(
                ledger_cost(root, args.messages, "FULL") for _ in range(args.repeat)
            )
            build = statistics.median(message_cost(root, 500) for _ in range(args.repeat))
            print(f"  ledger claim + mark, synchronous=NORMAL (used): {normal:7.0f} µs")
            print(
                f"  ledger claim + mark, synchronous=FULL:          {full:7.0f} µs "
                f"({full / normal:.1f}x NORMAL)"
            )
            print(
                f"  building one message (largest variant):         {build:7.0f} µs "
                f"(ledger = {normal / build:.2f}x of it)"
            )

        if args.part in ("all", "limiter"):
            print(
                "\nrate limiter (arrival times at the endpoint, concurrency 8), median of",
                args.repeat,
                "runs:",
            )
            # Rates below the end-to-end capacity measured above, 5 s of sending each.
            for rate, n in ((14.0, 70), (50.0, 250), (150.0, 750)):
                runs = [limiter_accuracy(root, endpoint, rate, n) for _ in range(args.repeat)]
                ratio = statistics.median(r for r, _ in runs)
                busiest = statistics.median(b for _, b in runs)
                print(
                    f"  configured {rate:4.0f}/s over {n:>4} messages: achieved "
                    f"{ratio * rate:7.1f}/s ({ratio:.3f}x), busiest 1-s window {busiest:.0f}"
                )
        os.chdir("/")


if __name__ == "__main__":
    main()
