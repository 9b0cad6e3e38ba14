"""The outbox transport: one ``.eml`` file per message, for trying things out and for tests."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import Fatal
from ...files import write_atomic
from ...layout import Layout

if TYPE_CHECKING:
    from ...config import Settings


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

    def preflight(self, todo: int) -> None:
        """Nothing to ask a folder in advance."""

    def max_send_rate(self) -> float | None:
        """A folder has no rate limit."""
        return None

    def close(self) -> None:
        """Nothing to release."""


def make(settings: Settings, edition_date: str) -> OutboxTransport:
    """The outbox under the data folder, one folder per edition date."""
    return OutboxTransport(Layout(settings.data_dir).outbox(edition_date))
