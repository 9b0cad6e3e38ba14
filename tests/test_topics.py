"""Topics: categories first, then the model's topics or whole-word keywords per field; a
subscriber who excludes a topic loses only the papers really about it."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from support import FIXTURES

from newsletter.config import Settings, TopicSettings, load_settings
from newsletter.errors import ConfigError
from newsletter.models import Paper, Subscriber
from newsletter.routing import wants
from newsletter.sources.feed import parse_feed_entry
from newsletter.sources.huggingface import parse_item
from newsletter.topics import explain, keyword_pattern, paper_topics

DEFAULT = Settings().topics


def paper(title: str = "A paper", abstract: str = "", **fields: object) -> Paper:
    return Paper.model_validate(
        {"id": "2606.00001", "title": title, "abstract": abstract, **fields}
    )


@pytest.mark.parametrize(
    ("keyword", "text", "found"),
    [
        ("detection", "Object detections in the wild", True),  # plural
        ("detection", "Undetectable errors", False),  # inside a word
        ("LLM", "LLM-based agents for chemistry", True),  # begins a compound
        ("language model", "Medical vision-language models", False),  # continues one
        ("multi-agent", "A multi agent debate", True),  # space or hyphen inside a phrase
        ("ASR", "ASR for accented speech", True),
        ("ASR", "asr lowercase is another word", False),  # acronyms only in capitals
        ("RAG", "rag dolls and fabrics", False),
        ("speech", "SPEECH in capitals", True),  # ordinary words ignore case
    ],
)
def test_keywords_match_whole_words_and_phrases(keyword: str, text: str, found: bool) -> None:
    assert bool(keyword_pattern(keyword).search(text)) is found


def test_keywords_per_field_and_the_abstract_threshold() -> None:
    rule = TopicSettings(
        title_keywords=["robot"], abstract_keywords=["grasping"], abstract_matches=2
    )
    taxonomy = {"robotics": rule}
    assert paper_topics(paper("A robot that folds"), taxonomy) == ["robotics"]
    # A title keyword in the abstract only, an abstract keyword in the title only: nothing.
    assert paper_topics(paper("Grasping", "A robot is mentioned."), taxonomy) == []
    # One passing mention in the abstract is not enough; two are.
    assert paper_topics(paper(abstract="We study grasping."), taxonomy) == []
    assert paper_topics(paper(abstract="Grasping... better grasping."), taxonomy) == ["robotics"]
    assert explain(paper(abstract="Grasping... better grasping."), rule) == [
        'abstract "grasping" x2'
    ]


def test_categories_primary_any_and_whole_archives() -> None:
    taxonomy = {
        "llm": TopicSettings(primary_categories=["cs.CL"]),
        "science": TopicSettings(arxiv_categories=["q-bio", "physics.chem-ph"]),
    }
    cross = paper(categories=["cs.LG", "cs.CL", "q-bio.QM"], primary_category="cs.LG")
    assert paper_topics(cross, taxonomy) == ["science"]  # cs.CL only cross-listed
    primary = paper(categories=["cs.CL", "physics.chem-ph"], primary_category="cs.CL")
    assert paper_topics(primary, taxonomy) == ["llm", "science"]
    assert paper_topics(paper(categories=["physics.optics"]), taxonomy) == []


def test_a_model_that_analysed_the_paper_replaces_the_keywords_not_the_categories() -> None:
    taxonomy = {
        "robotics": TopicSettings(arxiv_categories=["cs.RO"]),
        "safety": TopicSettings(keywords=["alignment"]),
        "vision": TopicSettings(keywords=["image"]),
    }
    p = paper("Planner alignment for robot images", categories=["cs.RO"])
    assert paper_topics(p, taxonomy) == ["robotics", "safety", "vision"]
    # The model read the paper and said vision: its keyword "alignment" no longer counts.
    assert paper_topics(p, taxonomy, analysis_topics=["vision"]) == ["vision", "robotics"]
    assert paper_topics(p, taxonomy, analysis_topics=[]) == ["robotics"]


def test_a_topic_found_by_keywords_alone_yields_to_its_unless_topics() -> None:
    taxonomy = {
        "robotics": TopicSettings(title_keywords=["driving"]),
        "safety": TopicSettings(title_keywords=["safety"], unless_topics=["robotics"]),
    }
    assert paper_topics(paper("Safety of chatbots"), taxonomy) == ["safety"]
    assert paper_topics(paper("Safety-critical driving scenes"), taxonomy) == ["robotics"]


def test_old_topic_settings_still_load_and_mean_the_same(tmp_path: Path) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[topics.llm]\narxiv_categories = ["cs.CL"]\nkeywords = ["llm"]\n')
    settings = load_settings(config)
    assert list(settings.topics) == ["llm"]
    rule = settings.topics["llm"]
    assert paper_topics(paper(categories=["cs.LG", "cs.CL"]), settings.topics) == ["llm"]
    assert paper_topics(paper(abstract="One LLM."), settings.topics) == ["llm"]
    assert rule.abstract_matches == 1 and rule.unless_topics == []
    config.write_text('[topics.llm]\nkeyword = ["llm"]\n')
    with pytest.raises(ConfigError, match="topics.llm.keyword"):
        load_settings(config)


# -- real papers: the words that misrouted them -------------------------------------------

# arXiv 2510.14968 (NeurIPS 2025), as Hugging Face lists a paper: no categories. Its
# "alignment" is of a planner with a visuomotor policy, not of AI with human values.
RDD = paper(
    "RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in Long-Horizon Tasks",
    "To tackle long-horizon tasks, recent hierarchical vision-language-action (VLAs) "
    "frameworks employ vision-language model (VLM)-based planners to decompose complex "
    "manipulation tasks into simpler sub-tasks that low-level visuomotor policies can easily "
    "handle. Typically, the VLM planner is finetuned to learn to decompose a target task. This "
    "finetuning requires target task demonstrations segmented into sub-tasks by either human "
    "annotation or heuristic rules. However, the heuristic subtasks can deviate significantly "
    "from the training data of the visuomotor policy, which degrades task performance. To "
    "address these issues, we propose a Retrieval-based Demonstration Decomposer (RDD) that "
    "automatically decomposes demonstrations into sub-tasks by aligning the visual features of "
    "the decomposed sub-task intervals with those from the training data of the low-level "
    "visuomotor policies. Our method outperforms the state-of-the-art sub-task decomposer on "
    "both simulation and real-world tasks, demonstrating robustness across diverse settings.",
)


def atom_paper(pid: str) -> Paper:
    """A paper of the recorded arXiv Atom feed (tests/fixtures/arxiv)."""
    feed = feedparser.parse((FIXTURES / "arxiv" / "atom-cs.LG-trimmed.xml").read_bytes())
    found = [parse_feed_entry(e, "arxiv-rss") for e in feed.entries]
    return next(p for p in found if p is not None and p.id == pid)


def reader(*exclude: str) -> Subscriber:
    return Subscriber(email="a@example.com", exclude=list(exclude))


def test_excluding_safety_keeps_the_planner_alignment_robotics_paper() -> None:
    topics = paper_topics(RDD, DEFAULT)
    assert "robotics" in topics and "safety" not in topics
    assert wants(reader("safety"), topics)
    assert not wants(reader("robotics"), topics)


def test_excluding_safety_keeps_a_drug_toxicity_paper() -> None:
    drug = atom_paper("2609.28553")  # SMILESGNN: clinical toxicity of drugs, cs.LG + cs.AI
    topics = paper_topics(drug, DEFAULT)
    assert "safety" not in topics and "science" in topics
    assert wants(reader("safety"), topics) and not wants(reader("science"), topics)


def test_excluding_safety_drops_the_papers_really_about_it() -> None:
    day = json.loads((FIXTURES / "hf" / "2026-06-12.json").read_bytes())
    items = {item["paper"]["id"]: item for item in day}
    for pid in ("2606.07867", "2606.11409"):  # the cold-start safety gap; adversarial robustness
        real = parse_item(items[pid], "2026-06-12", "fixture")
        topics = paper_topics(real, DEFAULT)
        assert "safety" in topics, (pid, explain(real, DEFAULT["safety"]))
        assert not wants(reader("safety"), topics) and wants(reader(), topics)


def test_an_unknown_unless_topic_is_an_error_at_load(tmp_path: Path) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[topics.llm]\nkeywords = ["llm"]\nunless_topics = ["agent"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "newsletter.toml:3: topics.llm.unless_topics: unknown topic 'agent'" in str(caught.value)
