"""analyze: one analysis per selected paper -> ``analyses/ID.json``, and in each other language
some subscriber reads, for the papers they receive -> ``analyses/ID.LANG.json``."""

from __future__ import annotations

from ..analysis import Analyzer
from ..config import Settings
from ..errors import StageError
from ..files import fresh, read_model, write_model
from ..layout import EditionPaths
from ..models import Candidates, Paper, PaperAnalysis, Selection
from ..routing import papers_by_language
from ..store import Store
from ..subscribers import load_subscribers
from . import Progress, log


def analyze(
    settings: Settings,
    edition_date: str,
    analyzer: Analyzer,
    *,
    force: bool = False,
    store: Store | None = None,
    progress: Progress = log.info,
) -> list[PaperAnalysis]:
    """The analyses in the edition's language (returned), then in the other languages of the
    active subscribers; existing ones are kept unless forced.

    With an LLM analyzer, a kept abstract card (made offline, or after the LLM failed) is
    redone; the LLM cache makes a card whose answers were unusable cost nothing again.
    """
    paths = settings.layout.edition(edition_date)
    selection = read_model(paths.selection, Selection, "select")
    candidates = read_model(paths.candidates, Candidates, "collect")
    by_id = {p.id: p for p in candidates.papers}
    language = settings.edition.language
    ids = [s.id for s in selection.papers]
    run = _Run(paths, by_id, analyzer, force, progress)
    results = run.language(ids, language, None)
    if not results:
        return results
    topics = {a.id: a.analysis.topics for a in results}
    subscribers = load_subscribers(settings, store)
    for other, wanted in papers_by_language(topics, subscribers, language).items():
        run.language(wanted, other, other)
    return results


class _Run:
    """One analyze run over the selected papers, one language at a time."""

    def __init__(
        self,
        paths: EditionPaths,
        by_id: dict[str, Paper],
        analyzer: Analyzer,
        force: bool,
        progress: Progress,
    ) -> None:
        self.paths, self.by_id, self.analyzer = paths, by_id, analyzer
        self.force, self.progress = force, progress

    def kept(self, paper_id: str, language: str, suffix: str | None) -> PaperAnalysis | None:
        """The analysis on file if it is current, in ``language`` and not to be redone."""
        path = self.paths.analysis(paper_id, suffix)
        if self.force or not fresh(path, self.paths.selection):
            return None
        kept = read_model(path, PaperAnalysis, "analyze")
        if kept.id != paper_id or kept.language != language:
            return None  # another paper's, or the edition's language changed since
        if self.analyzer.kind == "llm" and kept.analyzer == "offline":
            return None
        return kept

    def language(self, ids: list[str], language: str, suffix: str | None) -> list[PaperAnalysis]:
        """The analyses of ``ids`` in ``language``, made where none is kept."""
        results: list[PaperAnalysis] = []
        todo: list[Paper] = []
        for pid in ids:
            kept = self.kept(pid, language, suffix)
            if kept is not None:
                results.append(kept)
            elif pid not in self.by_id:
                raise StageError(f"{self.paths.selection}: paper {pid} is not in candidates.json")
            else:
                todo.append(self.by_id[pid])

        def keep(item: PaperAnalysis) -> None:
            write_model(self.paths.analysis(item.id, suffix), item)

        done = (
            self.analyzer.analyze_many(
                todo, progress=self.progress, on_result=keep, language=language
            )
            if todo
            else []
        )
        results += done
        if todo:
            how = "llm" if self.analyzer.kind == "llm" else "offline, abstract only"
            self.progress(
                f"analyze ({language}): {len(done)} analysed, {len(results) - len(done)} kept "
                f"({how})"
            )
        order = {pid: i for i, pid in enumerate(ids)}
        return sorted(results, key=lambda a: order[a.id])
