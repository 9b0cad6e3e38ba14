"""Signed tokens: purpose, age, canonical form only, and the legacy links' grace period."""

from __future__ import annotations

import base64

import pytest

from newsletter.config import load_settings
from newsletter.errors import ConfigError, TokenError
from newsletter.mail.tokens import (
    legacy_unsubscribe_token,
    make_token,
    read_legacy_token,
    read_token,
)
from newsletter.web.links import Links

KEY = b"k" * 32
NOW = 1_780_000_000
DAY = 86400


def test_round_trip_carries_purpose_subject_time_and_nonce() -> None:
    token = make_token(KEY, "confirm", "reader@example.com", NOW, "n0nce")
    claims = read_token(KEY, token, "confirm", 3600, NOW + 10)
    assert (claims.purpose, claims.subject, claims.issued, claims.nonce) == (
        "confirm",
        "reader@example.com",
        NOW,
        "n0nce",
    )
    assert token.startswith("n1.") and "=" not in token


def test_forged_other_key_and_other_purpose_are_refused() -> None:
    token = make_token(KEY, "preferences", "reader@example.com", NOW)
    with pytest.raises(TokenError) as other_key:
        read_token(b"x" * 32, token, "preferences", DAY, NOW)
    assert other_key.value.reason == "forged"
    # Someone else's address with this token's signature.
    body = base64.urlsafe_b64encode(b"preferences\n1780000000\nboss@example.com\n").decode()
    forged = f"n1.{body.rstrip('=')}.{token.split('.')[2]}"
    with pytest.raises(TokenError) as swapped:
        read_token(KEY, forged, "preferences", DAY, NOW)
    assert swapped.value.reason == "forged"
    with pytest.raises(TokenError) as purpose:
        read_token(KEY, token, "unsubscribe", DAY, NOW)
    assert purpose.value.reason == "purpose" and "preferences" in str(purpose.value)


def test_expired_and_future_tokens_are_refused() -> None:
    token = make_token(KEY, "confirm", "reader@example.com", NOW)
    assert read_token(KEY, token, "confirm", 48 * 3600, NOW + 48 * 3600).subject
    with pytest.raises(TokenError) as late:
        read_token(KEY, token, "confirm", 48 * 3600, NOW + 48 * 3600 + 1)
    assert late.value.reason == "expired"
    with pytest.raises(TokenError) as early:
        read_token(KEY, token, "confirm", 48 * 3600, NOW - 3600)
    assert early.value.reason == "forged"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "=",  # padding added to the signature
        lambda t: t.replace(".", "=.", 2).replace("n1=.", "n1.", 1),  # padding in the body
        lambda t: t + " ",
        lambda t: " " + t,
        lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else t + "+",
        lambda t: t[:-1] + ("B" if t[-1] == "A" else "A"),  # last signature character changed
        lambda t: t.upper(),
        lambda t: "n2" + t[2:],
        lambda t: t + ".x",
        lambda t: t.replace(".", "", 1),
    ],
)
def test_only_the_canonical_spelling_is_accepted(mangle: object) -> None:
    token = make_token(KEY, "unsubscribe", "reader@example.com", NOW)
    other = mangle(token)  # type: ignore[operator]
    assert other != token
    with pytest.raises(TokenError):
        read_token(KEY, other, "unsubscribe", DAY, NOW)


def test_spare_bits_in_the_last_base64_character_are_refused() -> None:
    # 18 signature bytes fill 24 characters exactly; the body usually has spare bits.
    token = make_token(KEY, "unsubscribe", "ab@example.com", NOW)
    version, body, sig = token.split(".")
    assert len(body) % 4 != 0, "the test needs a body with spare bits"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = [
        body[:-1] + c
        for c in alphabet
        if c != body[-1]
        and base64.urlsafe_b64decode(body[:-1] + c + "=" * (-len(body) % 4))
        == base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    ]
    assert same_bytes, "some other character must decode to the same bytes"
    with pytest.raises(TokenError) as err:
        read_token(KEY, f"{version}.{same_bytes[0]}.{sig}", "unsubscribe", DAY, NOW)
    assert err.value.reason == "malformed"


def test_legacy_links_read_and_forgery_refused() -> None:
    token = legacy_unsubscribe_token("Reader@example.com", KEY)
    assert read_legacy_token(KEY, token) == "reader@example.com"
    with pytest.raises(TokenError):
        read_legacy_token(b"y" * 32, token)
    with pytest.raises(TokenError):
        read_legacy_token(KEY, token + "=")


def test_legacy_grace_period_counts_from_when_dated_links_began() -> None:
    settings = load_settings(None, env={"NEWSLETTER_UNSUBSCRIBE_SECRET": "s" * 32})
    old = legacy_unsubscribe_token("old@example.com", settings.secrets.signing_key)
    since = "2026-06-01T00:00:00+00:00"
    june_2 = 1780358400.0  # 2026-06-02
    links = Links(settings, now=lambda: june_2)
    assert links.read_unsubscribe(old, since) == "old@example.com"
    later = Links(settings, now=lambda: june_2 + 90 * DAY)
    with pytest.raises(TokenError) as err:
        later.read_unsubscribe(old, since)
    assert err.value.reason == "legacy"
    assert "before 2026-06-01" in str(err.value) and "stopped working on 2026-08-30" in str(
        err.value
    )
    # A legacy link can never open the preferences page.
    with pytest.raises(TokenError):
        links.read(old, "preferences")


def test_key_shorter_than_32_bytes_is_refused_when_settings_load() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, env={"NEWSLETTER_UNSUBSCRIBE_SECRET": "short-key"})
    message = str(err.value)
    assert "$NEWSLETTER_UNSUBSCRIBE_SECRET is 9 bytes" in message and "at least 32" in message
    assert "short-key" not in message
    assert load_settings(None, env={"NEWSLETTER_UNSUBSCRIBE_SECRET": "k" * 32}).secrets


def test_web_base_url_needs_https_and_the_key() -> None:
    key = {"NEWSLETTER_UNSUBSCRIBE_SECRET": "k" * 32}
    with pytest.raises(ConfigError, match="must be https"):
        load_settings(None, env={**key, "NEWSLETTER_WEB__BASE_URL": "http://news.example.com"})
    with pytest.raises(ConfigError, match="key that signs links"):
        load_settings(None, env={"NEWSLETTER_WEB__BASE_URL": "https://news.example.com"})
    ok = load_settings(None, env={**key, "NEWSLETTER_WEB__BASE_URL": "http://127.0.0.1:8080"})
    assert ok.web.base_url == "http://127.0.0.1:8080"
