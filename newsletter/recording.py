"""Record and replay of HTTP responses, and the size-capped body reading both sides share.

A recording is a folder with ``index.json`` (request key -> status, content type, body file)
and one body file per response. ``--record DIR`` writes one while the real services answer;
``--replay DIR`` answers every request from it, so the same collectors and parsers run offline.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

from .errors import SourceError
from .files import write_atomic

# Headers a recording keeps besides the content type, so replayed redirects and 429s behave.
REPLAYED_HEADERS = ("location", "retry-after")
_ENCODING_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


class BodyLimitError(Exception):
    """A body went over its size limit or its time limit while being read."""


def read_capped(
    response: httpx.Response,
    max_bytes: int,
    *,
    deadline_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> bytes:
    """The decoded body of a streamed response; BodyLimitError past ``max_bytes``/``deadline_s``."""
    chunks: list[bytes] = []
    size = 0
    started = clock()
    for chunk in response.iter_bytes():
        size += len(chunk)
        if deadline_s is not None and clock() - started > deadline_s:
            raise BodyLimitError(
                f"the body took over {deadline_s:g}s ({size:,} bytes so far); "
                "stopped (a stalled or dripping server)"
            )
        if size > max_bytes:
            raise BodyLimitError(f"response is over the {max_bytes:,}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def decoded_copy(response: httpx.Response, body: bytes, request: httpx.Request) -> httpx.Response:
    """A finished response holding ``body`` as read (already decoded)."""
    # iter_bytes() already decoded gzip/deflate: the copy must not announce an encoding or the
    # length on the wire.
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _ENCODING_HEADERS]
    return httpx.Response(response.status_code, headers=kept, content=body, request=request)


def request_key(method: str, url: httpx.URL | str) -> str:
    """A stable key for a request: method and URL with its query sorted."""
    u = httpx.URL(str(url))
    query = urlencode(sorted(u.params.multi_items()))
    base = str(u.copy_with(query=None, fragment=None))
    return f"{method.upper()} {base}{'?' + query if query else ''}"


class ReplayMissError(httpx.TransportError):
    """The recording holds no response for this request."""


def resolve_recording(name: str | Path) -> Path:
    """``sample`` names the recorded day shipped with the package; anything else is a folder."""
    if str(name) == "sample":
        return Path(str(resources.files("newsletter") / "samples" / "2026-06-12"))
    path = Path(name)
    if not (path / "index.json").is_file():
        raise SourceError("replay", str(path), "not a recording (no index.json)")
    return path


class ReplayTransport(httpx.BaseTransport):
    """Answers each request from a recording folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        index = folder / "index.json"
        try:
            loaded = json.loads(index.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise SourceError(
                "replay", str(index), f"not a readable recording index ({exc})"
            ) from None
        if not isinstance(loaded, dict) or not all(
            isinstance(v, dict) and "file" in v for v in loaded.values()
        ):
            raise SourceError(
                "replay",
                str(index),
                "not a recording index (expected an object "
                "of request -> {file, status, content_type})",
            )
        self.index: dict[str, dict[str, object]] = loaded

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = request_key(request.method, request.url)
        entry = self.index.get(key)
        if entry is None:
            raise ReplayMissError(f"no recorded response for {key} in {self.folder}")
        try:
            body = (self.folder / str(entry["file"])).read_bytes()
        except OSError as exc:
            raise ReplayMissError(f"the recording of {key} is unreadable ({exc})") from None
        headers = {"content-type": str(entry.get("content_type") or "application/octet-stream")}
        for name in REPLAYED_HEADERS:
            if entry.get(name):
                headers[name] = str(entry[name])
        return httpx.Response(
            int(str(entry["status"])), headers=headers, content=body, request=request
        )


class ResponseTooLargeError(httpx.TransportError):
    """A response grew past the size limit while being recorded."""


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to a real transport and saves every response into a recording."""

    def __init__(
        self, folder: Path, inner: httpx.BaseTransport | None = None, max_bytes: int = 25_000_000
    ) -> None:
        self.folder = folder
        self.inner = inner or httpx.HTTPTransport()
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        index_path = folder / "index.json"
        self.index: dict[str, dict[str, object]] = (
            json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else {}
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        try:
            body = read_capped(response, self.max_bytes)
        except BodyLimitError as exc:
            raise ResponseTooLargeError(f"{exc} (not recorded)") from None
        finally:
            response.close()
        key = request_key(request.method, request.url)
        host = urlsplit(str(request.url)).hostname or "host"
        ctype = response.headers.get("content-type", "")
        ext = (
            ".json"
            if "json" in ctype
            else ".xml"
            if "xml" in ctype
            else ".html"
            if "html" in ctype
            else ".pdf"
            if "pdf" in ctype
            else ".bin"
        )
        name = f"{host}/{hashlib.sha256(key.encode()).hexdigest()[:16]}{ext}"
        with self.lock:
            (self.folder / host).mkdir(parents=True, exist_ok=True)
            (self.folder / name).write_bytes(body)
            entry: dict[str, object] = {
                "status": response.status_code,
                "content_type": ctype,
                "file": name,
            }
            for header in REPLAYED_HEADERS:
                if response.headers.get(header):
                    entry[header] = response.headers[header]
            self.index[key] = entry
            write_atomic(
                self.folder / "index.json", json.dumps(self.index, indent=1, sort_keys=True)
            )
        return decoded_copy(response, body, request)

    def close(self) -> None:
        self.inner.close()
