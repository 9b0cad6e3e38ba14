"""The other end of the unsubscribe link: verify the signed token, record the status.

``unsubscribe_by_token`` is the function a web handler calls; ``make_app`` is a small WSGI app
doing exactly that (GET shows a confirm button, POST unsubscribes, as RFC 8058 one-click
expects), for ``newsletter subscribers serve-unsubscribe`` behind an HTTPS proxy.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from ..config import Settings
from ..errors import ConfigError
from ..mail.tokens import verify_unsubscribe_token
from ..store import Store


def signing_secret(settings: Settings) -> str:
    """The key that signs unsubscribe links; an error naming the variable when unset."""
    name = settings.delivery.unsubscribe_secret_env
    secret = settings.secrets.unsubscribe_key.get_secret_value()
    if not secret:
        raise ConfigError(f"${name} is empty: it holds the key that signs unsubscribe links")
    return secret


def verify_token(settings: Settings, token: str) -> str:
    """The address a token was signed for; ConfigError when forged or malformed."""
    email = verify_unsubscribe_token(token, signing_secret(settings))
    if email is None:
        raise ConfigError(
            f"unsubscribe token {token[:40]!r} is not valid (forged, truncated "
            "or signed with another key)"
        )
    return email


def unsubscribe_by_token(settings: Settings, store: Store, token: str) -> str:
    """Verify ``token`` and mark its address unsubscribed; returns the address."""
    email = verify_token(settings, token)
    store.set_status(email, "unsubscribed", "unsubscribe link")
    return email


_PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
    'content="width=device-width, initial-scale=1"><title>Unsubscribe</title></head>'
    '<body style="font-family: sans-serif; max-width: 32em; margin: 2em auto;">'
    "{body}</body></html>"
)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def make_app(
    settings: Settings, store: Store
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI app: GET ?token= shows a confirm button; POST ?token= unsubscribes."""
    secret = signing_secret(settings)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def reply(status: str, body: str) -> list[bytes]:
            start_response(
                status,
                [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            )
            return [_PAGE.format(body=body).encode("utf-8")]

        method = environ.get("REQUEST_METHOD", "GET")
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [""])[0]
        email = verify_unsubscribe_token(token, secret) if token else None
        if email is None:
            return reply("400 Bad Request", "<p>This unsubscribe link is not valid.</p>")
        if method == "POST":
            # One-click (RFC 8058) posts 'List-Unsubscribe=One-Click'; our own form posts
            # nothing else, so any POST with a valid token unsubscribes.
            store.set_status(email, "unsubscribed", "unsubscribe link")
            return reply("200 OK", f"<p>{html.escape(email)} is unsubscribed.</p>")
        if method in ("GET", "HEAD"):
            # Never unsubscribe on GET: mail scanners fetch links.
            return reply(
                "200 OK",
                f"<p>Unsubscribe {html.escape(email)}?</p>"
                '<form method="post"><button type="submit">Unsubscribe</button>'
                "</form>",
            )
        return reply("405 Method Not Allowed", "<p>Method not allowed.</p>")

    return app
