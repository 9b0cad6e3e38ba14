"""The SQLite store (``data/newsletter.db``): the delivery ledger, subscriber status, web
sign-ups and preferences, and the bounce and complaint feedback.

``Store`` is the one object the rest of the program opens; each part (``ledger.py``,
``statuses.py``, ``subscriptions.py``, ``feedback.py``) brings its tables and operations.
"""

from __future__ import annotations

from .db import Database
from .feedback import FEEDBACK_SCHEMA, Applied, Event, Feedback, Rates
from .ledger import LEDGER_SCHEMA, STATES, Ledger, Row
from .statuses import STATUS_SCHEMA, SUBSCRIBER_STATUSES, Statuses
from .subscriptions import SUBSCRIPTIONS_SCHEMA, Preferences, Signup, Subscriptions

__all__ = [
    "STATES",
    "SUBSCRIBER_STATUSES",
    "Applied",
    "Database",
    "Event",
    "Preferences",
    "Rates",
    "Row",
    "Signup",
    "Store",
]


class Store(Ledger, Statuses, Subscriptions, Feedback):
    """The store: every part's operations on one SQLite file."""

    # The feedback part indexes the ledger's table, so it comes after it.
    SCHEMA = LEDGER_SCHEMA + STATUS_SCHEMA + SUBSCRIPTIONS_SCHEMA + FEEDBACK_SCHEMA
