"""Checks that need more than one key, or the environment: run once, when settings load.

Each problem is (key path, message); the loader puts the file line or the variable that set
the key in front of the message. A bad value here stops every command before any stage runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import HeaderInjection
from ..mail.headers import safe_header, sender_domain
from ..mail.tokens import MIN_KEY_BYTES
from .sections import LANGUAGES, Settings

Problem = tuple[tuple[str, ...], str]

# The signed link must fit in one List-Unsubscribe header line (998 octets) with the token.
MAX_UNSUBSCRIBE_URL = 400


def problems(settings: Settings) -> Iterator[Problem]:
    """Every problem of ``settings`` as (key path, message)."""
    yield from _headers(settings)
    yield from _titles(settings)
    yield from _unsubscribe(settings)
    yield from _signing_key(settings)
    yield from _links(settings)
    yield from _service(settings)
    yield from _transport(settings)
    yield from _smtp(settings)
    yield from _llm(settings)
    yield from _topics(settings)
    yield from _templates(settings)


def _templates(settings: Settings) -> Iterator[Problem]:
    folder = settings.edition.templates_dir
    if folder and not Path(folder).is_dir():
        yield ("edition", "templates_dir"), f"edition.templates_dir: {folder} is not a folder"


def _headers(settings: Settings) -> Iterator[Problem]:
    d = settings.delivery
    # Values that end up in every message's headers: a bad one is a config error, not N failures.
    for key, value in (
        (("delivery", "from"), d.from_),
        (("delivery", "reply_to"), d.reply_to),
        (("delivery", "list_id"), d.list_id),
        (("delivery", "unsubscribe_url"), d.unsubscribe_url),
        (("delivery", "unsubscribe_mailto"), d.unsubscribe_mailto),
    ):
        try:
            safe_header(value, ".".join(key))
        except HeaderInjection as exc:
            yield key, str(exc)
    try:
        sender_domain(d.from_)
    except ValueError as exc:
        yield ("delivery", "from"), f"delivery.from: {exc}"


def _titles(settings: Settings) -> Iterator[Problem]:
    key = ("edition", "titles")
    for language, title in settings.edition.titles.items():
        if language not in LANGUAGES:
            known = ", ".join(LANGUAGES)
            yield key, f"edition.titles: unknown language {language!r} (known: {known})"
        elif not title.strip():
            yield key, f"edition.titles.{language} is empty"
        elif any(ord(c) < 32 or ord(c) == 127 for c in title):
            why = "it goes into the Subject header"
            yield (
                key,
                f"edition.titles.{language} contains a line break or control character ({why})",
            )


def _unsubscribe(settings: Settings) -> Iterator[Problem]:
    url, env = settings.delivery.unsubscribe_url, settings.delivery.unsubscribe_secret_env
    key = ("delivery", "unsubscribe_url")
    if not url:
        return
    if not url.startswith("https://"):
        why = "mail providers ignore others for one-click"
        yield key, f"delivery.unsubscribe_url: {url!r} must be an https:// link ({why})"
    if len(url) > MAX_UNSUBSCRIBE_URL:
        why = "the signed link must fit in one List-Unsubscribe header line"
        yield key, f"delivery.unsubscribe_url is over {MAX_UNSUBSCRIBE_URL} characters; {why}"
    if not settings.secrets.unsubscribe_key.get_secret_value():
        what = f"${env} (the key that signs unsubscribe links)"
        yield key, f"delivery.unsubscribe_url is set but {what} is empty"


def _signing_key(settings: Settings) -> Iterator[Problem]:
    env = settings.delivery.unsubscribe_secret_env
    size = len(settings.secrets.signing_key)
    if 0 < size < MIN_KEY_BYTES:
        how = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        yield (
            ("delivery", "unsubscribe_secret_env"),
            f"${env} is {size} bytes; the key that signs links needs at least "
            f"{MIN_KEY_BYTES} (make one with {how})",
        )
    if settings.web.base_url and not size:
        yield (
            ("web", "base_url"),
            f"web.base_url is set but ${env} (the key that signs links) is empty",
        )


def _links(settings: Settings) -> Iterator[Problem]:
    for key, url in (
        (("edition", "web_base_url"), settings.edition.web_base_url),
        (("archive", "base_url"), settings.archive.base_url),
    ):
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                yield key, f"{'.'.join(key)} {url!r}: expected an http(s) URL"
    url = settings.web.base_url
    if url:
        parts = urlsplit(url)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            why = "links in emails must be https:// (http only for 127.0.0.1 or localhost)"
            yield ("web", "base_url"), f"web.base_url {url!r}: {why}"
        elif not parts.netloc or parts.query or parts.fragment:
            yield ("web", "base_url"), f"web.base_url {url!r}: expected https://host[/path]"


def _service(settings: Settings) -> Iterator[Problem]:
    f = settings.feedback
    try:
        re.compile(f.sns_cert_url_pattern)
    except re.error as exc:
        yield (
            ("feedback", "sns_cert_url_pattern"),
            f"feedback.sns_cert_url_pattern is not a regular expression ({exc})",
        )
    if f.sns_topic_arn and not f.sns_topic_arn.startswith("arn:"):
        yield (
            ("feedback", "sns_topic_arn"),
            f"feedback.sns_topic_arn {f.sns_topic_arn!r}: not an ARN",
        )
    if f.queue_url and not f.queue_url.startswith(("https://", "http://")):
        yield ("feedback", "queue_url"), f"feedback.queue_url {f.queue_url!r}: not a queue URL"


def _transport(settings: Settings) -> Iterator[Problem]:
    from ..delivery.transports import TRANSPORTS

    name = settings.delivery.transport
    if name not in TRANSPORTS:
        known = ", ".join(sorted(TRANSPORTS))
        message = f"delivery.transport: unknown transport {name!r} (known: {known})"
        yield ("delivery", "transport"), message


def _smtp(settings: Settings) -> Iterator[Problem]:
    smtp = settings.delivery.smtp
    if settings.delivery.transport != "smtp" or not smtp.username:
        return
    if smtp.starttls or smtp.implicit_tls or smtp.allow_plaintext_login:
        return
    yield (
        ("delivery", "smtp", "starttls"),
        "delivery.smtp.starttls is false and the connection is not encrypted: the SMTP "
        f"password of {smtp.username!r} would go out in clear text; set starttls = true, or "
        "implicit_tls = true (port 465), or allow_plaintext_login = true for a relay on this "
        "machine",
    )


def _llm(settings: Settings) -> Iterator[Problem]:
    llm = settings.llm
    if not llm.base_url:
        return
    if not llm.base_url.startswith(("http://", "https://")):
        example = "e.g. http://localhost:11434/v1"
        yield (
            ("llm", "base_url"),
            f"llm.base_url {llm.base_url!r} is not an http(s) URL ({example})",
        )
    if not llm.model:
        what = f"name the model to use with llm.base_url {llm.base_url}"
        yield ("llm", "model"), f"llm.model is empty: {what}"


def _topics(settings: Settings) -> Iterator[Problem]:
    for name, rule in settings.topics.items():
        unknown = [t for t in rule.unless_topics if t not in settings.topics]
        if unknown:
            known = ", ".join(settings.topics)
            message = (
                f"topics.{name}.unless_topics: unknown topic {', '.join(map(repr, unknown))} "
                f"(topics: {known})"
            )
            yield ("topics", name, "unless_topics"), message
