"""How `newsletter serve` holds up: requests per second and latency under uvicorn, with and
without idle connections held open (each with half-sent headers, as a slowloris client).

    .venv/bin/python scripts/bench_web.py [--requests 600] [--clients 8] [--idle 200] [--runs 3]

Prints medians of --runs runs for: GET / (the sign-up page, rendered), GET /unsubscribe (a
signed link read, the store asked), and the same with --idle connections open, side by side.
Everything runs on 127.0.0.1 in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.web_server import SECRET, serve_app  # noqa: E402

from newsletter.config import load_settings  # noqa: E402


def hammer(url: str, requests: int, clients: int) -> tuple[float, float]:
    """(requests per second, median latency in ms) of ``requests`` GETs from ``clients``."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(count):
                start = time.perf_counter()
                response = client.get(url)
                took = time.perf_counter() - start
                assert response.status_code == 200, response.status_code
                with lock:
                    latencies.append(took)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [requests // clients] * clients))
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, 1000 * statistics.median(latencies)


def idle_connections(url: str, count: int) -> list[socket.socket]:
    host, port = url.removeprefix("http://").split(":")
    out = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        out.append(sock)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        env = {
            "NEWSLETTER_UNSUBSCRIBE_SECRET": SECRET,
            "NEWSLETTER_WEB__BASE_URL": "https://news.example.com",
            # Long enough that the idle connections stay open for the whole measurement.
            "NEWSLETTER_WEB__REQUEST_TIMEOUT_S": "600",
        }
        settings = load_settings(None, env=env)
        with serve_app(settings) as served:
            link = served.web.links.unsubscribe_url("reader@example.com")
            targets = {
                "GET / (sign-up page)": f"{served.url}/",
                "GET /unsubscribe (signed link)": f"{served.url}/unsubscribe?"
                + link.split("?", 1)[1],
            }
            print(f"{args.requests} requests from {args.clients} clients; medians of {args.runs}")
            for name, url in targets.items():
                rows = {}
                for idle in (0, args.idle):
                    socks = idle_connections(served.url, idle)
                    try:
                        runs = [hammer(url, args.requests, args.clients) for _ in range(args.runs)]
                    finally:
                        for sock in socks:
                            sock.close()
                    rows[idle] = (
                        statistics.median(r[0] for r in runs),
                        statistics.median(r[1] for r in runs),
                    )
                (base_rps, base_ms), (idle_rps, idle_ms) = rows[0], rows[args.idle]
                print(
                    f"{name:<32} {base_rps:7.0f} req/s {base_ms:6.1f} ms | with {args.idle} idle"
                    f" connections: {idle_rps:7.0f} req/s {idle_ms:6.1f} ms"
                    f" ({idle_rps / base_rps:.2f}x)"
                )


if __name__ == "__main__":
    main()
