"""The topic-routing evaluation set (tests/eval/topics/papers.jsonl) is well formed.

Shape only: how well the rules score on it is for scripts/eval_topics.py, never a test here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from newsletter.config import Settings

SET = Path(__file__).parent / "topics" / "papers.jsonl"
REQUIRED = {"id", "title", "categories", "primary_category", "abstract", "topics", "source"}
OPTIONAL = {"categories_complete", "note"}
TAXONOMY = list(Settings().topics)
ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}")


def records() -> list[dict]:
    lines = SET.read_text(encoding="utf-8").splitlines()
    out = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            pytest.fail(f"line {number}: not JSON ({exc.msg})")
        assert isinstance(record, dict), f"line {number}: not an object"
        out.append(record)
    return out


def test_every_line_is_a_record_with_the_required_fields():
    for record in records():
        where = record.get("id", record)
        assert not REQUIRED - set(record), f"{where}: missing {REQUIRED - set(record)}"
        assert set(record) <= REQUIRED | OPTIONAL, (
            f"{where}: unknown {set(record) - REQUIRED - OPTIONAL}"
        )


def test_field_types():
    for record in records():
        pid = record["id"]
        assert isinstance(pid, str) and ARXIV_ID.fullmatch(pid), (
            f"{pid!r}: not an arXiv id without version"
        )
        assert isinstance(record["title"], str) and record["title"].strip(), pid
        assert isinstance(record["abstract"], str) and record["abstract"].strip(), pid
        assert len(record["abstract"]) <= 700, f"{pid}: abstract is an excerpt of ~600 characters"
        assert isinstance(record["source"], str) and record["source"].strip(), pid
        cats, primary = record["categories"], record["primary_category"]
        assert cats is None or (
            isinstance(cats, list) and cats and all(isinstance(c, str) and c for c in cats)
        ), f"{pid}: categories must be null or a non-empty list of strings"
        assert primary is None or (isinstance(primary, str) and primary), pid
        if cats and primary:
            assert cats[0] == primary, f"{pid}: categories list the primary first"
        if "categories_complete" in record:
            assert record["categories_complete"] is False and cats, pid
        if "note" in record:
            assert isinstance(record["note"], str) and record["note"].strip(), pid


def test_topics_come_from_the_default_taxonomy():
    for record in records():
        topics = record["topics"]
        assert isinstance(topics, list), record["id"]
        assert len(topics) == len(set(topics)), f"{record['id']}: repeated topic"
        unknown = set(topics) - set(TAXONOMY)
        assert not unknown, f"{record['id']}: not in the default taxonomy: {unknown}"


def test_ids_are_unique():
    counts = Counter(record["id"] for record in records())
    assert [pid for pid, n in counts.items() if n > 1] == []


def test_size_and_support_per_topic():
    all_records = records()
    assert len(all_records) >= 90
    support = Counter(topic for record in all_records for topic in record["topics"])
    thin = {topic: support[topic] for topic in TAXONOMY if support[topic] < 3}
    assert not thin, f"topics with fewer than 3 labelled papers: {thin}"
