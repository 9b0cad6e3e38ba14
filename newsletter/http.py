"""One HTTP client for every source: timeouts, User-Agent, retries, pacing, record and replay.

``--record DIR`` and ``--replay DIR`` plug in the transports of ``newsletter.recording``.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from . import __version__
from .errors import SourceError
from .files import write_atomic
from .recording import (
    BodyLimitError,
    RecordingTransport,
    ReplayMissError,
    ReplayTransport,
    decoded_copy,
    read_capped,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 120.0
BODY_DEADLINE_FACTOR = 10  # a whole body may take this many read timeouts
# Transport failures worth another try: the server may answer next time.
_RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass
class _HostGate:
    semaphore: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0


class Http:
    """The shared client: wraps an ``httpx.Client`` with the project's politeness rules."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        max_bytes: int = 25_000_000,
        retries: int = 3,
        max_per_host: int = 4,
        replaying: bool = False,
        cache_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base_s: float = 1.0,
        body_deadline_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        # The read timeout bounds each wait between bytes, not the whole body: a server that
        # drips one byte a second would hold the run for days. Default: 10x the read timeout.
        read = client.timeout.read
        self.body_deadline_s = (
            body_deadline_s
            if body_deadline_s is not None
            else (read * BODY_DEADLINE_FACTOR if read else None)
        )
        self.max_bytes = max_bytes
        self.retries = retries
        self.max_per_host = max_per_host
        self.replaying = replaying
        self.cache_dir = cache_dir
        self.sleep = sleep
        self.clock = clock
        self.backoff_base_s = backoff_base_s
        self.intervals: dict[str, float] = {}
        self._gates: dict[str, _HostGate] = {}
        self._gates_lock = threading.Lock()
        self.requests = 0
        self.seconds_waiting = 0.0
        self.cache_hits = 0
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_interval(self, url: str, seconds: float) -> None:
        """At most one request per ``seconds`` to the host of ``url`` (skipped when replaying)."""
        self.intervals[urlsplit(url).netloc] = 0.0 if self.replaying else seconds

    def _gate(self, host: str) -> _HostGate:
        with self._gates_lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = _HostGate(threading.Semaphore(self.max_per_host))
            return gate

    def _wait_turn(self, host: str, gate: _HostGate) -> None:
        interval = self.intervals.get(host, 0.0)
        # Holding the lock while sleeping is the point: requests to a paced host go one by one.
        with gate.lock:
            now = self.clock()
            wait = gate.next_at - now
            if wait > 0:
                with self._count_lock:
                    self.seconds_waiting += wait
                self.sleep(wait)
            gate.next_at = max(now, gate.next_at) + interval

    def get(
        self,
        url: str,
        *,
        source: str,
        params: dict[str, str | int] | None = None,
        immutable: bool = False,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        cache_if: Callable[[bytes], bool] | None = None,
    ) -> httpx.Response:
        """GET with retries on 429/5xx/timeouts (honoring Retry-After) and a size cap.

        ``immutable`` responses (200 only, and only those ``cache_if`` accepts) are kept in the
        on-disk cache. Raises SourceError naming the source, the URL and what was wrong.
        """
        full = _full_url(url, params, source)
        cached = self._cache_path(full) if immutable else None
        if cached is not None and cached.is_file():
            with self._count_lock:
                self.cache_hits += 1
            return httpx.Response(
                200, content=cached.read_bytes(), request=httpx.Request("GET", full)
            )
        headers = {**(headers or {}), **({"Accept": accept} if accept else {})} or None
        response = self._get_with_retries(full, headers, source)
        if (
            cached is not None
            and response.status_code == 200
            and response.content
            and (cache_if is None or cache_if(response.content))
        ):
            self._store(cached, response.content)
        return response

    def _get_with_retries(
        self, full: str, headers: dict[str, str] | None, source: str
    ) -> httpx.Response:
        """One GET, tried again after 429, 5xx, timeouts and dropped connections."""
        host = urlsplit(full).netloc
        gate = self._gate(host)
        attempt = 0
        while True:
            attempt += 1
            response, failure = self._attempt(full, headers, source, host, gate)
            if failure is not None:
                if attempt > self.retries:
                    tries = f"{attempt} attempts" if attempt > 1 else "1 attempt"
                    raise SourceError(source, full, f"{failure}, {tries}")
                self._backoff(attempt, None, source, full, failure)
                continue
            assert response is not None
            if response.status_code in RETRY_STATUSES and attempt <= self.retries:
                retry_after = response.headers.get("retry-after")
                status = f"HTTP {response.status_code}"
                self._backoff(attempt, retry_after, source, full, status, gate)
                continue
            return response

    def _attempt(
        self, full: str, headers: dict[str, str] | None, source: str, host: str, gate: _HostGate
    ) -> tuple[httpx.Response | None, str | None]:
        """(response, None), or (None, what failed) when the failure is worth a retry."""
        try:
            with gate.semaphore:
                self._wait_turn(host, gate)
                try:
                    return self._fetch(full, headers, source), None
                except ReplayMissError as exc:
                    raise SourceError(source, full, str(exc)) from None
                except _RETRY_EXCEPTIONS as exc:
                    return None, _describe_exc(exc)
                except httpx.TooManyRedirects:
                    raise SourceError(source, full, "too many redirects (a loop?)") from None
                except httpx.HTTPError as exc:
                    raise SourceError(source, full, _describe_exc(exc)) from None
        finally:
            with self._count_lock:
                self.requests += 1

    def _fetch(self, url: str, headers: dict[str, str] | None, source: str) -> httpx.Response:
        with self.client.stream("GET", url, headers=headers) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise SourceError(
                    source,
                    url,
                    f"response of {int(declared):,} bytes is over "
                    f"the {self.max_bytes:,}-byte limit",
                )
            try:
                body = read_capped(
                    response, self.max_bytes, deadline_s=self.body_deadline_s, clock=self.clock
                )
            except BodyLimitError as exc:
                raise SourceError(source, url, str(exc)) from None
        return decoded_copy(response, body, response.request)

    def _backoff(
        self,
        attempt: int,
        retry_after: str | None,
        source: str,
        url: str,
        why: str,
        gate: _HostGate | None = None,
    ) -> float:
        """Sleep before the next attempt: Retry-After when given, else exponential."""
        delay = retry_after_seconds(retry_after)
        if delay is None:
            delay = self.backoff_base_s * (2 ** (attempt - 1))
        delay = min(delay, MAX_RETRY_AFTER_S)
        log.warning("%s: %s, retrying in %.1fs (%s)", source, why, delay, url)
        if gate is not None and retry_after:
            # The server asked the whole host to slow down, not just this request: every
            # request to it (this retry included) waits its turn in _wait_turn.
            with gate.lock:
                gate.next_at = max(gate.next_at, self.clock() + delay)
            return delay
        with self._count_lock:
            self.seconds_waiting += delay
        self.sleep(delay)
        return delay

    def _store(self, path: Path, body: bytes) -> None:
        write_atomic(path, body)

    def _cache_path(self, url: str) -> Path | None:
        if self.cache_dir is None or self.replaying:
            return None
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.cache_dir / digest[:2] / digest


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (a number or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _full_url(url: str, params: dict[str, str | int] | None, source: str) -> str:
    """The URL with its query; SourceError for anything but http(s)."""
    try:
        full = str(httpx.URL(url, params=params)) if params else url
        if httpx.URL(full).scheme not in ("http", "https"):
            raise httpx.InvalidURL("expected an http:// or https:// URL")
    except httpx.InvalidURL as exc:
        raise SourceError(source, url, f"invalid URL: {exc}") from None
    return full


def _describe_exc(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def make_http(
    *,
    timeout_s: float = 30.0,
    contact: str = "",
    max_bytes: int = 25_000_000,
    retries: int = 3,
    max_per_host: int = 4,
    record: Path | None = None,
    replay: Path | None = None,
    cache_dir: Path | None = None,
) -> Http:
    """Build the shared client; ``replay`` serves a recording, ``record`` saves one."""
    transport: httpx.BaseTransport | None = None
    if replay is not None:
        transport = ReplayTransport(replay)
    elif record is not None:
        transport = RecordingTransport(record, max_bytes=max_bytes)
    agent = (
        f"newsletter/{__version__} (+mailto:{contact})" if contact else f"newsletter/{__version__}"
    )
    client = httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": agent},
        follow_redirects=True,
        max_redirects=5,
    )
    # A replay answers the same every time, so retrying it only waits; a recording must see
    # every response, so neither reads the cache.
    return Http(
        client,
        max_bytes=max_bytes,
        retries=0 if replay is not None else retries,
        max_per_host=max_per_host,
        replaying=replay is not None,
        cache_dir=None if replay is not None or record is not None else cache_dir,
    )


# No count, id or date is this long; a longer integer is kept as its length, unconverted
# (Python refuses to convert more than 4,300 digits, and a huge one costs quadratic time).
MAX_INT_DIGITS = 40


@dataclass(frozen=True)
class HugeNumber:
    """A JSON integer too long to be any count: its digits are counted, not converted."""

    digits: int

    def __str__(self) -> str:
        return f"a {self.digits:,}-digit number"


def _parse_int(text: str) -> int | HugeNumber:
    digits = len(text) - text.startswith("-")
    return int(text) if digits <= MAX_INT_DIGITS else HugeNumber(digits)


def parse_json(data: bytes | str) -> object:
    """JSON from outside: a huge integer becomes a HugeNumber; too deep raises RecursionError."""
    return json.loads(data, parse_int=_parse_int)


def json_body(response: httpx.Response, source: str) -> object:
    """Parse a JSON body or raise a SourceError that says what came instead."""
    url = str(response.request.url)
    if not response.content.strip():
        raise SourceError(source, url, f"HTTP {response.status_code} with an empty body")
    try:
        return parse_json(response.content)
    except RecursionError:
        # Python's json has no depth limit of its own: it recurses until the interpreter stops.
        raise SourceError(
            source, url, f"JSON nested too deep to read ({len(response.content):,} bytes)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        head = response.content[:60].decode("utf-8", "replace").strip()
        kind = "HTML" if head.lower().startswith(("<!doctype", "<html")) else "not JSON"
        reason = (
            f"{exc.msg}: line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else str(exc)
        )
        raise SourceError(
            source, url, f"expected JSON, got {kind} ({reason}; starts {head[:40]!r})"
        ) from None
