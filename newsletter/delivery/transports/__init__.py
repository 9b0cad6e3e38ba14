"""The transport seam: what a transport does, and the registry of transports by name.

A transport hands one finished message over and says how it went by raising one of the
``errors.TransportError`` kinds. The registry maps each ``delivery.transport`` name to the
module that builds it, imported only when that transport is used (boto3 is heavy).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Protocol

from ...errors import ConfigError

if TYPE_CHECKING:
    from ...config import Settings


class Transport(Protocol):
    """One way to hand a finished message over; raises the ``TransportError`` kinds."""

    name: str

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        """Hand one message over; return the transport's message id ('' if it has none)."""
        ...

    def preflight(self, todo: int) -> None:
        """Before anything is claimed: raise Fatal when sending cannot start at all."""
        ...

    def max_send_rate(self) -> float | None:
        """The most messages per second the service accepts, or None when it does not say."""
        ...

    def close(self) -> None: ...


class TransportFactory(Protocol):
    def __call__(self, settings: Settings, edition_date: str) -> Transport: ...


# name -> module that defines ``make(settings, edition_date) -> Transport``.
TRANSPORTS: dict[str, str] = {
    "outbox": "newsletter.delivery.transports.outbox",
    "ses": "newsletter.delivery.transports.ses",
    "ses-bulk": "newsletter.delivery.transports.ses_bulk",
    "smtp": "newsletter.delivery.transports.smtp",
}


def make_transport(settings: Settings, edition_date: str) -> Transport:
    """The configured transport (the name was checked against the registry at load)."""
    name = settings.delivery.transport
    if name not in TRANSPORTS:
        known = ", ".join(sorted(TRANSPORTS))
        raise ConfigError(f"delivery.transport: unknown transport {name!r} (known: {known})")
    factory: TransportFactory = import_module(TRANSPORTS[name]).make
    return factory(settings, edition_date)
