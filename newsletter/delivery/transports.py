"""The transport interface, its error kinds, and a registry of transports by name."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..config import Settings
from ..errors import ConfigError
from ..files import write_atomic


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


class Transport(Protocol):
    """One way to hand a finished message over; raises the error kinds above."""

    name: str

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        """Hand one message over; return the transport's message id."""
        ...

    def close(self) -> None: ...


def outbox_name(recipient: str) -> str:
    """A file name for one address, distinct for distinct addresses on any file system.

    A plain address is kept as it is; anything else (characters a file name cannot hold,
    non-ASCII) is made safe and gets a short hash of the address, so two addresses never
    share a file. Addresses differing only in case are one subscriber (the lists dedupe them).
    """
    if _PLAIN.fullmatch(recipient) and not recipient.startswith("."):
        return recipient
    # A leading dot would hide the file (and '..' would name the parent folder).
    safe = re.sub(r"[^A-Za-z0-9@._+-]|^\.", "_", recipient)[:80]
    digest = hashlib.sha256(recipient.encode("utf-8")).hexdigest()[:10]
    return f"{safe}.{digest}"


_PLAIN = re.compile(r"[A-Za-z0-9@._+-]{1,200}")


class OutboxTransport:
    """Writes one ``.eml`` per message under ``data/outbox/DATE/`` (atomically)."""

    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        """Write the message to ``FOLDER/<file name of RECIPIENT>.eml``; returns the path."""
        path = self.folder / f"{outbox_name(recipient)}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            # Nothing was written: Fatal puts the row back to pending for the next run.
            raise Fatal(
                f"{self.folder}: not a folder (a file is in the way); move it and send again"
            ) from None
        except OSError as exc:
            raise Fatal(
                f"{self.folder}: cannot create the outbox ({exc.strerror or exc})"
            ) from None
        try:
            write_atomic(path, raw)
        except OSError as exc:
            raise Fatal(f"{path}: cannot write ({exc.strerror or exc})") from None
        return str(path)

    def close(self) -> None:
        pass


TransportFactory = Callable[[Settings, str], Transport]
REGISTRY: dict[str, TransportFactory] = {}


def register(name: str) -> Callable[[TransportFactory], TransportFactory]:
    """Decorator: make a transport factory available under ``delivery.transport = name``."""

    def deco(factory: TransportFactory) -> TransportFactory:
        REGISTRY[name] = factory
        return factory

    return deco


@register("outbox")
def _outbox(settings: Settings, edition_date: str) -> Transport:
    return OutboxTransport(settings.data_dir / "outbox" / edition_date)


def make_transport(settings: Settings, edition_date: str) -> Transport:
    """The configured transport (modules for ses/smtp register themselves on import)."""
    from . import ses, smtp  # noqa: F401 - registration side effect

    name = settings.delivery.transport
    if name not in REGISTRY:
        raise ConfigError(
            f"delivery.transport: unknown transport {name!r} (known: {', '.join(sorted(REGISTRY))})"
        )
    return REGISTRY[name](settings, edition_date)


def secret_from_env(name: str) -> str:
    """A secret named by a setting, from the environment ('' when unset)."""
    return os.environ.get(name, "")
