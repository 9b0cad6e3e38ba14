"""The signed links of the list service: made for each email, read by ``serve`` and the CLI.

Ages: a confirm link lives ``web.confirm_max_age_hours``; unsubscribe and preferences links
``web.link_max_age_days``. Undated unsubscribe links (mailed before dated tokens) can only
unsubscribe, for ``web.legacy_grace_days`` after the store first saw dated ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from ..config import Settings
from ..errors import ConfigError, TokenError
from ..mail.tokens import Claims, is_legacy, make_token, read_legacy_token, read_token

DAY_S = 86400
CSRF_MAX_AGE_S = 2 * 3600


class Links:
    """Makes and reads the signed links and form tokens with the settings' key and ages."""

    def __init__(self, settings: Settings, now: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.now = now
        self.key = settings.secrets.signing_key
        w = settings.web
        self.max_age = {
            "confirm": w.confirm_max_age_hours * 3600.0,
            "unsubscribe": w.link_max_age_days * float(DAY_S),
            "preferences": w.link_max_age_days * float(DAY_S),
            "csrf": float(CSRF_MAX_AGE_S),
        }

    def _need_key(self) -> bytes:
        if not self.key:
            name = self.settings.delivery.unsubscribe_secret_env
            raise ConfigError(f"${name} is empty: it holds the key that signs links")
        return self.key

    def token(self, purpose: str, subject: str, nonce: str = "") -> str:
        """A fresh token for ``purpose`` about ``subject``."""
        return make_token(self._need_key(), purpose, subject.lower(), int(self.now()), nonce)

    def read(self, token: str, purpose: str) -> Claims:
        """The claims of a token for ``purpose``; TokenError saying why it is refused."""
        return read_token(self._need_key(), token, purpose, self.max_age[purpose], self.now())

    def _url(self, base: str, path: str, token: str) -> str:
        url = base.rstrip("/") + path
        return f"{url}{'&' if '?' in url else '?'}token={quote(token, safe='')}"

    def unsubscribe_base(self) -> str:
        """``delivery.unsubscribe_url``, else ``web.base_url``/unsubscribe, else ''."""
        d, w = self.settings.delivery, self.settings.web
        if d.unsubscribe_url:
            return d.unsubscribe_url
        return w.base_url.rstrip("/") + "/unsubscribe" if w.base_url else ""

    def unsubscribe_url(self, email: str) -> str:
        """The https link of an email's List-Unsubscribe header and footer ('' = none)."""
        base = self.unsubscribe_base()
        return self._url(base, "", self.token("unsubscribe", email)) if base else ""

    def preferences_url(self, email: str) -> str:
        """The footer's preferences link ('' without ``web.base_url``)."""
        base = self.settings.web.base_url
        return self._url(base, "/preferences", self.token("preferences", email)) if base else ""

    def confirm_url(self, email: str, nonce: str) -> str:
        return self._url(
            self.settings.web.base_url, "/confirm", self.token("confirm", email, nonce)
        )

    def read_unsubscribe(self, token: str, dated_since: str | None) -> str:
        """The address an unsubscribe link (dated, or undated within its grace) was made for.

        ``dated_since`` is when the store first opened with dated links (``list_meta``).
        """
        if not is_legacy(token):
            return self.read(token, "unsubscribe").subject
        email = read_legacy_token(self._need_key(), token)
        since = datetime.fromisoformat(dated_since) if dated_since else None
        if since is None:
            return email
        end = since + timedelta(days=self.settings.web.legacy_grace_days)
        if datetime.fromtimestamp(self.now(), UTC) > end:
            raise TokenError(
                "legacy",
                f"this link comes from an email sent before {since:%Y-%m-%d}; such links "
                f"stopped working on {end:%Y-%m-%d}. Use the link in a recent email, or reply "
                "to one with 'unsubscribe'",
            )
        return email
