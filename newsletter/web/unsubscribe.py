"""Reading an unsubscribe link and recording that its address left (``serve`` and the CLI)."""

from __future__ import annotations

from ..config import Settings
from ..errors import TokenError
from ..store import Store
from .links import Links


def verify_token(
    settings: Settings, token: str, store: Store | None = None, links: Links | None = None
) -> str:
    """The address an unsubscribe link was signed for; TokenError saying why not.

    Without ``store``, an undated (legacy) link is read without its grace period.
    """
    since = store.meta("dated_links_since") if store is not None else None
    try:
        return (links or Links(settings)).read_unsubscribe(token.strip(), since)
    except TokenError as exc:
        raise TokenError(exc.reason, f"unsubscribe link {token[:40]!r} refused: {exc}") from None


def unsubscribe_by_token(settings: Settings, store: Store, token: str, how: str) -> str:
    """Verify ``token`` and mark its address unsubscribed; returns the address."""
    email = verify_token(settings, token, store)
    store.set_status(email, "unsubscribed", how)
    return email
