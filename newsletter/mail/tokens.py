"""Signed unsubscribe tokens: verifiable without a lookup, unforgeable without the key."""

from __future__ import annotations

import base64
import hashlib
import hmac


def unsubscribe_token(email: str, secret: str) -> str:
    """``base64url(email).signature``: verifiable without a lookup, unforgeable without the key."""
    addr = base64.urlsafe_b64encode(email.lower().encode()).decode().rstrip("=")
    sig = hmac.new(secret.encode(), email.lower().encode(), hashlib.sha256).hexdigest()[:32]
    return f"{addr}.{sig}"


def verify_unsubscribe_token(token: str, secret: str) -> str | None:
    """The address a token was made for, or None if it is forged or malformed."""
    try:
        addr_part, sig = token.strip().split(".", 1)
        email = base64.urlsafe_b64decode(addr_part + "=" * (-len(addr_part) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    expected = unsubscribe_token(email, secret).split(".", 1)[1]
    return email if hmac.compare_digest(expected, sig) else None
