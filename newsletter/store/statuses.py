"""Subscriber status changes (unsubscribed, bounced, complained): they win over the lists."""

from __future__ import annotations

from .db import Database, now

STATUS_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriber_status (
    email       TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('active','unsubscribed','bounced','complained')),
    reason      TEXT,
    updated_at  TEXT NOT NULL
);
"""

SUBSCRIBER_STATUSES = ("active", "unsubscribed", "bounced", "complained")


class Statuses(Database):
    """Subscriber status on the store's database."""

    def set_status(self, email: str, status: str, reason: str | None = None) -> None:
        """Remember a status change (it wins over the subscriber files)."""
        if status not in SUBSCRIBER_STATUSES:
            raise ValueError(f"unknown subscriber status {status!r}")
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO subscriber_status (email, status, reason, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET status=excluded.status,"
                " reason=excluded.reason, updated_at=excluded.updated_at",
                (email.lower(), status, reason, now()),
            )

    def status_of(self, email: str) -> str:
        """'active' unless a status change was recorded for the address."""
        found = self._query("SELECT status FROM subscriber_status WHERE email=?", (email.lower(),))
        return str(found[0]["status"]) if found else "active"

    def statuses(self) -> dict[str, str]:
        """Every recorded status, by lower-cased address."""
        cur = self._query("SELECT email, status FROM subscriber_status")
        return {r["email"]: r["status"] for r in cur}
