"""Delivery benchmark: the sample day to 10,000 subscribers, every figure side by side.

Prints, medians of ``--repeat`` runs, with the machine's load average beside them:
- per message: a recipient's message from the variant's template against the full builder
  (``build_message``), on the largest variant;
- per message: the ledger's claim + mark one row per transaction against 50 per transaction;
- recipients per second end to end (plan, claim, message, send, mark) through a null
  transport that drops every message (goal >= 10,000/s);
- recipients per second through SES to a local endpoint (a separate process on 127.0.0.1):
  ``ses`` (boto3 SendEmail, Raw, one message a call) and ``ses-bulk`` (boto3 SendBulkEmail,
  50 recipients a call from a stored template) (goal >= 1,000/s);
- the three ways to call SES that the issue weighed, CPU of the calling process per recipient
  (one thread, the same local endpoint): boto3 SendEmail with the raw message, a lean client
  (botocore's SigV4 signer, the JSON body by hand, one keep-alive connection) sending the
  same, and boto3 SendBulkEmail with 50 recipients a call;
- how closely the rate limiter holds a set rate from 1 to 500 per second: achieved /
  configured and the busiest one-second window, from the null transport's own clock.

Usage: .venv/bin/python scripts/bench_deliver.py [--messages 10000] [--repeat 3] [--part ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchlib import machine_speed
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.config import Settings, load_settings
from newsletter.delivery.transports import make_transport
from newsletter.models import Subscriber
from newsletter.stages.deliver import built_edition, deliver, make_personalizer, variants_for
from newsletter.store import Store

DAY = "2026-06-12"
AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


class NullTransport:
    """Takes every message and drops it; keeps when each one came (for the limiter)."""

    name = "null"

    def __init__(self) -> None:
        self.times: list[float] = []

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        self.times.append(time.monotonic())
        return ""

    def preflight(self, todo: int) -> None:
        pass

    def max_send_rate(self) -> float | None:
        return None

    def close(self) -> None:
        pass


def serve_ses(port: int) -> None:
    """The smallest SES v2 that boto3 accepts for SendEmail, templates and SendBulkEmail."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as SES does
        # Headers and body go out in separate writes: without this, Nagle's algorithm meets
        # the client's delayed ACK and every answer waits ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802
            quota = {"Max24HourSend": 1e9, "MaxSendRate": 1e6, "SentLast24Hours": 0}
            self._answer({"SendQuota": quota, "SendingEnabled": True})

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path.endswith("/outbound-bulk-emails"):
                n = body.count(b'"Destination"')
                results = [{"Status": "SUCCESS", "MessageId": f"b{i}"} for i in range(n)]
                self._answer({"BulkEmailEntryResults": results})
            else:
                self._answer({"MessageId": "m"})

        do_DELETE = do_PUT = do_POST  # noqa: N815

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    httpd.serve_forever()


def build_site(root: Path, n: int) -> None:
    """The sample day built for ``n`` example.com subscribers under ``root``."""
    (root / "subscribers").mkdir(parents=True, exist_ok=True)
    topics = ["", "llm", "vision", "agents,llm", "robotics", "efficiency"]
    names = ["", "Reader", "김민지", "Minji Kim"]
    with (root / "subscribers" / "bench.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["email", "name", "topics"])
        for i in range(n):
            w.writerow([f"reader{i:06d}@example.com", names[i % 4], topics[i % len(topics)]])
    os.chdir(root)
    result = CliRunner().invoke(cli, ["send", "--date", DAY, "--replay", "sample", "--dry-run"])
    if result.exit_code != 0:
        sys.exit(result.output)


def settings_for(root: Path, **env: str) -> Settings:
    values = {f"NEWSLETTER_{k}": v for k, v in env.items()}
    return load_settings(None, env=values, data_dir=root / "data")


def fresh_store(root: Path, settings: Settings) -> Store:
    for name in ("newsletter.db", "newsletter.db-wal", "newsletter.db-shm"):
        (root / "data" / name).unlink(missing_ok=True)
    return Store(settings.layout.store)


def deliver_once(
    root: Path, transport: Any, limit: int | None = None, **env: str
) -> tuple[int, float, float]:
    """(messages sent, seconds of the whole run, seconds of sending) on a fresh ledger.

    The whole run reads the lists, routes, plans the ledger and makes each variant's
    template; sending is the claim -> message -> transport -> mark loop after that.
    """
    settings = settings_for(root, **env)
    store = fresh_store(root, settings)
    started = time.perf_counter()
    summary = deliver(settings, DAY, store=store, transport=transport, limit=limit)
    elapsed = time.perf_counter() - started
    transport.close()
    store.close()
    assert summary.failed == 0 and summary.unknown == 0, summary.line()
    return summary.sent, elapsed, summary.elapsed_s


def message_costs(root: Path, n: int) -> tuple[float, float]:
    """Microseconds per message of the largest variant: (template, full builder)."""
    settings = settings_for(root)
    edition = built_edition(settings, DAY)
    key = max(edition.variants, key=lambda v: len(v.paper_ids)).key
    variant = variants_for(settings, edition, set())[key]
    p = make_personalizer(settings, edition)
    subs = [Subscriber(f"r{i}@example.com", ("", "김민지")[i % 2], ("llm",)) for i in range(n)]
    template = p.template(variant, p.subject)
    date = datetime.now(UTC)
    who = [p.recipient(variant, s, f"<{i}@example.com>") for i, s in enumerate(subs)]
    for w in who:
        w.date = date
    started = time.perf_counter()
    for w in who:
        template.render(w)
    fast = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for w in who[: max(1, n // 20)]:
        p.build(variant, w, p.subject)
    full = (time.perf_counter() - started) / max(1, n // 20) * 1e6
    return fast, full


def ledger_costs(folder: Path, n: int) -> tuple[float, float]:
    """Microseconds per message for claim + mark: (one row a transaction, 50 a transaction)."""
    out = []
    for batch in (1, 50):
        store = Store(folder / f"ledger-{batch}-{time.monotonic_ns()}.db")
        emails = [f"r{i:06d}@example.com" for i in range(n)]
        store.plan(DAY, [(e, "v", "pending") for e in emails])
        started = time.perf_counter()
        for i in range(0, n, batch):
            chunk = emails[i : i + batch]
            if batch == 1:
                store.claim(DAY, chunk[0])
                store.mark(DAY, chunk[0], "sent", message_id="id")
            else:
                store.claim_many(DAY, chunk)
                store.mark_many(DAY, [(e, "sent", "id", None) for e in chunk])
        out.append((time.perf_counter() - started) / n * 1e6)
        store.close()
    return out[0], out[1]


def rates(runs: list[tuple[int, float, float]]) -> tuple[float, float, float]:
    """Median (recipients/s of the whole run, of the sending, seconds of the whole run)."""
    return (
        statistics.median(n / whole for n, whole, _ in runs),
        statistics.median(n / sending for n, _, sending in runs),
        statistics.median(whole for _, whole, _ in runs),
    )


def client_costs(root: Path, url: str, calls: int) -> dict[str, float]:
    """CPU microseconds per recipient in this process for each way of calling SES."""
    import base64
    import http.client

    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config

    settings = settings_for(root)
    edition = built_edition(settings, DAY)
    key = max(edition.variants, key=lambda v: len(v.paper_ids)).key
    variant = variants_for(settings, edition, set())[key]
    raw, _ = make_personalizer(settings, edition).message(variant, Subscriber("r@example.com"))
    client = boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=url,
        config=Config(retries={"total_max_attempts": 1}),
    )
    credentials = client._request_signer._credentials
    connection = http.client.HTTPConnection(url.split("//")[1])

    def boto3_raw() -> None:
        client.send_email(
            FromEmailAddress="d@example.com",
            Destination={"ToAddresses": ["r@example.com"]},
            Content={"Raw": {"Data": raw}},
        )

    def lean_raw() -> None:
        body = (
            '{"FromEmailAddress":"d@example.com","Destination":{"ToAddresses":["r@example.com"]},'
            '"Content":{"Raw":{"Data":"' + base64.b64encode(raw).decode() + '"}}}'
        ).encode()
        request = AWSRequest(
            "POST",
            url + "/v2/email/outbound-emails",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        SigV4Auth(credentials, "ses", "us-east-1").add_auth(request)
        connection.request("POST", "/v2/email/outbound-emails", body, dict(request.headers.items()))
        response = connection.getresponse()
        json.loads(response.read())

    data = json.dumps({"unsubscribe": "https://news.example.com/u?token=abc", "topics": "llm"})
    entries = [
        {
            "Destination": {"ToAddresses": [f"r{i}@example.com"]},
            "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": data}},
            "ReplacementHeaders": [{"Name": "List-Unsubscribe", "Value": "<https://x/u?t=1>"}],
        }
        for i in range(50)
    ]

    def boto3_bulk() -> None:
        client.send_bulk_email(
            FromEmailAddress="d@example.com",
            DefaultContent={"Template": {"TemplateName": "t", "TemplateData": "{}"}},
            BulkEmailEntries=entries,
        )

    out = {}
    for name, call, per in (
        ("boto3 SendEmail, raw", boto3_raw, 1),
        ("lean client, raw", lean_raw, 1),
        ("boto3 SendBulkEmail, 50", boto3_bulk, 50),
    ):
        call()
        started = time.process_time()
        for _ in range(calls):
            call()
        out[name] = (time.process_time() - started) / calls / per * 1e6
    connection.close()
    return out


def limiter(root: Path, rate: float, n: int) -> tuple[float, int]:
    """(achieved / configured, most messages in any one-second window) at ``rate``."""
    null = NullTransport()
    deliver_once(root, null, n, DELIVERY__RATE_PER_S=str(rate), DELIVERY__CONCURRENCY="4")
    times = sorted(null.times)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    busiest, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        busiest = max(busiest, i - j + 1)
    return achieved / rate, busiest


def transport(root: Path, env: dict[str, str]) -> Any:
    return make_transport(settings_for(root, **env), DAY)


def part(title: str, wanted: str, name: str) -> bool:
    if wanted not in ("all", name):
        return False
    print(f"\n{title} [{machine_speed()}, {os.cpu_count()} cores]")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--part",
        choices=["all", "message", "ledger", "null", "ses", "clients", "limiter"],
        default="all",
    )
    args = parser.parse_args()

    def repeat(f: Callable[[], Any]) -> list[Any]:
        return [f() for _ in range(args.repeat)]

    port = 18000 + os.getpid() % 1000
    endpoint = multiprocessing.Process(target=serve_ses, args=(port,), daemon=True)
    endpoint.start()
    os.environ.update(AWS)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_site(root, args.messages)
        print(f"{args.messages} subscribers, sample day {DAY}; medians of {args.repeat} runs")
        if part("per message, largest variant:", args.part, "message"):
            costs = repeat(lambda: message_costs(root, 2000))
            fast, full = (statistics.median(c[i] for c in costs) for i in (0, 1))
            print(f"  from the variant's template: {fast:8.1f} µs")
            print(f"  full builder (build_message): {full:7.1f} µs ({full / fast:.0f}x)")
        if part("ledger claim + mark per message:", args.part, "ledger"):
            costs = repeat(lambda: ledger_costs(root, args.messages))
            one, fifty = (statistics.median(c[i] for c in costs) for i in (0, 1))
            print(f"  one row a transaction:  {one:7.1f} µs")
            print(f"  50 rows a transaction:  {fifty:7.1f} µs ({one / fifty:.1f}x less)")
        if part("end to end, rate unlimited, null transport:", args.part, "null"):
            runs = repeat(lambda: deliver_once(root, NullTransport(), DELIVERY__RATE_PER_S="1e9"))
            whole, sending, seconds = rates(runs)
            print(
                f"  sending {sending:7.0f} recipients/s; the whole run {whole:.0f}/s "
                f"({runs[0][0]} in {seconds:.2f} s) (goal 10,000/s)"
            )
        if part(f"end to end to a local SES (another process, port {port}):", args.part, "ses"):
            for name in ("ses", "ses-bulk"):
                env = {
                    "DELIVERY__TRANSPORT": name,
                    "DELIVERY__SES__ENDPOINT_URL": f"http://127.0.0.1:{port}",
                    "DELIVERY__RATE_PER_S": "0",  # MaxSendRate: 1e6 here
                    "DELIVERY__CONCURRENCY": "4",
                }
                runs = repeat(lambda e=env: deliver_once(root, transport(root, e), **e))
                whole, sending, seconds = rates(runs)
                print(
                    f"  {name:<9} sending {sending:6.0f} recipients/s; the whole run "
                    f"{whole:.0f}/s ({seconds:.2f} s) (goal 1,000/s)"
                )
        title = "ways to call SES, CPU per recipient of the calling process (one thread):"
        if part(title, args.part, "clients"):
            url = f"http://127.0.0.1:{port}"
            costs = repeat(lambda: client_costs(root, url, 200))
            for name in costs[0]:
                cpu = statistics.median(c[name] for c in costs)
                print(f"  {name:<24} {cpu:8.0f} µs  (one core: {1e6 / cpu:6.0f} recipients/s)")
        if part("rate limiter (null transport's clock, 4 workers):", args.part, "limiter"):
            for rate, n in ((1.0, 6), (10.0, 51), (100.0, 501), (500.0, 2501)):
                runs = repeat(lambda r=rate, k=n: limiter(root, r, k))
                ratio = statistics.median(r for r, _ in runs)
                busiest = max(b for _, b in runs)
                print(
                    f"  set {rate:5.0f}/s: achieved {ratio * rate:8.2f}/s ({ratio:.4f}x), "
                    f"busiest 1-s window {busiest} (limit {rate:.0f} + 1)"
                )
        os.chdir("/")
    endpoint.terminate()
    endpoint.join()


if __name__ == "__main__":
    main()
