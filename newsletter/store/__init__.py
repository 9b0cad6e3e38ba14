"""The SQLite store (``data/newsletter.db``): the delivery ledger and subscriber status.

``Store`` is the one object the rest of the program opens; each part (``ledger.py``,
``statuses.py``) brings its tables and operations.
"""

from __future__ import annotations

from .db import Database
from .ledger import LEDGER_SCHEMA, STATES, Ledger, Row
from .statuses import STATUS_SCHEMA, SUBSCRIBER_STATUSES, Statuses

__all__ = ["STATES", "SUBSCRIBER_STATUSES", "Database", "Row", "Store"]


class Store(Ledger, Statuses):
    """The store: every part's operations on one SQLite file."""

    SCHEMA = LEDGER_SCHEMA + STATUS_SCHEMA
