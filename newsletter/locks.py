"""One lock per edition date, held by whatever command works on that date (released by the OS).

``send`` holds it from its first stage to its last message, and ``collect``, ``select``,
``analyze`` and ``build`` for their stage: two commands on one date never share the staging
folder, and ``--retry-unknown`` in one never releases rows another has in flight. A second
command waits up to ``storage.lock_wait_s`` seconds (saying whom it waits for), then stops
with one line. The lock is re-entrant within a process: ``send`` holds it across prepare and
deliver, which take it again.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .errors import Busy

if TYPE_CHECKING:
    from .config import Settings

# Locks this process holds: path -> depth. flock conflicts between two open files of one
# process as well, so a nested take must not open the file again.
_held: dict[Path, int] = {}
_held_lock = threading.Lock()
POLL_S = 0.2  # how often a waiting command tries again (flock has no timed wait)


def lock_path(folder: Path, edition_date: str) -> Path:
    """The lock file of one edition date."""
    return folder / f"{edition_date}.lock"


def _holder(fh: IO[str]) -> str:
    """Who holds the lock, as its holder wrote it: "'newsletter send' (pid 42, since 08:30)"."""
    fh.seek(0)
    try:
        info = json.loads(fh.read() or "{}")
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    command = info.get("command", "newsletter")
    return f"'newsletter {command}' (pid {info.get('pid', '?')}, since {info.get('since', '?')})"


@contextmanager
def date_lock(
    folder: Path,
    edition_date: str,
    *,
    command: str,
    wait_s: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold the date's lock; wait up to ``wait_s`` for another holder, else raise Busy."""
    path = lock_path(folder, edition_date).resolve()
    with _held_lock:
        if _held.get(path):
            _held[path] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_lock:
                _held[path] -= 1
        return
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as fh:
        _acquire(fh, path, edition_date, command, wait_s, on_wait, clock, sleep)
        with _held_lock:
            _held[path] = 1
        try:
            yield
        finally:
            with _held_lock:
                _held.pop(path, None)
            fcntl.flock(fh, fcntl.LOCK_UN)


def _acquire(
    fh: IO[str],
    path: Path,
    edition_date: str,
    command: str,
    wait_s: float,
    on_wait: Callable[[str], None] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    deadline = clock() + wait_s
    announced = False
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = _holder(fh)
            if clock() >= deadline:
                waited = f" after waiting {wait_s:g}s" if wait_s > 0 else ""
                raise Busy(
                    f"{holder} is working on {edition_date}{waited} (lock {path}); run "
                    "this again once it has finished (storage.lock_wait_s sets the wait)"
                ) from None
            if not announced and on_wait is not None:
                on_wait(f"waiting up to {wait_s:g}s for {holder} to finish {edition_date}")
                announced = True
            sleep(POLL_S)
    fh.seek(0)
    fh.truncate()
    since = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    fh.write(json.dumps({"pid": os.getpid(), "command": command, "since": since}))
    fh.flush()


def edition_lock(
    settings: Settings,
    edition_date: str,
    command: str,
    on_wait: Callable[[str], None] | None = None,
) -> AbstractContextManager[None]:
    """The date's lock as the settings place and bound it (``storage.lock_wait_s``)."""
    return date_lock(
        settings.layout.locks,
        edition_date,
        command=command,
        wait_s=settings.storage.lock_wait_s,
        on_wait=on_wait,
    )
