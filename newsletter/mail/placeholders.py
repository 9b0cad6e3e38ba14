"""The per-recipient values a rendered variant leaves open, filled in at delivery.

Each is random per render, so no paper text can contain one by accident; the unsubscribe
placeholder is a URL on the reserved ``.invalid`` domain, so an unfilled one never resolves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Placeholders:
    """The unsubscribe link, the subscriber's topics and their preferences link, as they
    stand in a rendered body (the preferences link only when the web app is configured)."""

    unsubscribe: str
    topics: str
    preferences: str = ""

    @classmethod
    def new(cls, nonce: str | None = None) -> Placeholders:
        """Fresh placeholders (``nonce`` fixed for reproducible output such as golden files)."""
        nonce = nonce or secrets.token_hex(6)
        return cls(
            f"https://unsubscribe.invalid/{nonce}",
            f"%%TOPICS-{nonce}%%",
            f"https://preferences.invalid/{nonce}",
        )
