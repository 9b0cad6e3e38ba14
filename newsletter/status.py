"""``newsletter status``: what each stage produced for a date, and the ledger's counts."""

from __future__ import annotations

from typing import Any

from .config import Settings
from .errors import StageError
from .files import read_model
from .layout import EditionPaths
from .models import Candidates, Edition, PaperAnalysis, Selection
from .store import Store


def edition_status(
    settings: Settings, edition_date: str, store: Store | None = None
) -> dict[str, Any]:
    """A report per stage; a broken stage file is reported in its place, not raised."""
    paths = settings.layout.edition(edition_date)
    out: dict[str, Any] = {"date": edition_date, "folder": str(paths.root)}
    broken: list[str] = []
    for stage, report in (
        ("collect", _collect),
        ("select", _select),
        ("analyze", _analyze),
        ("build", _build),
    ):
        try:
            found = report(paths)
        except StageError as exc:
            out[stage] = {"error": str(exc)}
            broken.append(stage)
            continue
        if found is not None:
            out[stage] = found
    if broken:
        out["broken"] = broken
    if store is not None:
        counts = store.counts(edition_date)
        out["deliver"] = {**counts, "unknown": counts["sending"]}
        unknown = store.rows(edition_date, "sending")
        if unknown:
            # Claimed but never marked: a crash (or a timeout) while sending; not resent
            # unless 'send --retry-unknown'.
            out["deliver"]["warnings"] = [
                f"unknown outcome (claimed, never confirmed): {r.email}"
                + (f" ({r.last_error})" if r.last_error else "")
                for r in unknown
            ]
        from .feedback.rates import rates_report

        rates = rates_report(settings, store)
        if rates is not None:
            out["feedback"] = rates
    return out


def _usage(usage: dict[str, int], cost: float) -> dict[str, Any]:
    # Flat keys, so the text report shows them too.
    return {
        "llm_calls": usage.get("calls", 0),
        "input_tokens": usage.get("prompt_tokens", 0),
        "output_tokens": usage.get("completion_tokens", 0),
        "cost_usd": round(cost, 4),
    }


def _collect(paths: EditionPaths) -> dict[str, Any] | None:
    if not paths.candidates.is_file():
        return None
    c = read_model(paths.candidates, Candidates, "collect")
    return {"papers": len(c.papers), "warnings": c.warnings}


def _select(paths: EditionPaths) -> dict[str, Any] | None:
    if not paths.selection.is_file():
        return None
    s = read_model(paths.selection, Selection, "select")
    kinds = [p.kind for p in s.papers]
    out: dict[str, Any] = {
        "ranked": kinds.count("ranked"),
        "recommended": kinds.count("recommended"),
        "method": s.method,
    }
    if s.usage:
        out.update(_usage(s.usage, s.cost_usd or 0.0))
    if s.warnings:
        out["warnings"] = s.warnings
    return out


def _analyze(paths: EditionPaths) -> dict[str, Any] | None:
    if not paths.analyses.is_dir():
        return None
    # Only the analyses of the papers selected now: a reselection leaves older files behind.
    wanted = None
    if paths.selection.is_file():
        wanted = {s.id for s in read_model(paths.selection, Selection, "select").papers}
    # ID.json in the edition's language, ID.LANG.json in another one some subscriber reads.
    found: list[tuple[str | None, PaperAnalysis]] = []
    for path in sorted(paths.analyses.glob("*.json")):
        head, _, tail = path.stem.rpartition(".")
        pid, lang = (head, tail) if tail.isalpha() else (path.stem, None)
        if wanted is None or pid in wanted:
            found.append((lang, read_model(path, PaperAnalysis, "analyze")))
    found.sort(key=lambda item: item[0] is not None)  # the edition's language first
    items = [i for lang, i in found if lang is None]
    sources = [i.fulltext.source for i in items]
    counts: dict[str, int] = {}
    for _, i in found:
        counts[i.language] = counts.get(i.language, 0) + 1
    out: dict[str, Any] = {
        "papers": len(items),
        "html": sources.count("html"),
        "pdf": sources.count("pdf"),
        "abstract": sources.count("abstract"),
        "languages": ", ".join(f"{lang} {n}" for lang, n in counts.items()),
        # For operators only: subscribers never see these.
        "warnings": {
            i.id + (f" ({lang})" if lang else ""): i.warnings for lang, i in found if i.warnings
        },
    }
    llm_items = [i for _, i in found if i.usage]
    if llm_items:
        total = {
            key: sum(i.usage.get(key, 0) for i in llm_items)
            for key in ("calls", "prompt_tokens", "completion_tokens")
        }
        out.update(_usage(total, sum(i.cost_usd or 0.0 for i in llm_items)))
        out["llm_fallbacks"] = sum(1 for i in llm_items if i.fallback)
    return out


def _build(paths: EditionPaths) -> dict[str, Any] | None:
    if not paths.edition.is_file():
        return None
    e = read_model(paths.edition, Edition, "build")
    return {
        "variants": [
            {
                "key": v.key,
                "papers": len(v.paper_ids),
                "subscribers": v.subscriber_count,
                "html_kb": round(v.html_bytes / 1000, 1),
                "shortened": v.shortened,
            }
            for v in e.variants
        ]
    }


def status_lines(report: dict[str, Any]) -> list[str]:
    """The report as ``newsletter status`` prints it: one line per stage, then warnings."""
    lines = [f"edition {report['date']} ({report['folder']})"]
    for stage in ("collect", "select", "analyze", "build", "deliver", "feedback"):
        info = report.get(stage)
        if info is None:
            if stage != "feedback":
                lines.append(f"  {stage:<8} not run")
            continue
        if stage == "build" and "variants" in info:
            parts = [
                f"{v['key']} {v['papers']}p {v['subscribers']}s {v['html_kb']}KB"
                for v in info["variants"]
            ]
            lines.append(f"  {stage:<8} {len(parts)} variants: {'; '.join(parts)}")
            lines += [
                f"           ! {v['key']} shortened to fit the size budget: "
                + "; ".join(v["shortened"])
                for v in info["variants"]
                if v.get("shortened")
            ]
            continue
        flat = {k: v for k, v in info.items() if not isinstance(v, (list, dict))}
        lines.append(f"  {stage:<8} " + ", ".join(f"{k} {v}" for k, v in flat.items()))
        items = info.get("warnings")
        if isinstance(items, list):
            lines += [f"           ! {w}" for w in items]
        elif isinstance(items, dict):
            lines += [f"           ! {pid}: {w}" for pid, ws in items.items() for w in ws]
    return lines
