"""Delivery: the ledger-driven sender, its pacing, personalization and the transports.

Kept free of imports, so that naming a transport (``delivery.transports.TRANSPORTS``) when
settings load pulls in nothing heavy.
"""
