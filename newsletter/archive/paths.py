"""Where each page of the archive is, as a path in the site and as a URL (no heavy imports:
build asks for an edition's URL to link the email to it)."""

from __future__ import annotations


def edition_path(edition_date: str, language: str) -> str:
    """The page of one edition in one language, relative to the site's root."""
    return f"{edition_date}/{language}.html"


def edition_url(base_url: str, edition_date: str, language: str) -> str:
    """The public URL of an edition's page (its cards are ``#paper-N`` on it)."""
    return f"{base_url.rstrip('/')}/{edition_path(edition_date, language)}"


def figure_path(paper_id: str, suffix: str) -> str:
    """A paper's key figure, copied into the archive."""
    return f"figures/{paper_id}{suffix}"
