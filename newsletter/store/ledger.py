"""The delivery ledger: one row per (edition date, subscriber).

States: pending -> sending -> sent | failed | skipped. A row is claimed (``sending``) before the
transport is called and marked after, so a crash leaves at most the in-flight rows in
``sending``; those are reported as unknown and never silently re-sent. Claims and marks come
one row at a time (``claim``, ``mark``) or a batch per transaction (``claim_many``,
``mark_many``): one commit for fifty rows costs about what one costs for one.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from typing import NamedTuple

from .db import Database, now

LEDGER_SCHEMA = """
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
DROP INDEX IF EXISTS deliveries_state;
CREATE INDEX IF NOT EXISTS deliveries_state_email ON deliveries (date, state, email);
"""

# (email, state, message id, error) for ``mark_many``.
Mark = tuple[str, str, str | None, str | None]

STATES = ("pending", "sending", "sent", "failed", "skipped")


class Row(NamedTuple):
    """One ledger row as read (a tuple: a delivery run makes one per message, so it is cheap)."""

    date: str
    email: str
    variant: str
    state: str
    message_id: str | None
    attempts: int
    last_error: str | None


class Ledger(Database):
    """The ledger's operations on the store's database."""

    def plan(self, date: str, rows: Iterable[tuple[str, str, str]]) -> int:
        """Insert (email, variant, state) rows; returns how many are new.

        A row still ``pending`` or ``skipped`` follows the current plan (a subscriber's topics
        or the edition may have changed since); ``sending``, ``sent`` and ``failed`` rows are
        history and never change here.
        """
        when = now()
        items = [(date, email, variant, state, when, when) for email, variant, state in rows]
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

    def drop_pending(self, date: str, keep: Container[str], reason: str) -> int:
        """Pending rows of addresses not in ``keep`` (they left) become skipped."""
        with self._guard():
            cur = self._connection().execute(
                "SELECT email FROM deliveries WHERE date=? AND state='pending'", (date,)
            )
            gone = [(email,) for (email,) in cur if email not in keep]
        if gone:
            with self._conn() as conn:
                conn.executemany(
                    "UPDATE deliveries SET state='skipped', last_error=?, updated_at=?"
                    " WHERE date=? AND email=? AND state='pending'",
                    [(reason, now(), date, email) for (email,) in gone],
                )
        return len(gone)

    def claim(self, date: str, email: str) -> bool:
        """pending -> sending; False if someone else has it or it is done."""
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE deliveries SET state='sending', attempts=attempts+1, updated_at=?"
                " WHERE date=? AND email=? AND state='pending'",
                (now(), date, email),
            )
            return cur.rowcount == 1

    def claim_many(self, date: str, emails: Sequence[str]) -> set[str]:
        """pending -> sending for a batch, in one transaction; the addresses this call won."""
        if not emails:
            return set()
        marks = ",".join("?" * len(emails))
        won = self._write(
            "UPDATE deliveries SET state='sending', attempts=attempts+1, updated_at=?"
            f" WHERE date=? AND state='pending' AND email IN ({marks}) RETURNING email",
            (now(), date, *emails),
        )
        return {str(email) for (email,) in won}

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
                (state, message_id, error, now(), date, email),
            )
            return cur.rowcount == 1

    def mark_many(self, date: str, marks: Sequence[Mark]) -> list[bool]:
        """``mark`` for a batch of (email, state, message id, error), in one statement.

        Returns, per item, whether its row moved (it was ``sending``).
        """
        for _, state, _, _ in marks:
            if state not in STATES:
                raise ValueError(f"unknown ledger state {state!r}")
        if not marks:
            return []
        values = ",".join("(?,?,?,?)" for _ in marks)
        args = [v for mark in marks for v in mark]
        moved = {
            email
            for (email,) in self._write(
                "UPDATE deliveries SET state=v.column2,"
                " message_id=COALESCE(v.column3, deliveries.message_id),"
                f" last_error=v.column4, updated_at=? FROM (VALUES {values}) AS v"
                " WHERE deliveries.date=? AND deliveries.email=v.column1"
                " AND deliveries.state='sending' RETURNING deliveries.email",
                (now(), *args, date),
            )
        }
        return [email in moved for email, _, _, _ in marks]

    def pending_page(self, date: str, after: str, size: int) -> list[tuple[str, str]]:
        """(email, variant) of up to ``size`` pending rows past ``after``, by address.

        A delivery run reads its work a page at a time: a million rows never sit in memory.
        """
        with self._guard():
            cur = self._connection().execute(
                "SELECT email, variant FROM deliveries WHERE date=? AND state='pending'"
                " AND email > ? ORDER BY email LIMIT ?",
                (date, after, size),
            )
            return [(email, variant) for email, variant in cur]

    def states(self, date: str) -> dict[str, str]:
        """Each address's ledger state for the date (without building a Row per row)."""
        names = {s: s for s in STATES}  # one string object per state, not one per row
        with self._guard():
            cur = self._connection().execute(
                "SELECT email, state FROM deliveries WHERE date=?", (date,)
            )
            return {email: names.get(state, state) for email, state in cur}

    def variants(self, date: str, state: str) -> set[str]:
        """The distinct variants of the date's rows in ``state``."""
        rows = self._query(
            "SELECT DISTINCT variant FROM deliveries WHERE date=? AND state=?", (date, state)
        )
        return {r["variant"] for r in rows}

    def release_unknown(self, date: str) -> int:
        """Rows left in ``sending`` by a crash go back to pending (``send --retry-unknown``)."""
        with self._conn() as conn:
            return conn.execute(
                "UPDATE deliveries SET state='pending', last_error='retried after unknown',"
                " updated_at=? WHERE date=? AND state='sending'",
                (now(), date),
            ).rowcount

    def release_failed(self, date: str) -> int:
        """Failed rows go back to pending (``send --retry-failed``): none of them was sent."""
        with self._conn() as conn:
            return conn.execute(
                "UPDATE deliveries SET state='pending', updated_at=? WHERE date=? AND"
                " state='failed'",
                (now(), date),
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
