"""Every exception the library raises, and what each means.

Errors meant for the user (the CLI prints the message as one line and exits 1)::

    NewsletterError
    ├── ConfigError          a setting, an environment variable, a subscriber list or a
    │                        command-line value is wrong (names the file, line, key or option)
    ├── SourceError          an outside source answered badly (names source, URL, what)
    ├── LLMError             the LLM endpoint failed or its answer could not be used
    │   ├── EndpointUnavailable    down, timing out or answering 5xx: fall back, go on
    │   │   └── RequestRejected    400 for one request (e.g. a paper too long): that paper
    │   └── EndpointRefused        401/403/404: a wrong key or model; stops the run
    ├── RenderError          a template or the size budget failed
    ├── StageError           a stage file is missing or does not match its contract
    ├── StoreError           the SQLite store (data/newsletter.db) is damaged, locked or unusable
    ├── Busy                 another command holds the edition date's lock (names it)
    ├── DeliveryError        delivery cannot go on
    │   └── DeliveryStopped  the run stopped early; carries the run's Summary
    ├── TokenError           a signed link or form token is malformed, forged, expired, made
    │                        for another purpose or already used (``reason`` says which)
    └── FeedbackError        the bounce/complaint queue or an SNS message cannot be used

What one transport call can end in (``delivery.sender`` turns each into a ledger state;
they never reach the user as such)::

    TransportError
    ├── Throttled    slow down and retry; never a failure (SES 429, SMTP 421/454)
    ├── Transient    retry with backoff up to a limit (5xx, connection refused or reset)
    ├── Permanent    this recipient cannot be sent to (MessageRejected, SMTP 5xx): failed
    ├── Unknown      the request went out but no answer came: the outcome is unknown
    └── Fatal        stop the whole run now (sending paused, bad credentials); nothing sent

``HeaderInjection`` (a ``ValueError``) marks a value that would break out of its header line.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """Base of every error meant for the user (the CLI exits 1 with its message)."""


class ConfigError(NewsletterError):
    """A setting, environment variable, subscriber entry or option value is invalid."""


class SourceError(NewsletterError):
    """An outside source failed; the message names the source and the URL."""

    def __init__(self, source: str, url: str, problem: str) -> None:
        self.source, self.url, self.problem = source, url, problem
        super().__init__(f"{source}: {problem} ({short_url(url)})")


def short_url(url: str, limit: int = 160) -> str:
    """The URL for a message; a long query (50 arXiv ids) is cut so the line stays readable."""
    if len(url) <= limit:
        return url
    return f"{url[: limit - 20]}… ({len(url):,} characters)"


class LLMError(NewsletterError):
    """The LLM endpoint failed or answered with something unusable."""


class EndpointUnavailable(LLMError):
    """The endpoint is down, timing out or failing after retries (fall back, go on)."""


class RequestRejected(EndpointUnavailable):
    """The endpoint refused this one request (HTTP 400, e.g. a context too long)."""


class EndpointRefused(LLMError):
    """401/403/404: a wrong key, URL or model; every other request would fail alike."""


class RenderError(NewsletterError):
    """Rendering failed, or a variant is over the size budget."""


class StageError(NewsletterError):
    """A stage file is missing or does not match its contract."""


class StoreError(NewsletterError):
    """The SQLite store cannot be read or written; the message names the db file."""


class Busy(NewsletterError):
    """Another command is working on the same edition date (its lock is held)."""


class DeliveryError(NewsletterError):
    """A failure that stops the whole delivery run."""


class TokenError(NewsletterError):
    """A signed token was refused; ``reason`` is one word (malformed, forged, expired, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class FeedbackError(NewsletterError):
    """Bounce and complaint feedback cannot be read (the queue, an SNS message, a certificate)."""


class TransportError(Exception):
    """Base of what a transport raises for one message."""


class Throttled(TransportError):
    """Slow down and retry; not a failure (SES 429 / TooManyRequests / Throttling)."""


class Transient(TransportError):
    """Retry with backoff up to a limit (5xx, connection errors)."""


class Permanent(TransportError):
    """This recipient cannot be sent to (MessageRejected, invalid address): record, go on."""


class Fatal(TransportError):
    """Stop the whole run now (sending paused, account suspended, bad credentials)."""


class Unknown(TransportError):
    """The request went out but no answer came (read timeout): it may have been sent.

    The ledger keeps such a row in ``sending`` (unknown) rather than guess: resending risks
    a duplicate, dropping it risks a loss, so ``send --retry-unknown`` decides.
    """


class HeaderInjection(ValueError):
    """A value meant for a header carries CR, LF or another control character."""
