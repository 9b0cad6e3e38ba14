"""The shared HTTP client against a real local server: retries, pacing, limits, cache, replay."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from newsletter import __version__
from newsletter.errors import SourceError
from newsletter.http import Http, json_body, make_http, retry_after_seconds
from newsletter.recording import request_key, resolve_recording


class Sleeps(list[float]):
    """Records the client's sleeps instead of waiting, and is its clock: a sleep advances it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.frozen = False

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if not self.frozen:
            self.now += seconds

    def clock(self) -> float:
        return self.now


def client(**kw: object) -> tuple[Http, Sleeps]:
    sleeps = Sleeps()
    timeout = float(kw.pop("timeout", 5.0))  # type: ignore[arg-type]
    http = Http(
        httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5),
        sleep=sleeps,
        clock=sleeps.clock,
        **kw,
    )  # type: ignore[arg-type]
    return http, sleeps


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Held handlers wait on this; it is set at teardown so no server thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def threaded() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_user_agent_names_the_contact(httpserver: HTTPServer) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("User-Agent", ""))
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/ua").respond_with_handler(handler)
    with make_http(contact="me@lab.example", retries=0) as http:
        http.get(httpserver.url_for("/ua"), source="test")
    assert seen == [f"newsletter/{__version__} (+mailto:me@lab.example)"]


def test_429_then_200_honors_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/api").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    httpserver.expect_ordered_request("/api").respond_with_json([1, 2])
    http, sleeps = client(retries=3)
    response = http.get(httpserver.url_for("/api"), source="arxiv")
    assert response.status_code == 200 and json_body(response, "arxiv") == [1, 2]
    assert sleeps == [7.0]
    assert http.requests == 2


def test_5xx_retried_with_exponential_backoff_then_given_up(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down").respond_with_data("oops", status=503)
    http, sleeps = client(retries=2, backoff_base_s=0.5)
    response = http.get(httpserver.url_for("/down"), source="hf")
    assert response.status_code == 503
    assert list(sleeps) == [0.5, 1.0]
    assert len(httpserver.log) == 3


def test_timeout_is_retried_then_names_source_and_url(
    threaded: HTTPServer, release: threading.Event
) -> None:
    def slow(request: Request) -> Response:
        release.wait(30)  # answers only after the test: every attempt must time out
        return Response("late")

    threaded.expect_request("/slow").respond_with_handler(slow)
    http, sleeps = client(retries=1, timeout=0.15)
    url = threaded.url_for("/slow")
    with pytest.raises(SourceError) as err:
        http.get(url, source="arxiv-html")
    assert err.value.source == "arxiv-html" and err.value.url == url
    assert "timed out" in str(err.value) and ", 2 attempts" in str(err.value)
    assert len(sleeps) == 1


def test_30_mb_response_is_refused_by_its_declared_length(httpserver: HTTPServer) -> None:
    body = b"%PDF-1.5\n" + b"0" * 30_000_000
    httpserver.expect_request("/big.pdf").respond_with_data(body, content_type="application/pdf")
    http, _ = client(retries=0)  # default limit: 25 MB
    with pytest.raises(SourceError) as err:
        http.get(httpserver.url_for("/big.pdf"), source="arxiv-pdf")
    assert "30,000,009 bytes is over the 25,000,000-byte limit" in str(err.value)
    assert httpserver.url_for("/big.pdf") in str(err.value)


def test_streamed_response_without_length_is_cut_at_the_limit(httpserver: HTTPServer) -> None:
    def chunks(request: Request) -> Response:
        return Response((b"x" * 1024 for _ in range(64)), direct_passthrough=True)

    httpserver.expect_request("/stream").respond_with_handler(chunks)
    http, _ = client(retries=0, max_bytes=10_000)
    with pytest.raises(SourceError, match="over the 10,000-byte limit"):
        http.get(httpserver.url_for("/stream"), source="feed:x")


def test_redirect_loop_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/b")}
    )
    httpserver.expect_request("/b").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/a")}
    )
    http, _ = client()
    with pytest.raises(SourceError, match="too many redirects") as err:
        http.get(httpserver.url_for("/a"), source="feed:loop")
    assert err.value.source == "feed:loop"


def test_bad_json_bodies_say_what_came(httpserver: HTTPServer) -> None:
    http, _ = client(retries=0)
    cases = {
        "/truncated": ('[{"paper": {"id": "2606.00001"', "Expecting"),
        "/html": ("<!DOCTYPE html><html><body>Sign in</body></html>", "got HTML"),
        "/empty": ("", "empty body"),
    }
    for path, (body, expected) in cases.items():
        httpserver.expect_request(path).respond_with_data(body)
        response = http.get(httpserver.url_for(path), source="huggingface")
        with pytest.raises(SourceError) as err:
            json_body(response, "huggingface")
        assert expected in str(err.value), path
        assert err.value.url == httpserver.url_for(path)


def test_per_host_interval_spaces_requests(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/q").respond_with_data("ok")
    http, sleeps = client()
    http.set_interval(httpserver.url_for("/q"), 3.0)
    for _ in range(3):
        http.get(httpserver.url_for("/q"), source="arxiv")
    # The first goes at once; each later one waits for its slot.
    assert sleeps == [3.0, 3.0]


def test_per_host_interval_counts_from_the_previous_request(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/q").respond_with_data("ok")
    http, sleeps = client()
    http.set_interval(httpserver.url_for("/q"), 3.0)
    http.get(httpserver.url_for("/q"), source="arxiv")
    sleeps.now += 2.0  # the caller spent 2 s elsewhere: only the rest of the interval is owed
    http.get(httpserver.url_for("/q"), source="arxiv")
    sleeps.now += 5.0  # longer than the interval: no wait at all
    http.get(httpserver.url_for("/q"), source="arxiv")
    assert sleeps == [1.0]


def test_retry_after_pushes_back_the_whole_host(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/a").respond_with_data(
        "", status=429, headers={"Retry-After": "5"}
    )
    httpserver.expect_ordered_request("/a").respond_with_data("a")
    httpserver.expect_ordered_request("/b").respond_with_data("b")
    http, sleeps = client()
    sleeps.frozen = True
    http.get(httpserver.url_for("/a"), source="arxiv")
    http.get(httpserver.url_for("/b"), source="arxiv")
    # The frozen clock makes /b's turn show: the host was pushed back, not only /a's retry.
    assert sleeps == [5.0, 5.0]


def test_concurrency_is_bounded_per_host(threaded: HTTPServer) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    two_in = threading.Event()

    def handler(request: Request) -> Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            if state["now"] >= 2:
                two_in.set()
        # The first request waits for a second to arrive, so the limit is really reached;
        # the short sleep then gives a third (if the limit leaked) time to show up.
        two_in.wait(30)
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Response("ok")

    threaded.expect_request("/repo").respond_with_handler(handler)
    http, _ = client(max_per_host=2)
    threads = [
        threading.Thread(
            target=http.get, args=(threaded.url_for("/repo"),), kwargs={"source": "github"}
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["max"] == 2
    assert len(threaded.log) == 8


def test_immutable_responses_are_cached_on_disk(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/html/2606.00001v2").respond_with_data("<html>v2</html>")
    http, _ = client(cache_dir=tmp_path / "cache")
    url = httpserver.url_for("/html/2606.00001v2")
    first = http.get(url, source="arxiv-html", immutable=True)
    second = http.get(url, source="arxiv-html", immutable=True)
    assert first.content == second.content == b"<html>v2</html>"
    assert len(httpserver.log) == 1 and http.cache_hits == 1
    assert len(list((tmp_path / "cache").rglob("*"))) == 2  # one folder, one file


def test_errors_are_not_cached(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/pdf/1").respond_with_data("", status=404)
    http, _ = client(cache_dir=tmp_path / "cache")
    for _ in range(2):
        assert http.get(httpserver.url_for("/pdf/1"), source="p", immutable=True).status_code == 404
    assert len(httpserver.log) == 2


def test_record_then_replay_answers_every_request_offline(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request(
        "/api/daily_papers", query_string="date=2026-06-12&limit=2"
    ).respond_with_json([{"paper": {"id": "2606.00001"}}])
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_data(
        "<feed/>", content_type="application/atom+xml"
    )
    rec = tmp_path / "rec"
    with make_http(record=rec, retries=0) as http:
        live = http.get(
            httpserver.url_for("/api/daily_papers"),
            source="hf",
            params={"limit": 2, "date": "2026-06-12"},
        )
        moved = http.get(httpserver.url_for("/old"), source="feed:x")
    index = json.loads((rec / "index.json").read_text())
    assert request_key("GET", live.request.url) in index
    assert moved.content == b"<feed/>"
    httpserver.clear()  # the server no longer answers: everything must come from the folder
    with make_http(replay=resolve_recording(rec)) as http:
        again = http.get(
            httpserver.url_for("/api/daily_papers"),
            source="hf",
            params={"date": "2026-06-12", "limit": 2},
        )
        assert again.content == live.content
        assert http.get(httpserver.url_for("/old"), source="feed:x").content == b"<feed/>"
        with pytest.raises(SourceError, match="no recorded response") as err:
            http.get(httpserver.url_for("/never"), source="github")
    assert err.value.source == "github"
    assert len(httpserver.log) == 0


def test_replay_folder_must_be_a_recording(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a recording"):
        resolve_recording(tmp_path)
    assert (resolve_recording("sample") / "index.json").is_file()


@pytest.mark.parametrize("url", ["localhost:8000/api", "ftp://example.org/x", "http://[::1"])
def test_invalid_url_names_source_and_url(url: str) -> None:
    http, _ = client()
    with pytest.raises(SourceError, match="invalid URL") as err:
        http.get(url, source="huggingface")
    assert err.value.url == url and err.value.source == "huggingface"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_responses_are_decoded_once(httpserver: HTTPServer, encoding: str) -> None:
    import gzip
    import zlib

    body = b'[{"paper": {"id": "2606.00001"}}]' * 100
    packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    httpserver.expect_request("/api").respond_with_data(
        packed, headers={"Content-Encoding": encoding}, content_type="application/json"
    )
    with make_http(retries=0) as http:
        response = http.get(httpserver.url_for("/api"), source="huggingface")
    assert response.content == body
    assert "content-encoding" not in response.headers


def test_recording_gzip_responses_saves_them_decoded(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    import gzip

    body = json.dumps([{"paper": {"id": "2606.00001", "title": "T"}}]).encode()
    httpserver.expect_request("/api/daily_papers").respond_with_data(
        gzip.compress(body), headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    with make_http(record=tmp_path / "rec", retries=0) as http:
        live = http.get(httpserver.url_for("/api/daily_papers"), source="huggingface")
    assert live.content == body
    httpserver.clear()
    with make_http(replay=tmp_path / "rec") as http:
        again = http.get(httpserver.url_for("/api/daily_papers"), source="huggingface")
    assert again.content == body


def test_recording_refuses_a_response_over_the_limit(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    def chunks(request: Request) -> Response:
        return Response((b"x" * 1024 for _ in range(64)), direct_passthrough=True)

    httpserver.expect_request("/big").respond_with_handler(chunks)
    with (
        make_http(record=tmp_path / "rec", retries=0, max_bytes=10_000) as http,
        pytest.raises(SourceError, match="over the 10,000-byte limit \\(not recorded\\)"),
    ):
        http.get(httpserver.url_for("/big"), source="arxiv-pdf")
    assert not (tmp_path / "rec" / "index.json").exists()


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = datetime(2026, 6, 12, 8, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(" 1.5 ", now) == 1.5
    assert retry_after_seconds("-3", now) == 0.0
    assert retry_after_seconds("Fri, 12 Jun 2026 08:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Fri, 12 Jun 2026 07:59:00 GMT", now) == 0.0  # already past
    for unusable in (None, "", "soon", "inf", "nan"):
        assert retry_after_seconds(unusable, now) is None, unusable
