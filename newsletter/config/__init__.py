"""Settings: one object, loaded and checked once (``load_settings``), secrets included."""

from __future__ import annotations

from .loader import DEFAULT_CONFIG_NAME, ENV_PREFIX, load_settings
from .secrets import Secrets
from .sections import (
    ArxivSettings,
    DeliverySettings,
    EditionSettings,
    FeedSettings,
    GithubSettings,
    LLMSettings,
    Settings,
    TopicSettings,
)

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ENV_PREFIX",
    "ArxivSettings",
    "DeliverySettings",
    "EditionSettings",
    "FeedSettings",
    "GithubSettings",
    "LLMSettings",
    "Secrets",
    "Settings",
    "TopicSettings",
    "load_settings",
]
