"""Each subscriber's language, whole: analyses per language for the papers its subscribers
receive, reasons per language, variants rendered with their language's cards, and older stage
files still read. The bundled recorded day, offline, through the commands."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support.cli import run
from support.render_edition import load_cards, write_edition

from newsletter.models import Edition, PaperAnalysis, Selection
from newsletter.stages.build import build

DAY = "2026-06-12"
KOREAN_ONLY = [
    {"email": "minji.kim@example.com", "topics": ["llm", "agents"]},
    {"email": "sora.lee@example.com"},
]


def folder(root: Path) -> Path:
    return root / "data" / "editions" / DAY


def subscribers(root: Path, rows: list[dict[str, object]]) -> None:
    (root / "subscribers").mkdir(exist_ok=True)
    (root / "subscribers" / "list.yaml").write_text(yaml.safe_dump(rows), encoding="utf-8")


def english_files(root: Path) -> dict[str, PaperAnalysis]:
    return {
        p.name.removesuffix(".en.json"): PaperAnalysis.model_validate_json(p.read_bytes())
        for p in (folder(root) / "analyses").glob("*.en.json")
    }


def test_english_cards_are_made_for_what_english_subscribers_receive(workdir: Path) -> None:
    subscribers(workdir, KOREAN_ONLY)
    run("collect", "--date", DAY, "--replay", "sample")
    run("select", "--date", DAY)
    run("analyze", "--date", DAY)
    assert english_files(workdir) == {}  # nobody reads English: no English card is made
    selection = Selection.model_validate_json((folder(workdir) / "selection.json").read_bytes())
    assert all(set(s.reasons) == {"ko"} for s in selection.papers)

    english = {"email": "alex.chen@example.com", "topics": ["robotics"], "language": "en"}
    subscribers(workdir, [*KOREAN_ONLY, english])
    missing = run("build", "--date", DAY, code=1).output
    assert ".en.json is missing: run 'newsletter analyze' first" in missing
    kept = {p.name: p.stat().st_mtime_ns for p in (folder(workdir) / "analyses").glob("*.json")}
    out = run("analyze", "--date", DAY).output
    assert "analyze (en): " in out and "analyze (ko)" not in out  # the Korean ones are kept
    made = english_files(workdir)
    edition_json = folder(workdir) / "edition.json"
    run("build", "--date", DAY)
    edition = Edition.model_validate_json(edition_json.read_bytes())
    [variant] = [v for v in edition.variants if v.language == "en"]
    assert sorted(made) == sorted(variant.paper_ids)  # exactly the papers they receive
    assert all(a.language == "en" and a.analyzer == "offline" for a in made.values())
    for name, mtime in kept.items():
        assert (folder(workdir) / "analyses" / name).stat().st_mtime_ns == mtime
    assert edition.titles == {"en": "AI Paper Digest", "ko": "AI 논문 핵심 요약"}
    # The reasons were written for Korean only: the English card gets one made in English.
    text = (folder(workdir) / "variants" / f"{variant.key}.txt").read_text(encoding="utf-8")
    assert "🤖 recommended: picked from today's other papers | 📝 Abstract" in text
    assert "추천" not in text


def test_an_analysis_in_another_language_is_redone_or_refused(workdir: Path) -> None:
    run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    path = sorted(p for p in (folder(workdir) / "analyses").glob("*.json") if ".en." not in p.name)[
        0
    ]
    data = json.loads(path.read_text(encoding="utf-8"))
    data["language"] = "en"
    path.write_text(json.dumps(data), encoding="utf-8")
    refused = run("build", "--date", DAY, "--force", code=1).output
    assert f"{path.name}: holds an analysis in 'en', not 'ko'" in refused
    run("analyze", "--date", DAY)
    assert PaperAnalysis.model_validate_json(path.read_bytes()).language == "ko"
    run("build", "--date", DAY)


def test_an_older_selection_keeps_its_reason(tmp_path: Path) -> None:
    cards = load_cards()
    for card in cards:  # selection.json as written before reasons per language
        card.selected.reasons = {}
    settings = write_edition(tmp_path, cards)
    lines: list[str] = []
    edition = build(settings, DAY, progress=lines.append)
    paths = settings.layout.edition(DAY)
    full = next(v for v in edition.variants if len(v.paper_ids) == 10)
    text = (paths.variants / f"{full.key}.txt").read_text(encoding="utf-8")
    assert "🤖 추론 효율 주제를 보완하는 실용적인 가속 기법 | 📄 HTML" in text.replace("추천: ", "")
    [english] = [v for v in edition.variants if v.language == "en"]
    text = (paths.variants / f"{english.key}.txt").read_text(encoding="utf-8")
    assert "📊 3rd most upvoted" in text and "추천" not in text
    # The card with a check warning: named for the operator, not shown to subscribers.
    assert any("cards have check warnings" in line and "2606.06113: 1" in line for line in lines)
