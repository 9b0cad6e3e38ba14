"""What the web pages do, without HTTP: sign-up (double opt-in), confirm, preferences and
unsubscribe, each deciding from the store and the signed link alone.

Sign-up answers the same whatever the address: whether a confirmation goes out (a new
address) or not (already subscribed, suppressed, asked too often) is logged, never shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import TokenError
from ..models import Subscriber
from ..render.labels import LABELS
from ..store import Preferences, Store
from ..subscribers import list_files, load, normalize_email, subscribers_folder
from .links import Links

log = logging.getLogger(__name__)

HOUR_S = 3600.0


@dataclass(frozen=True)
class SignupResult:
    """``accepted`` (the same page whether or not a mail goes out), ``invalid`` or ``busy``
    (this client asked too often); ``email``/``nonce`` are set when a confirmation is due."""

    outcome: str
    problem: str = ""
    email: str = ""
    nonce: str = ""


@dataclass(frozen=True)
class Current:
    """What the preferences page shows for an address."""

    email: str
    topics: list[str]
    exclude: list[str]
    language: str | None
    paused: bool
    status: str  # active | unsubscribed | bounced | complained


class ListService:
    """Sign-up, confirm, preferences and unsubscribe over the store."""

    def __init__(self, settings: Settings, store: Store, links: Links) -> None:
        self.settings, self.store, self.links = settings, store, links
        self._lists: tuple[tuple[tuple[str, float], ...], dict[str, Subscriber]] | None = None

    @property
    def topics(self) -> list[str]:
        return list(self.settings.topics)

    def listed(self) -> dict[str, Subscriber]:
        """The list files' subscribers by lower-cased address (re-read when a file changes)."""
        folder = subscribers_folder(self.settings)
        stamp = tuple((str(p), p.stat().st_mtime) for p in list_files(folder))
        if self._lists is None or self._lists[0] != stamp:
            subs = load(Path(folder), set(self.settings.topics))
            self._lists = (stamp, {s.email.lower(): s for s in subs})
        return self._lists[1]

    def check_choice(self, topics: list[str], language: str | None) -> str:
        """'' when the topics and language are configured ones, else the problem."""
        unknown = sorted(set(topics) - set(self.settings.topics))
        if unknown:
            return f"unknown topic(s): {', '.join(unknown)}"
        if language is not None and language not in LABELS:
            return f"unknown language {language!r}"
        return ""

    def signup(
        self, address: str, topics: list[str], language: str | None, client: str
    ) -> SignupResult:
        """Decide about one sign-up request; the caller mails the confirmation when due."""
        w = self.settings.web
        try:
            email = normalize_email(address).lower()
        except ValueError as exc:
            return SignupResult("invalid", f"{address!r} is not an email address ({exc})")
        problem = self.check_choice(topics, language)
        if problem:
            return SignupResult("invalid", problem)
        if not self.store.hit("signup-client", client, w.signup_per_client, HOUR_S):
            log.warning(
                "sign-up refused: client %s passed %d per hour", client, w.signup_per_client
            )
            return SignupResult("busy", "too many sign-ups from your network; try again later")
        why = self._no_mail_reason(email)
        if why:
            log.info("sign-up for %s: no confirmation sent (%s)", email, why)
            return SignupResult("accepted")
        window = w.confirm_max_age_hours * HOUR_S
        if not self.store.hit("signup-address", email, w.signup_per_address, window):
            log.warning(
                "sign-up for %s: no confirmation sent (already sent %d within %dh)",
                email,
                w.signup_per_address,
                w.confirm_max_age_hours,
            )
            return SignupResult("accepted")
        nonce = self.store.request_signup(
            email, Preferences(email, topics, [], language, False, "")
        )
        log.info("sign-up for %s: confirmation due", email)
        return SignupResult("accepted", email=email, nonce=nonce)

    def _no_mail_reason(self, email: str) -> str:
        status = self.store.status_of(email)
        if status in ("bounced", "complained"):
            return f"address is {status}"
        signup = self.store.signup(email)
        confirmed = signup is not None and signup.state == "confirmed"
        if status == "active" and (confirmed or email in self.listed()):
            return "already subscribed"
        return ""

    def confirm(self, token: str) -> tuple[str, str]:
        """(outcome, address): confirmed, or used (the link was used or replaced by a newer
        one: nothing changes). TokenError for a forged or expired link."""
        claims = self.links.read(token, "confirm")
        email = claims.subject
        if not self.store.confirm_signup(email, claims.nonce):
            signup = self.store.signup(email)
            state = signup.state if signup else "unknown"
            log.warning("confirm link for %s refused: already used or replaced (%s)", email, state)
            raise TokenError(
                "used",
                "this confirmation link was already used, or a newer one replaced it; "
                "nothing was changed",
            )
        if self.store.status_of(email) != "active":
            self.store.set_status(email, "active", "confirmed a web sign-up")
        log.info("sign-up confirmed: %s", email)
        return "confirmed", email

    def current(self, email: str) -> Current:
        """The address's choices as the next edition will use them."""
        saved = self.store.preferences().get(email)
        status = self.store.status_of(email)
        if saved is not None:
            return Current(email, saved.topics, saved.exclude, saved.language, saved.paused, status)
        sub = self.listed().get(email)
        if sub is not None:
            return Current(email, list(sub.topics), list(sub.exclude), sub.language, False, status)
        return Current(email, [], [], None, False, status)

    def save(self, email: str, topics: list[str], language: str | None, paused: bool) -> None:
        """Keep the preferences page's choices (they win over the list files)."""
        before = self.current(email)
        self.store.set_preferences(Preferences(email, topics, before.exclude, language, paused, ""))
        if before.status == "unsubscribed":
            self.store.set_status(email, "active", "resubscribed on the preferences page")
        log.info(
            "preferences of %s: topics=%s language=%s paused=%s", email, topics, language, paused
        )

    def unsubscribe(self, email: str, how: str) -> None:
        self.store.set_status(email, "unsubscribed", how)
        log.info("unsubscribed %s (%s)", email, how)
