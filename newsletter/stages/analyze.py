"""analyze: one analysis per selected paper -> ``analyses/ID.json``."""

from __future__ import annotations

from ..analysis import Analyzer
from ..config import Settings
from ..errors import StageError
from ..files import fresh, read_model, write_model
from ..models import Candidates, Paper, PaperAnalysis, Selection
from . import Progress, log


def analyze(
    settings: Settings,
    edition_date: str,
    analyzer: Analyzer,
    *,
    force: bool = False,
    progress: Progress = log.info,
) -> list[PaperAnalysis]:
    """One ``analyses/ID.json`` per selected paper; existing ones are kept unless forced.

    With an LLM analyzer, a kept abstract card (made offline, or after the LLM failed) is
    redone; the LLM cache makes a card whose answers were unusable cost nothing again.
    """
    paths = settings.layout.edition(edition_date)
    selection = read_model(paths.selection, Selection, "select")
    candidates = read_model(paths.candidates, Candidates, "collect")
    by_id = {p.id: p for p in candidates.papers}
    results: list[PaperAnalysis] = []
    todo: list[Paper] = []
    for sel in selection.papers:
        path = paths.analysis(sel.id)
        kept = None
        if not force and fresh(path, paths.selection):
            kept = read_model(path, PaperAnalysis, "analyze")
        if kept is not None and not (analyzer.kind == "llm" and kept.analyzer == "offline"):
            results.append(kept)
        elif sel.id not in by_id:
            raise StageError(f"{paths.selection}: paper {sel.id} is not in candidates.json")
        else:
            todo.append(by_id[sel.id])

    def keep(item: PaperAnalysis) -> None:
        write_model(paths.analysis(item.id), item)

    done = analyzer.analyze_many(todo, progress=progress, on_result=keep) if todo else []
    results += done
    if todo:
        how = "llm" if analyzer.kind == "llm" else "offline, abstract only"
        progress(f"analyze: {len(done)} analysed, {len(results) - len(done)} kept ({how})")
    order = {s.id: i for i, s in enumerate(selection.papers)}
    return sorted(results, key=lambda a: order[a.id])
