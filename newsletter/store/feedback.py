"""Bounces, complaints and deliveries reported by SES, each applied once.

Every event is kept (``feedback_events``), keyed by the notification's id and the address,
so a message the queue hands out twice changes nothing the second time. An event that
matches a ledger row (by the SES MessageId the transport stored) carries that row's edition
date: that is the ledger row's outcome, and what the bounce and complaint rates count.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .db import Database, now

FEEDBACK_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback_events (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('bounce','soft-bounce','complaint','delivery')),
    email       TEXT NOT NULL,
    ses_id      TEXT,
    date        TEXT,
    at          TEXT NOT NULL,
    detail      TEXT,
    action      TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_email ON feedback_events (email, kind, at);
CREATE INDEX IF NOT EXISTS feedback_date ON feedback_events (date, kind);
CREATE INDEX IF NOT EXISTS deliveries_message_id ON deliveries (message_id);
"""

KINDS = ("bounce", "soft-bounce", "complaint", "delivery")


@dataclass(frozen=True)
class Event:
    """One recipient's outcome in one SES notification."""

    id: str  # the notification's id and the address: the same event is applied once
    kind: str  # bounce (permanent) | soft-bounce (transient, undetermined) | complaint | delivery
    email: str
    ses_id: str  # mail.messageId: the ledger row's message_id
    at: str  # when it happened (ISO 8601, as SES says)
    detail: str = ""


@dataclass(frozen=True)
class Applied:
    """What one event did."""

    event: Event
    action: str  # suppressed | counted | delivered | unknown-address | duplicate
    date: str | None  # the edition date of the matching ledger row


@dataclass(frozen=True)
class Rates:
    date: str
    sent: int
    bounced: int
    complained: int


class Feedback(Database):
    """Bounce, complaint and delivery events on the store's database."""

    def apply_event(
        self, event: Event, known: bool, soft_limit: int, soft_window_s: float
    ) -> Applied:
        """Record ``event`` and its effect on the address, in one transaction.

        A bounce or a complaint suppresses the address at once; soft bounces do once
        ``soft_limit`` of them fall within ``soft_window_s``. An address that is neither in
        the ledger nor ``known`` otherwise is recorded and left alone.
        """
        if event.kind not in KINDS:
            raise ValueError(f"unknown feedback kind {event.kind!r}")
        email = event.email.lower()
        with self._conn() as conn:
            if conn.execute("SELECT 1 FROM feedback_events WHERE id=?", (event.id,)).fetchone():
                return Applied(event, "duplicate", None)
            row = conn.execute(
                "SELECT date FROM deliveries WHERE message_id=? AND lower(email)=?",
                (event.ses_id, email),
            ).fetchone()
            date = str(row["date"]) if row else None
            in_ledger = date is not None or bool(
                conn.execute("SELECT 1 FROM deliveries WHERE lower(email)=?", (email,)).fetchone()
            )
            if not (known or in_ledger):
                action = "unknown-address"
            else:
                action = self._effect(conn, event, email, soft_limit, soft_window_s)
            conn.execute(
                "INSERT INTO feedback_events (id, kind, email, ses_id, date, at, detail, action,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.id,
                    event.kind,
                    email,
                    event.ses_id,
                    date,
                    event.at,
                    event.detail[:500],
                    action,
                    now(),
                ),
            )
        return Applied(event, action, date)

    @staticmethod
    def _effect(
        conn: sqlite3.Connection, event: Event, email: str, soft_limit: int, window_s: float
    ) -> str:
        if event.kind == "delivery":
            return "delivered"
        if event.kind == "soft-bounce":
            since = conn.execute(
                "SELECT strftime('%Y-%m-%dT%H:%M:%S', ?, ?)",
                (event.at[:19], f"-{int(window_s)} seconds"),
            ).fetchone()[0]
            earlier = conn.execute(
                "SELECT COUNT(*) FROM feedback_events WHERE email=? AND kind='soft-bounce'"
                " AND substr(at, 1, 19) > ?",
                (email, since),
            ).fetchone()[0]
            if earlier + 1 < soft_limit:
                return "counted"
            status, reason = "bounced", f"{earlier + 1} soft bounces, last: {event.detail}"
        else:
            status = "bounced" if event.kind == "bounce" else "complained"
            reason = f"{event.kind}: {event.detail}".rstrip(": ")
        conn.execute(
            "INSERT INTO subscriber_status (email, status, reason, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET status=excluded.status,"
            " reason=excluded.reason, updated_at=excluded.updated_at",
            (email, status, reason[:500], now()),
        )
        return "suppressed"

    def outcome(self, date: str, email: str) -> str | None:
        """The latest SES outcome of a ledger row (delivery, bounce, ...), or None."""
        found = self._query(
            "SELECT kind FROM feedback_events WHERE date=? AND email=? ORDER BY at DESC LIMIT 1",
            (date, email.lower()),
        )
        return str(found[0]["kind"]) if found else None

    def rates(self, editions: int) -> list[Rates]:
        """Sent, bounced (permanent) and complained counts of the latest ``editions`` dates."""
        dates = [
            r["date"]
            for r in self._query(
                "SELECT DISTINCT date FROM deliveries WHERE state='sent' ORDER BY date DESC"
                f" LIMIT {int(editions)}"
            )
        ]
        out = []
        for date in dates:
            sent = self._query(
                "SELECT COUNT(*) AS n FROM deliveries WHERE date=? AND state='sent'", (date,)
            )[0]["n"]
            counts = {
                r["kind"]: r["n"]
                for r in self._query(
                    "SELECT kind, COUNT(DISTINCT email) AS n FROM feedback_events WHERE date=?"
                    " GROUP BY kind",
                    (date,),
                )
            }
            out.append(Rates(date, sent, counts.get("bounce", 0), counts.get("complaint", 0)))
        return out
