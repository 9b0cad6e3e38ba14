"""Web sign-ups and preferences: who signed up on the web (pending until confirmed), what
anyone changed on the preferences page (it wins over the list files), and the counters of
the sign-up rate limits.

The list files stay the operator's: nothing here ever writes them.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass

from .db import Database, now

SUBSCRIPTIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS web_signups (
    email        TEXT PRIMARY KEY,
    state        TEXT NOT NULL CHECK (state IN ('pending','confirmed')),
    nonce        TEXT,
    requested_at TEXT NOT NULL,
    confirmed_at TEXT,
    updated_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_preferences (
    email      TEXT PRIMARY KEY,
    topics     TEXT NOT NULL DEFAULT '[]',
    exclude    TEXT NOT NULL DEFAULT '[]',
    language   TEXT,
    paused     INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_hits (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS web_hits_key ON web_hits (kind, key, at);
CREATE TABLE IF NOT EXISTS list_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO list_meta (key, value)
    VALUES ('dated_links_since', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));
"""


@dataclass(frozen=True)
class Preferences:
    """What a subscriber chose on the preferences page."""

    email: str
    topics: list[str]
    exclude: list[str]
    language: str | None
    paused: bool
    updated_at: str


@dataclass(frozen=True)
class Signup:
    email: str
    state: str  # pending | confirmed
    nonce: str | None
    requested_at: str
    confirmed_at: str | None


class Subscriptions(Database):
    """Web sign-ups, preferences and rate-limit counters on the store's database."""

    # -- sign-ups -----------------------------------------------------------------------------

    def request_signup(self, email: str, prefs: Preferences) -> str:
        """Record a pending sign-up with the topics asked for; returns the nonce its confirm
        link carries. A new request replaces the nonce, so only the newest link works.

        The caller decides whether an address may be asked (never an active subscriber).
        """
        nonce = secrets.token_urlsafe(12)
        when = now()
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO web_signups (email, state, nonce, requested_at, updated_at)"
                " VALUES (?, 'pending', ?, ?, ?) ON CONFLICT(email) DO UPDATE SET"
                " state='pending', nonce=excluded.nonce, requested_at=excluded.requested_at,"
                " confirmed_at=NULL, updated_at=excluded.updated_at",
                (email.lower(), nonce, when, when),
            )
            self._save_preferences(conn, prefs, when)
        return nonce

    def confirm_signup(self, email: str, nonce: str) -> bool:
        """pending (with this link's nonce) -> confirmed; False if used, replaced or unknown."""
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE web_signups SET state='confirmed', nonce=NULL, confirmed_at=?,"
                " updated_at=? WHERE email=? AND state='pending' AND nonce=?",
                (now(), now(), email.lower(), nonce),
            )
            return cur.rowcount == 1

    def signup(self, email: str) -> Signup | None:
        found = self._query("SELECT * FROM web_signups WHERE email=?", (email.lower(),))
        if not found:
            return None
        r = found[0]
        return Signup(r["email"], r["state"], r["nonce"], r["requested_at"], r["confirmed_at"])

    def signups(self) -> list[Signup]:
        """Every web sign-up, pending and confirmed, by address."""
        cur = self._query("SELECT * FROM web_signups ORDER BY email")
        return [
            Signup(r["email"], r["state"], r["nonce"], r["requested_at"], r["confirmed_at"])
            for r in cur
        ]

    # -- preferences --------------------------------------------------------------------------

    def set_preferences(self, prefs: Preferences) -> None:
        """Keep what the preferences page saved (it wins over the list files)."""
        with self._conn() as conn:
            self._save_preferences(conn, prefs, now())

    @staticmethod
    def _save_preferences(conn: sqlite3.Connection, prefs: Preferences, when: str) -> None:
        conn.execute(
            "INSERT INTO web_preferences (email, topics, exclude, language, paused,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET"
            " topics=excluded.topics, exclude=excluded.exclude, language=excluded.language,"
            " paused=excluded.paused, updated_at=excluded.updated_at",
            (
                prefs.email.lower(),
                json.dumps(prefs.topics),
                json.dumps(prefs.exclude),
                prefs.language,
                int(prefs.paused),
                when,
            ),
        )

    def preferences(self) -> dict[str, Preferences]:
        """Every saved preference, by lower-cased address."""
        out = {}
        for r in self._query("SELECT * FROM web_preferences"):
            out[r["email"]] = Preferences(
                r["email"],
                json.loads(r["topics"]),
                json.loads(r["exclude"]),
                r["language"],
                bool(r["paused"]),
                r["updated_at"],
            )
        return out

    # -- rate limits and notes ----------------------------------------------------------------

    def hit(
        self, kind: str, key: str, limit: int, window_s: float, at: float | None = None
    ) -> bool:
        """Count one attempt of ``kind`` for ``key``; False (not counted) once ``limit`` attempts
        fall within the last ``window_s`` seconds."""
        at = time.time() if at is None else at
        with self._conn() as conn:
            conn.execute("DELETE FROM web_hits WHERE kind=? AND at<?", (kind, at - window_s))
            count = conn.execute(
                "SELECT COUNT(*) FROM web_hits WHERE kind=? AND key=?", (kind, key)
            ).fetchone()[0]
            if count >= limit:
                return False
            conn.execute("INSERT INTO web_hits (kind, key, at) VALUES (?, ?, ?)", (kind, key, at))
            return True

    def meta(self, key: str) -> str | None:
        """A note the store keeps about itself (``dated_links_since``: when it first opened)."""
        found = self._query("SELECT value FROM list_meta WHERE key=?", (key,))
        return str(found[0]["value"]) if found else None
