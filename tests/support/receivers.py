"""Who receives which built variant: the lists routed as delivery routes them (the stage
files record counts per variant, not addresses)."""

from __future__ import annotations

from newsletter.config import Settings
from newsletter.models import Edition, Variant
from newsletter.stages.deliver import assignments
from newsletter.subscribers import load_subscribers


def variant_by_subscriber(settings: Settings, edition: Edition) -> dict[str, Variant]:
    """Each active subscriber's variant of ``edition`` (those with no variant left out)."""
    variants = {v.key: v for v in edition.variants}
    keys = assignments(settings, edition, load_subscribers(settings))
    return {email: variants[key] for email, key in keys.items() if key in variants}
