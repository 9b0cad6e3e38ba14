"""The SQLite file under the data folder: connections, transactions and errors.

One connection per thread (WAL mode, so readers never wait for the writer); every sqlite3
error comes out as a ``StoreError`` naming the file. Each part of the store declares its own
tables (``SCHEMA``); ``Database`` creates them all when it opens the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import StoreError


def now() -> str:
    """The time a row changes, in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Database:
    """One SQLite file (WAL); safe to share between the threads of one process."""

    SCHEMA = ""  # each part's tables, joined by the Store class

    def __init__(self, path: Path, timeout_s: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.timeout_s = timeout_s
        self._local = threading.local()
        # The threads of one process take turns to write: left to SQLite, a thread that finds
        # the file locked by its neighbour sleeps in the busy handler (milliseconds a time).
        self._writer = threading.RLock()
        try:
            self._connection().executescript(self.SCHEMA)
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(
                f"{path}: cannot open the delivery ledger ({exc}); check "
                "storage.data_dir / --data-dir"
            ) from None

    def _error(self, exc: sqlite3.Error) -> StoreError:
        hint = ""
        if "locked" in str(exc) or "busy" in str(exc):
            hint = (
                f" after waiting {self.timeout_s:g}s; another process holds it (a "
                "running 'newsletter send'?)"
            )
        elif isinstance(exc, sqlite3.DatabaseError):
            hint = (
                "; the file may be damaged: keep a copy and check it with 'sqlite3 FILE "
                '"PRAGMA integrity_check"\''
            )
        return StoreError(f"{self.path}: delivery ledger error: {exc}{hint}")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                # NORMAL is durable across process crashes in WAL mode (only power loss can
                # roll back the last commits), which is the failure the ledger guards against.
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error:
                conn.close()
                raise
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        with self._writer, self._guard():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _write(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        """One statement as its own transaction; the rows it returns.

        A lone statement in autocommit mode opens the write transaction first (as ``BEGIN
        IMMEDIATE`` does) and commits when it ends: one call into SQLite instead of three,
        and a thread that releases the interpreter fewer times while it holds the writer.
        """
        with self._writer, self._guard():
            return self._connection().execute(sql, args).fetchall()

    def _query(self, sql: str, args: tuple[str, ...] = ()) -> list[sqlite3.Row]:
        with self._guard():
            return list(self._connection().execute(sql, args))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
