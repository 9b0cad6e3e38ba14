"""A local web page over the built variants: desktop and phone widths, and the text part.

Routes: ``/`` lists the variants (who gets which, sizes) with each one at 600 px and 375 px
beside its text part; ``/variant/KEY.html|.txt`` is one variant; ``/email/ADDRESS.html|.txt``
is one subscriber's email with their topics filled in. Serves 127.0.0.1 only.
"""

from __future__ import annotations

import html
import threading
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

from .config import Settings
from .errors import NewsletterError
from .files import read_model
from .models import Edition, Subscriber, Variant
from .render.labels import labels_for
from .subscribers import load_subscribers

# Where delivery puts each subscriber's unsubscribe link; the preview has no subscriber to sign for.
PREVIEW_UNSUBSCRIBE = "#unsubscribe-link-is-filled-in-per-subscriber"

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Preview {date}</title><style>
body{{font:14px system-ui,sans-serif;margin:20px;background:#f6f7f9;color:#222}}
section{{margin:0 0 44px}} .row{{display:flex;gap:20px;align-items:flex-start;flex-wrap:wrap}}
iframe{{border:1px solid #ccc;background:#fff;height:900px}}
pre{{white-space:pre-wrap;width:440px;height:900px;overflow:auto;background:#fff;
border:1px solid #ccc;margin:0;padding:8px;font-size:12px}}
h2{{font-size:16px;margin:0 0 4px}} .meta{{color:#555;margin:0 0 10px}} .over{{color:#b00}}
.label{{font-weight:600;margin:0 0 4px}}</style></head><body>
<h1>Edition {date}: {n} variant(s){who}</h1>
<p class="meta">Sizes are the HTML part as sent (after its transfer encoding); Gmail clips
past ~102 KB. Budget: {budget} KB.</p>{sections}</body></html>"""

_SECTION = """<section id="{key}"><h2>{key}</h2>
<p class="meta">{papers} papers · <span class="{size_class}">{size} KB html ({pct}% of
budget)</span> · {text_size} KB text{degraded} · {count} subscriber(s): {who}<br>
<a href="{src}">open alone</a> · <a href="{text_src}">text part</a></p><div class="row">
<div><p class="label">desktop 600 px</p><iframe title="{key} desktop" src="{src}"
 sandbox="allow-same-origin allow-popups" style="width:600px"></iframe></div>
<div><p class="label">phone 375 px</p><iframe title="{key} phone" src="{src}"
 sandbox="allow-same-origin allow-popups" style="width:375px"></iframe></div>
<div><p class="label">text part</p><pre>{text}</pre></div></div></section>"""


class Preview:
    """The built edition of one date and what the pages show."""

    def __init__(self, settings: Settings, edition_date: str) -> None:
        self.settings = settings
        self.paths = settings.layout.edition(edition_date)
        self.edition = read_model(self.paths.edition, Edition, "build")
        self.labels = labels_for(self.edition.language)

    def variant_of(self, email: str) -> Variant:
        for v in self.edition.variants:
            if email.lower() in {s.lower() for s in v.subscribers}:
                return v
        raise NewsletterError(
            f"{email} receives no variant of {self.edition.date} "
            "(not subscribed, or no paper matches their topics)"
        )

    def subscriber(self, email: str) -> Subscriber | None:
        for sub in load_subscribers(self.settings):
            if sub.email.lower() == email.lower():
                return sub
        return None

    def _read(self, v: Variant, suffix: str) -> str:
        path = self.paths.variants / f"{v.key}.{suffix}"
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NewsletterError(f"{path} is missing: run 'newsletter build --force'") from None

    def _topics(self, email: str | None) -> str:
        if email is None:
            return "(each subscriber's topics)"
        sub = self.subscriber(email)
        if sub is None:
            return "?"
        topics = ", ".join(sub.topics) if sub.topics else self.labels["all_topics"]
        return topics + (" (−" + ", ".join(sub.exclude) + ")" if sub.exclude else "")

    def body(self, v: Variant, suffix: str, email: str | None = None) -> str:
        """A variant's HTML or text with the per-subscriber values filled in for the preview."""
        content = self._read(v, suffix)
        topics = self._topics(email)
        if suffix == "html":
            topics = html.escape(topics)
        if v.topics_token:
            content = content.replace(v.topics_token, topics)
        if v.unsubscribe_token:
            content = content.replace(v.unsubscribe_token, PREVIEW_UNSUBSCRIBE)
        if v.preferences_token:
            content = content.replace(v.preferences_token, PREVIEW_UNSUBSCRIBE)
        return content

    def index(self, subscriber: str | None = None) -> str:
        """The page listing every variant (or only ``subscriber``'s email)."""
        budget = self.settings.edition.size_budget_kb
        chosen = [self.variant_of(subscriber)] if subscriber else self.edition.variants
        sections = []
        for v in chosen:
            src = f"/email/{quote(subscriber)}" if subscriber else f"/variant/{quote(v.key)}"
            pct = round(100 * v.html_bytes / (budget * 1000))
            sections.append(
                _SECTION.format(
                    key=html.escape(v.key),
                    papers=len(v.paper_ids),
                    size=round(v.html_bytes / 1000, 1),
                    pct=pct,
                    size_class="over" if pct > 100 else "ok",
                    text_size=round(v.text_bytes / 1000, 1),
                    degraded=" · shortened to fit" if v.degraded else "",
                    count=len(v.subscribers),
                    who=html.escape(", ".join(v.subscribers)),
                    src=html.escape(src + ".html"),
                    text_src=html.escape(src + ".txt"),
                    text=html.escape(self.body(v, "txt", subscriber)),
                )
            )
        who = f" — the email of {html.escape(subscriber)}" if subscriber else ""
        return _PAGE.format(
            date=html.escape(self.edition.date),
            n=len(sections),
            who=who,
            budget=budget,
            sections="".join(sections),
        )


def index_page(settings: Settings, edition: Edition, subscriber: str | None = None) -> str:
    """The index page of ``edition`` (kept for callers that hold an Edition)."""
    return Preview(settings, edition.date).index(subscriber)


def make_server(
    settings: Settings, edition_date: str, port: int = 0, subscriber: str | None = None
) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (``port`` 0 picks a free one); not started."""
    preview = Preview(settings, edition_date)
    index = preview.index(subscriber).encode("utf-8")
    keys = {v.key: v for v in preview.edition.variants}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = unquote(urlsplit(self.path).path)
            if path in ("/", "/index.html"):
                return self._send(200, "text/html", index)
            for prefix in ("/variant/", "/email/"):
                if not path.startswith(prefix):
                    continue
                name, _, suffix = path[len(prefix) :].rpartition(".")
                if suffix not in ("html", "txt"):
                    break
                try:
                    if prefix == "/variant/":
                        if name not in keys:
                            break
                        body = preview.body(keys[name], suffix)
                    else:
                        body = preview.body(preview.variant_of(name), suffix, name)
                except NewsletterError as exc:
                    return self._send(404, "text/plain", str(exc).encode("utf-8"))
                ctype = "text/html" if suffix == "html" else "text/plain"
                return self._send(200, ctype, body.encode("utf-8"))
            self._send(404, "text/plain", b"not found")

        def _send(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", f"{ctype}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    try:
        return ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        raise NewsletterError(f"preview: cannot listen on 127.0.0.1:{port}: {exc}") from None


def serve(
    settings: Settings,
    edition_date: str,
    *,
    port: int = 8025,
    subscriber: str | None = None,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
) -> None:
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
