"""SQLite store: the delivery ledger and subscriber status (unsubscribed, bounced, complained).

Ledger states: pending -> sending -> sent | failed | skipped. A row is claimed (``sending``)
before the transport is called and marked after, so a crash leaves at most the in-flight rows
in ``sending``; those are reported as unknown and never silently re-sent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    date        TEXT NOT NULL,
    email       TEXT NOT NULL,
    variant     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending','sending','sent','failed','skipped')),
    message_id  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (date, email)
);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (date, state);
CREATE TABLE IF NOT EXISTS subscriber_status (
    email       TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('active','unsubscribed','bounced','complained')),
    reason      TEXT,
    updated_at  TEXT NOT NULL
);
"""

STATES = ("pending", "sending", "sent", "failed", "skipped")
SUBSCRIBER_STATUSES = ("active", "unsubscribed", "bounced", "complained")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Row:
    date: str
    email: str
    variant: str
    state: str
    message_id: str | None
    attempts: int
    last_error: str | None


class Store:
    """One SQLite file (WAL); safe to share between the threads of one process.

    Every sqlite3 error (not a database, corrupt, locked past ``timeout_s``) comes out as a
    ``StoreError`` naming the file.
    """

    def __init__(self, path: Path, timeout_s: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.timeout_s = timeout_s
        self._local = threading.local()
        try:
            self._connection().executescript(SCHEMA)
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
        with self._guard():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, args: tuple[str, ...] = ()) -> list[sqlite3.Row]:
        with self._guard():
            return list(self._connection().execute(sql, args))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- ledger ---------------------------------------------------------------------------

    def plan(self, date: str, rows: Iterable[tuple[str, str, str]]) -> int:
        """Insert (email, variant, state) rows; returns how many are new.

        A row still ``pending`` or ``skipped`` follows the current plan (a subscriber's topics
        or the edition may have changed since); ``sending``, ``sent`` and ``failed`` rows are
        history and never change here.
        """
        now = _now()
        items = [(date, email, variant, state, now, now) for email, variant, state in rows]
        with self._conn() as conn:
            before = conn.execute(
                "SELECT COUNT(*) FROM deliveries WHERE date=?", (date,)
            ).fetchone()[0]
            conn.executemany(
                "INSERT INTO deliveries (date, email, variant, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(date, email) DO UPDATE SET"
                " variant=excluded.variant, state=excluded.state, updated_at=excluded.updated_at"
                " WHERE deliveries.state IN ('pending','skipped')"
                " AND (deliveries.variant != excluded.variant"
                " OR deliveries.state != excluded.state)",
                items,
            )
            after = conn.execute(
                "SELECT COUNT(*) FROM deliveries WHERE date=?", (date,)
            ).fetchone()[0]
            return int(after - before)

    def drop_pending(self, date: str, keep: set[str], reason: str) -> int:
        """Pending rows of addresses not in ``keep`` (they left) become skipped."""
        gone = [r.email for r in self.rows(date, "pending") if r.email not in keep]
        with self._conn() as conn:
            for email in gone:
                conn.execute(
                    "UPDATE deliveries SET state='skipped', last_error=?, updated_at=?"
                    " WHERE date=? AND email=? AND state='pending'",
                    (reason, _now(), date, email),
                )
        return len(gone)

    def claim(self, date: str, email: str) -> bool:
        """pending -> sending; False if someone else has it or it is done."""
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE deliveries SET state='sending', attempts=attempts+1, updated_at=?"
                " WHERE date=? AND email=? AND state='pending'",
                (_now(), date, email),
            )
            return cur.rowcount == 1

    def mark(
        self,
        date: str,
        email: str,
        state: str,
        message_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Record the outcome of a row this run claimed; False (unchanged) if it is not claimed.

        Only a ``sending`` row moves, whatever the outcome (back to ``pending`` after a Fatal
        error included): a row that is already ``sent`` or ``failed``, or was never claimed,
        is history, and a late or stray mark must not rewrite it.
        """
        if state not in STATES:
            raise ValueError(f"unknown ledger state {state!r}")
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE deliveries SET state=?, message_id=COALESCE(?, message_id),"
                " last_error=?, updated_at=? WHERE date=? AND email=? AND state='sending'",
                (state, message_id, error, _now(), date, email),
            )
            return cur.rowcount == 1

    def release_unknown(self, date: str) -> int:
        """Rows left in ``sending`` by a crash go back to pending (``send --retry-unknown``)."""
        with self._conn() as conn:
            return conn.execute(
                "UPDATE deliveries SET state='pending', last_error='retried after unknown',"
                " updated_at=? WHERE date=? AND state='sending'",
                (_now(), date),
            ).rowcount

    def release_failed(self, date: str) -> int:
        """Failed rows go back to pending (``send --retry-failed``): none of them was sent."""
        with self._conn() as conn:
            return conn.execute(
                "UPDATE deliveries SET state='pending', updated_at=? WHERE date=? AND"
                " state='failed'",
                (_now(), date),
            ).rowcount

    def rows(self, date: str, state: str | None = None) -> list[Row]:
        """The ledger rows of one edition date (optionally one state), by address."""
        sql = "SELECT * FROM deliveries WHERE date=?"
        args: tuple[str, ...] = (date,)
        if state:
            sql += " AND state=?"
            args += (state,)
        cur = self._query(sql + " ORDER BY email", args)
        return [
            Row(
                r["date"],
                r["email"],
                r["variant"],
                r["state"],
                r["message_id"],
                r["attempts"],
                r["last_error"],
            )
            for r in cur
        ]

    def counts(self, date: str) -> dict[str, int]:
        """How many rows of the date are in each state (every state present, maybe 0)."""
        cur = self._query(
            "SELECT state, COUNT(*) AS n FROM deliveries WHERE date=? GROUP BY state", (date,)
        )
        found = {r["state"]: r["n"] for r in cur}
        return {state: found.get(state, 0) for state in STATES}

    # -- subscriber status ------------------------------------------------------------------

    def set_status(self, email: str, status: str, reason: str | None = None) -> None:
        """Remember a status change (it wins over the subscriber files)."""
        if status not in SUBSCRIBER_STATUSES:
            raise ValueError(f"unknown subscriber status {status!r}")
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO subscriber_status (email, status, reason, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET status=excluded.status,"
                " reason=excluded.reason, updated_at=excluded.updated_at",
                (email.lower(), status, reason, _now()),
            )

    def status_of(self, email: str) -> str:
        """'active' unless a status change was recorded for the address."""
        found = self._query("SELECT status FROM subscriber_status WHERE email=?", (email.lower(),))
        return str(found[0]["status"]) if found else "active"

    def statuses(self) -> dict[str, str]:
        """Every recorded status, by lower-cased address."""
        cur = self._query("SELECT email, status FROM subscriber_status")
        return {r["email"]: r["status"] for r in cur}
