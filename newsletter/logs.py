"""Logging for the command line: a level per ``-v``, talkative libraries kept at INFO, and
every line passed through a filter that removes secrets and what is derived from them.

The libraries that speak to outside services log whole requests at DEBUG: botocore its
SigV4 ``Authorization`` header, the signature on a line of its own and the request body (the
raw message, with the subscriber's address and signed unsubscribe link); urllib3, httpx and
openai their requests and headers. None of them goes below INFO, at any verbosity. The filter
is the second line: it replaces the values registered with ``protect`` (the settings'
secrets, the AWS credentials in force) and anything shaped like an authorization header,
signature, session token or signed link, whoever logs it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable

REDACTED = "[redacted]"
# Loggers of libraries that log requests, headers or bodies at DEBUG.
QUIET = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "httpx",
    "httpcore",
    "httpx2",
    "httpcore2",
    "openai",
)
# Shorter values are not worth a search (and would blank out ordinary words).
MIN_SECRET_CHARS = 4
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")

_secrets: set[str] = set()
_lock = threading.Lock()

_QUOTE = r"""['"]?"""
_PATTERNS = (
    # Authorization: AWS4-HMAC-SHA256 Credential=..., Signature=... / Bearer sk-... / Basic ...
    re.compile(rf"(?i)(authorization{_QUOTE}\s*[:=]\s*b?{_QUOTE})[^'\"\r\n}}]+", re.IGNORECASE),
    re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)((?:x-amz-security-token|x-amz-signature|x-amz-credential)"
        rf"{_QUOTE}\s*[:=]\s*b?{_QUOTE})[^'\"\s,&}}]+"
    ),
    re.compile(r"(Credential=)[^,\s/]+"),
    re.compile(r"(Signature[=:]\s*)[0-9a-f]{16,}"),
    re.compile(
        r"(?i)((?:api[_-]?key|password|secret|passwd)"
        rf"{_QUOTE}\s*[:=]\s*b?{_QUOTE})[^'\"\s,}}]+"
    ),
    re.compile(r"([?&]token=)[^&\s'\"<>]+"),
)


def protect(*values: str | None) -> None:
    """Never let these values (secrets, credentials) reach a log line."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= MIN_SECRET_CHARS)


def protect_environment(env: Iterable[str] = AWS_VARIABLES) -> None:
    """The AWS credentials set in the environment (boto3 may find others: see ``protect``)."""
    protect(*(os.environ.get(name) for name in env))


def redact(text: str) -> str:
    """``text`` without any protected value or secret-shaped part."""
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return text


class Redactor(logging.Filter):
    """Rewrites each record's message (and traceback) through ``redact``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact(record.getMessage())
        # A formatter prints exc_text when it is set, so the traceback is redacted there;
        # exc_info stays for whoever inspects the record.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg, record.args = message, None
        return True


_REDACTOR = Redactor()


def setup(verbose: int) -> None:
    """Logging for one command: WARNING, INFO (-v) or DEBUG (-vv and more) for our own lines;
    never below INFO for anyone else's."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
        # DEBUG is for our own lines: any other library stays at INFO at most.
        root.setLevel(max(level, logging.INFO))
        logging.getLogger("newsletter").setLevel(level)
    for handler in root.handlers:
        if _REDACTOR not in handler.filters:
            handler.addFilter(_REDACTOR)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    protect_environment()
