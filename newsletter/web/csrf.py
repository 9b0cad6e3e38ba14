"""CSRF protection for every form: a signed double-submit token.

A page with a form sets a random cookie (HttpOnly, SameSite=Strict) and puts a signed token
naming that cookie's value in the form. A POST is accepted only when the form's token is
ours, recent, and names the cookie the browser sent back: another site can make a browser
post, but can neither read our cookie nor sign a token for it.
"""

from __future__ import annotations

import hmac
import secrets

from ..errors import TokenError
from .links import CSRF_MAX_AGE_S, Links

COOKIE = "nl_csrf"
FIELD = "csrf"


def new_cookie() -> str:
    return secrets.token_urlsafe(18)


def form_token(links: Links, cookie: str) -> str:
    """The hidden field's value for a page whose cookie is ``cookie``."""
    return links.token("csrf", cookie)


def check(links: Links, cookie: str | None, field: str | None) -> None:
    """Raise TokenError unless ``field`` is our recent token for the ``cookie`` sent back."""
    if not cookie or not field:
        raise TokenError("csrf", "the form expired or cookies are off; reload the page and retry")
    claims = links.read(field, "csrf")
    # Links lower-cases subjects; the cookie is compared the same way.
    if not hmac.compare_digest(claims.subject, cookie.lower()):
        raise TokenError("csrf", "the form does not belong to this browser; reload the page")


def cookie_header(value: str, secure: bool) -> str:
    """The Set-Cookie value for the CSRF cookie."""
    flags = f"; Max-Age={CSRF_MAX_AGE_S}; Path=/; HttpOnly; SameSite=Strict"
    return f"{COOKIE}={value}{flags}{'; Secure' if secure else ''}"
