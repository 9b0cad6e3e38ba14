"""The exceptions the library raises; the CLI turns each into one line and a non-zero exit.

NewsletterError
├── ConfigError      a settings file, env variable or subscriber list is wrong
├── SourceError      an outside source answered badly (names source, URL, what)
├── LLMError         the LLM endpoint failed or its answer could not be used
├── RenderError      a template or the size budget failed
├── DeliveryError    a transport failed in a way that stops the run
├── StageError       a stage's input file is missing or does not match its contract
└── StoreError       the delivery ledger (data/newsletter.db) is corrupt, locked or unusable
"""

from __future__ import annotations


class NewsletterError(Exception):
    """Base of every error meant for the user (the CLI exits 1 with its message)."""


class ConfigError(NewsletterError):
    """A setting or subscriber entry is invalid."""


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


class RenderError(NewsletterError):
    """Rendering failed, or a variant is over the size budget."""


class DeliveryError(NewsletterError):
    """A transport failure that stops the whole run (e.g. sending paused)."""


class StageError(NewsletterError):
    """A stage file is missing or does not match its contract."""


class StoreError(NewsletterError):
    """The SQLite ledger cannot be read or written; the message names the db file."""
