"""Signed tokens for every link we mail out and every form we serve.

A token is ``n1.BODY.SIG``: BODY is the unpadded base64url of ``purpose, issue time, address,
nonce`` (one per line) and SIG the unpadded base64url of the first 18 bytes of
HMAC-SHA256(key, ``n1.BODY``). It says what it is for (a preferences token cannot confirm a
sign-up), when it was made (it is refused past its purpose's age), and is accepted only in
its canonical form: no padding, no characters outside base64url, no second spelling of the
same bytes. The key is at least 32 bytes (checked when the settings load).

Links mailed before dated tokens (``base64url(address).hex-signature``) are "legacy": they
can only unsubscribe, and only during the grace period the web settings give.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from ..errors import TokenError

VERSION = "n1"
PURPOSES = ("unsubscribe", "preferences", "confirm", "csrf")
MIN_KEY_BYTES = 32
_SIG_BYTES = 18  # 24 base64 characters: no padding to strip, no spare bits to vary
_B64 = re.compile(r"[A-Za-z0-9_-]+")
_LEGACY = re.compile(r"(?P<addr>[A-Za-z0-9_-]+)\.(?P<sig>[0-9a-f]{32})")


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    purpose: str
    subject: str  # the address (or, for csrf, the form's cookie nonce)
    issued: int  # Unix seconds
    nonce: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    """Decode unpadded base64url, refusing any text that is not the one canonical spelling."""
    if not _B64.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # The last character may carry spare bits: only the spelling with them zero is accepted.
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _sign(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()[:_SIG_BYTES])


def make_token(key: bytes, purpose: str, subject: str, issued: int, nonce: str = "") -> str:
    """A token for ``purpose`` about ``subject``, made at ``issued`` (Unix seconds)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if any(ch in "\n\r" for ch in subject + nonce):
        raise ValueError("a token's subject and nonce are one line each")
    body = _b64(f"{purpose}\n{issued}\n{subject}\n{nonce}".encode())
    return f"{VERSION}.{body}.{_sign(key, f'{VERSION}.{body}')}"


def read_token(key: bytes, token: str, purpose: str, max_age_s: float, now: float) -> Claims:
    """The claims of a token made for ``purpose`` and younger than ``max_age_s``.

    Raises TokenError saying why not: malformed, forged (or another key), made for another
    purpose, from the future, or expired.
    """
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise TokenError("malformed", "the link is cut short or is not one of ours")
    body, sig = parts[1], parts[2]
    try:
        raw = _unb64(body)
        _unb64(sig)
    except (ValueError, binascii.Error):
        raise TokenError(
            "malformed", "the link holds characters a link of ours never has"
        ) from None
    if not hmac.compare_digest(_sign(key, f"{VERSION}.{body}"), sig):
        raise TokenError("forged", "the link's signature does not match (changed, or not ours)")
    try:
        kind, issued_text, subject, nonce = raw.decode("utf-8").split("\n")
        issued = int(issued_text)
    except ValueError:
        raise TokenError("malformed", "the link's contents cannot be read") from None
    if kind != purpose:
        raise TokenError("purpose", f"this link is for {kind}, not {purpose}")
    if issued > now + 300:
        raise TokenError("forged", "the link claims to be made in the future")
    if now - issued > max_age_s:
        days = (now - issued) / 86400
        raise TokenError("expired", f"the link expired (made {days:.0f} days ago)")
    return Claims(kind, subject, issued, nonce)


def legacy_unsubscribe_token(email: str, key: bytes) -> str:
    """The undated ``base64url(address).signature`` links mailed before dated tokens."""
    addr = _b64(email.lower().encode())
    sig = hmac.new(key, email.lower().encode(), hashlib.sha256).hexdigest()[:32]
    return f"{addr}.{sig}"


def read_legacy_token(key: bytes, token: str) -> str:
    """The address of an undated unsubscribe link; TokenError when forged or malformed."""
    match = _LEGACY.fullmatch(token)
    if match is None:
        raise TokenError("malformed", "the link is cut short or is not one of ours")
    try:
        email = _unb64(match["addr"]).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TokenError(
            "malformed", "the link holds characters a link of ours never has"
        ) from None
    if not hmac.compare_digest(legacy_unsubscribe_token(email, key), token):
        raise TokenError("forged", "the link's signature does not match (changed, or not ours)")
    return email


def is_legacy(token: str) -> bool:
    """Whether ``token`` has the shape of an undated unsubscribe link."""
    return _LEGACY.fullmatch(token) is not None
