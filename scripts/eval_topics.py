#!/usr/bin/env python3
"""Score the topic rules against the hand-labelled evaluation set.

Loads ``tests/eval/topics/papers.jsonl`` (or ``--file PATH``), asks the current rules for the
topics of each paper, and prints per topic the support (papers labelled with it), how many the
rules predicted, the true positives, precision and recall; then micro-averaged precision and
recall, and the misrouted papers: false positives per topic with the category or keyword that
fired, and the papers each topic missed. The labels follow tests/eval/topics/README.md; do not
tune rules paper by paper against this set.

    python scripts/eval_topics.py [--file tests/eval/topics/papers.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.config import Settings, TopicSettings
from newsletter.models import Paper
from newsletter.topics import explain, paper_topics

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "tests" / "eval" / "topics" / "papers.jsonl"
TAXONOMY: dict[str, TopicSettings] = Settings().topics


def to_paper(record: dict) -> Paper:
    """The record as the pipeline's Paper (unknown categories become an empty list)."""
    return Paper(
        id=record["id"],
        title=record["title"],
        abstract=record["abstract"],
        categories=record["categories"] or [],
        primary_category=record["primary_category"],
    )


def predict(record: dict) -> list[str]:
    """The topics the rules give one record (no model analysed it): the only place that calls
    the topic API."""
    return paper_topics(to_paper(record), TAXONOMY)


def triggers(record: dict, topic: str) -> list[str]:
    """Which of the topic's categories and keywords fire on the record (``topics.explain``)."""
    rule = TAXONOMY.get(topic)
    return explain(to_paper(record), rule) if rule is not None else []


@dataclass
class Score:
    support: int = 0
    predicted: int = 0
    tp: int = 0
    false_pos: list[dict] = field(default_factory=list)
    missed: list[dict] = field(default_factory=list)


def load(path: Path) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{number}: not JSON ({exc.msg})") from None
    return records


def evaluate(records: list[dict]) -> tuple[dict[str, Score], dict[str, list[str]]]:
    """Scores per topic (taxonomy order, then any other topic seen) and the predictions by id."""
    scores: dict[str, Score] = {name: Score() for name in TAXONOMY}
    predictions = {}
    for record in records:
        gold = set(record["topics"])
        got = predict(record)
        predictions[record["id"]] = got
        for topic in gold | set(got):
            score = scores.setdefault(topic, Score())
            if topic in gold:
                score.support += 1
            if topic in got:
                score.predicted += 1
            if topic in gold and topic in got:
                score.tp += 1
            elif topic in got:
                score.false_pos.append(record)
            else:
                score.missed.append(record)
    return scores, predictions


def ratio(num: int, den: int) -> str:
    return f"{num / den:.2f}" if den else "-"


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


_HEAD = f"{'topic':<11}{'support':>8}{'pred':>6}{'TP':>5}"
COLUMNS = _HEAD + f"{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}"


def row(name: str, support: int, predicted: int, tp: int) -> str:
    counts = f"{support:>8}{predicted:>6}{tp:>5}{predicted - tp:>5}{support - tp:>5}"
    return f"{name:<11}{counts}{ratio(tp, predicted):>11}{ratio(tp, support):>8}"


def report(records: list[dict], path: Path, out=sys.stdout) -> None:
    def emit(text: str = "") -> None:
        print(text, file=out)

    scores, predictions = evaluate(records)
    exact = sum(set(predictions[r["id"]]) == set(r["topics"]) for r in records)
    emit(f"{path}: {len(records)} papers; rules only (newsletter.topics.paper_topics)")
    emit()
    emit(COLUMNS)
    for topic, s in scores.items():
        emit(row(topic, s.support, s.predicted, s.tp))
    tp = sum(s.tp for s in scores.values())
    predicted = sum(s.predicted for s in scores.values())
    support = sum(s.support for s in scores.values())
    precision, recall = (tp / predicted if predicted else 0.0), (tp / support if support else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    emit(f"{row('micro', support, predicted, tp)}   F1 {f1:.2f}")
    emit(f"exact topic set: {exact}/{len(records)} papers")

    emit("\nMisrouted: false positives (topic given, not in the labels) and what fired")
    for topic, s in scores.items():
        if s.false_pos:
            emit(f"  {topic} ({len(s.false_pos)}):")
        for record in s.false_pos:
            fired = ", ".join(triggers(record, topic)) or "?"
            emit(f"    {record['id']:<11} {shorten(record['title'], 60):<60}  <- {fired}")

    emit("\nMissed: false negatives (in the labels, not given)")
    for topic, s in scores.items():
        if s.missed:
            emit(f"  {topic} ({len(s.missed)}):")
        for record in s.missed:
            cats = ",".join(record["categories"] or []) or "categories unknown"
            emit(f"    {record['id']:<11} {shorten(record['title'], 60):<60}  [{cats}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="the labelled JSONL set")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    report(load(args.file), args.file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
