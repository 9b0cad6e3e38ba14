"""Daily AI-paper newsletter generator."""

__version__ = "0.1.0"
