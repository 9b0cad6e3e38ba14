"""A local web page over the built variants: desktop and phone widths, and the text part.

Routes: ``/`` lists the variants (who gets which, sizes) with each one at 600 px and 375 px
beside its text part; ``/variant/KEY.html|.txt`` is one variant; ``/email/ADDRESS.html|.txt``
is one subscriber's email with their topics filled in. Serves 127.0.0.1 only.

What it shows are the parts of the message delivery would hand the transport (built by the
same code, then parsed back), never the variant files themselves; only the unsubscribe link
is one that unsubscribes no one.
"""

from __future__ import annotations

import functools
import html
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

from .config import Settings
from .delivery.personalize import Personalizer
from .errors import NewsletterError
from .files import read_model
from .mail.parts import SentParts, sent_parts
from .models import Edition, Subscriber, Variant
from .render.labels import labels_for
from .routing import Routing, route
from .stages.deliver import load_variants, subject
from .subscribers import load_subscribers

SHOW_ADDRESSES = 20  # a variant's subscribers are listed by address up to this many

# Where delivery puts each subscriber's unsubscribe link; the preview has no subscriber to sign for.
PREVIEW_PREFERENCES = "#preferences-link-is-filled-in-per-subscriber"
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


@dataclass
class _PreviewPersonalizer(Personalizer):
    """Delivery's own message building, with a link that unsubscribes no one."""

    topics: str | None = None

    def links(self, email: str) -> tuple[str, str]:
        return PREVIEW_UNSUBSCRIBE, ""

    def preferences_link(self, email: str) -> str:
        return PREVIEW_PREFERENCES

    def topics_line(self, sub: Subscriber, language: str = "") -> str:
        return self.topics if self.topics is not None else super().topics_line(sub, language)


# Who the variant's own page is built for: each subscriber's topics are filled in per copy.
_ANYONE = Subscriber(email="preview@example.com", name="Preview")


class Preview:
    """The built edition of one date and what the pages show."""

    def __init__(self, settings: Settings, edition_date: str) -> None:
        self.settings = settings
        self.paths = settings.layout.edition(edition_date)
        self.edition = read_model(self.paths.edition, Edition, "build")
        self.labels = labels_for(self.edition.language)
        self._variants = load_variants(settings, self.edition)

    @functools.cached_property
    def routing(self) -> Routing:
        """Who gets which variant, from the lists as they are now (the stage files hold
        counts, not addresses)."""
        e = self.edition
        empty_day = not e.cards and bool(e.variants)
        return route(e.cards, self.subscribers, e.language, empty_day)

    @functools.cached_property
    def subscribers(self) -> list[Subscriber]:
        """The lists, read once for the preview."""
        return load_subscribers(self.settings)

    def variant_of(self, email: str) -> Variant:
        wanted = email.lower()
        key = next((k for e, k in self.routing.keys.items() if e.lower() == wanted), None)
        for v in self.edition.variants:
            if v.key == key:
                return v
        raise NewsletterError(
            f"{email} receives no variant of {self.edition.date} "
            "(not subscribed, or no paper matches their topics)"
        )

    def subscriber(self, email: str) -> Subscriber | None:
        for sub in self.subscribers:
            if sub.email.lower() == email.lower():
                return sub
        return None

    def who(self, v: Variant) -> str:
        """Who receives a variant: the topic choices, and the addresses of a short list."""
        choices = "; ".join(f"{p} ({n})" for p, n in v.profiles.items())
        group = self.routing.groups.get(v.key)
        if group is not None and len(group.emails) <= SHOW_ADDRESSES:
            return f"{choices}: {', '.join(sorted(group.emails))}" if choices else ""
        return choices

    def message(self, v: Variant, email: str | None = None) -> bytes:
        """The message delivery would send ``email`` (or anyone) of variant ``v``, as bytes."""
        sub = self.subscriber(email) if email else None
        topics = None if sub else "(each subscriber's topics)" if email is None else "?"
        personalizer = _PreviewPersonalizer(
            self.settings,
            self.edition.date,
            subject(self.edition),
            self.labels["all_topics"],
            topics=topics,
        )
        raw, _ = personalizer.message(self._variants[v.key], sub or _ANYONE)
        return raw

    def parts(self, v: Variant, email: str | None = None) -> SentParts:
        """The text and HTML parts of that message, read back out of its bytes."""
        return sent_parts(self.message(v, email))

    def body(self, v: Variant, suffix: str, email: str | None = None) -> str:
        """A variant's HTML or text part, as the message delivery builds carries it."""
        parts = self.parts(v, email)
        return parts.html if suffix == "html" else parts.text

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
                    count=v.subscriber_count,
                    who=html.escape(self.who(v)),
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
