"""Every path under the data folder, in one place.

DATA/
  editions/DATE/        one edition's stage files
    candidates.json     collect
    selection.json      select
    analyses/ID.json    analyze (ID.LANG.json: in another language subscribers read)
    variants/KEY.*      build (rendered into .variants.new first)
    edition.json        build, written last
  outbox/DATE/          the outbox transport's .eml files
  locks/                one lock file per edition date
  cache/                HTTP responses (http/), full texts, LLM answers (llm/)
  newsletter.db         the SQLite store: delivery ledger and subscriber status
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EditionPaths:
    """The stage files of one edition date."""

    root: Path

    @property
    def candidates(self) -> Path:
        return self.root / "candidates.json"

    @property
    def selection(self) -> Path:
        return self.root / "selection.json"

    @property
    def analyses(self) -> Path:
        return self.root / "analyses"

    def analysis(self, paper_id: str, language: str | None = None) -> Path:
        """The analysis in the edition's language (None), or in another ``language``."""
        return self.analyses / (f"{paper_id}.{language}.json" if language else f"{paper_id}.json")

    @property
    def edition(self) -> Path:
        return self.root / "edition.json"

    @property
    def variants(self) -> Path:
        return self.root / "variants"

    @property
    def staging(self) -> Path:
        """Where build renders the variants before they replace ``variants/`` at once."""
        return self.root / ".variants.new"


@dataclass(frozen=True)
class Layout:
    """The data folder (``storage.data_dir`` or ``--data-dir``)."""

    data_dir: Path

    def edition(self, edition_date: str) -> EditionPaths:
        return EditionPaths(self.data_dir / "editions" / edition_date)

    def outbox(self, edition_date: str) -> Path:
        return self.data_dir / "outbox" / edition_date

    @property
    def locks(self) -> Path:
        return self.data_dir / "locks"

    @property
    def cache(self) -> Path:
        return self.data_dir / "cache"

    @property
    def llm_cache(self) -> Path:
        return self.cache / "llm"

    @property
    def store(self) -> Path:
        return self.data_dir / "newsletter.db"
