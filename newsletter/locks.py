"""Locks that keep two runs of the same edition date apart (released by the OS on exit)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DeliveryError


@contextmanager
def run_lock(folder: Path, edition_date: str) -> Iterator[None]:
    """One delivery run per edition date at a time (released by the OS if the process dies).

    Two runs could never send a row twice (claiming is atomic), but ``--retry-unknown`` in one
    would release the rows the other has in flight.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"send-{edition_date}.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise DeliveryError(
                f"another 'newsletter send' for {edition_date} is running "
                f"(pid {holder}; lock {path})"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
