"""A local web page over the built variants: desktop and phone widths, and the text part."""

from __future__ import annotations

import html
import threading
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .config import Settings
from .errors import NewsletterError
from .models import Edition
from .pipeline import Paths, read_model

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Preview {date}</title><style>
body{{font:14px system-ui,sans-serif;margin:20px;background:#f6f7f9;color:#222}}
section{{margin:0 0 40px}} .row{{display:flex;gap:20px;align-items:flex-start;flex-wrap:wrap}}
iframe{{border:1px solid #ccc;background:#fff;height:900px}}
pre{{white-space:pre-wrap;width:420px;height:900px;overflow:auto;background:#fff;
border:1px solid #ccc;margin:0;padding:8px;font-size:12px}}
h2{{font-size:16px}} small{{color:#666}}</style></head><body>
<h1>Edition {date}: {n} variant(s)</h1>{sections}</body></html>"""

_SECTION = """<section id="{key}"><h2>{key}</h2>
<p><small>{papers} papers · {size} KB html · {text_size} KB text · {count} subscriber(s):
{who}</small></p><div class="row">
<div><div>desktop 600px</div><iframe title="{key} desktop" src="/variant/{key}.html"
 style="width:600px"></iframe></div>
<div><div>phone 375px</div><iframe title="{key} phone" src="/variant/{key}.html"
 style="width:375px"></iframe></div>
<div><div>text part</div><pre>{text}</pre></div></div></section>"""


def index_page(settings: Settings, edition: Edition, subscriber: str | None = None) -> str:
    paths = Paths.of(settings, edition.date)
    sections = []
    for v in edition.variants:
        if subscriber and subscriber.lower() not in {s.lower() for s in v.subscribers}:
            continue
        text = (paths.variants / f"{v.key}.txt").read_text(encoding="utf-8")
        sections.append(_SECTION.format(
            key=html.escape(v.key), papers=len(v.paper_ids), size=round(v.html_bytes / 1000, 1),
            text_size=round(v.text_bytes / 1000, 1), count=len(v.subscribers),
            who=html.escape(", ".join(v.subscribers)), text=html.escape(text)))
    if subscriber and not sections:
        raise NewsletterError(f"{subscriber} receives no variant of {edition.date} "
                              "(not subscribed, or no paper matches their topics)")
    return _PAGE.format(date=html.escape(edition.date), n=len(sections),
                        sections="".join(sections))


def make_server(settings: Settings, edition_date: str, port: int = 0,
                subscriber: str | None = None) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (``port`` 0 picks a free one); not started."""
    edition = read_model(Paths.of(settings, edition_date).edition, Edition, "build")
    index = index_page(settings, edition, subscriber).encode("utf-8")
    variant_dir = Paths.of(settings, edition_date).variants
    keys = {v.key for v in edition.variants}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = urlsplit(self.path).path
            if path in ("/", "/index.html"):
                return self._send(200, "text/html; charset=utf-8", index)
            if path.startswith("/variant/") and path.endswith(".html"):
                key = path[len("/variant/"):-len(".html")]
                if key in keys:
                    body = (variant_dir / f"{key}.html").read_bytes()
                    return self._send(200, "text/html; charset=utf-8", body)
            self._send(404, "text/plain; charset=utf-8", b"not found")

        def _send(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    try:
        return ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        raise NewsletterError(f"preview: cannot listen on 127.0.0.1:{port}: {exc}") from None


def serve(settings: Settings, edition_date: str, *, port: int = 8025,
          subscriber: str | None = None, open_browser: bool = True,
          announce: Callable[[str], None] = print) -> None:
    """Serve until interrupted."""
    server = make_server(settings, edition_date, port, subscriber)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    announce(f"preview of {edition_date} at {url} (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
