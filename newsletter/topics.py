"""A paper's topics from the configured taxonomy.

``paper_topics`` decides, in this order of trust:

1. **arXiv categories**: a topic's ``primary_categories`` (the paper's primary category) and
   ``arxiv_categories`` (any of its categories). An entry without a subject class ("q-bio",
   "physics") stands for its whole archive.
2. **The model's topics**, when an LLM analysed the paper (chosen from the taxonomy by reading
   the full text): together with the category topics, they are the paper's topics.
3. **Keywords**, only when no model analysed the paper: ``title_keywords`` in the title,
   ``abstract_keywords`` in the abstract (and Hugging Face's ``ai_keywords``), ``keywords`` in
   either. An abstract gives the topic when its keywords occur ``abstract_matches`` times:
   a word used once in passing does not make a paper about it. A topic found by keywords
   alone yields to its ``unless_topics``.

Keywords match whole words and phrases, case-insensitively, with an optional plural "s". A
keyword may begin a hyphenated compound ("LLM-based" holds "LLM") but not continue one
("vision-language model" is not a "language model"; name such compounds whole), and a space
or hyphen inside a phrase matches either ("multi-agent" = "multi agent"). A keyword written
in capitals ("RAG", "VLA") matches only in capitals: "rag" is another word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .config import TopicSettings
from .models import Paper

_GAP = r"[\s-]+"  # between the words of a phrase: spaces or a hyphen


@lru_cache(maxsize=2048)
def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """The whole-word pattern of one keyword."""
    words = [re.escape(w) for w in re.split(r"[\s-]+", keyword.strip()) if w]
    acronym = len(keyword) > 1 and keyword.isupper()
    flags = 0 if acronym else re.IGNORECASE
    phrase = _GAP.join(words)
    return re.compile(rf"(?<![\w-]){phrase}s?(?!\w)", flags)


def _matches(text: str, keywords: Iterable[str]) -> list[tuple[str, int]]:
    """Each keyword found in ``text`` with its number of occurrences."""
    found = []
    for keyword in keywords:
        if keyword.strip() and (n := len(keyword_pattern(keyword).findall(text))):
            found.append((keyword, n))
    return found


def _in_categories(wanted: Iterable[str], categories: set[str]) -> list[str]:
    """The entries of ``wanted`` that name one of ``categories`` (or its archive)."""
    archives = {c.split(".", 1)[0] for c in categories}
    return [w for w in wanted if w in categories or ("." not in w and w in archives)]


def explain(paper: Paper, rule: TopicSettings) -> list[str]:
    """Why ``rule`` gives ``paper`` its topic: each category and keyword that fired."""
    return [*_category_reasons(paper, rule), *_keyword_reasons(paper, rule)]


def _category_reasons(paper: Paper, rule: TopicSettings) -> list[str]:
    primary = {paper.primary_category} if paper.primary_category else set()
    cats = set(paper.categories) | primary
    return [f"primary {c}" for c in _in_categories(rule.primary_categories, primary)] + [
        f"category {c}" for c in _in_categories(rule.arxiv_categories, cats)
    ]


def _keyword_reasons(paper: Paper, rule: TopicSettings) -> list[str]:
    in_title = _matches(paper.title, [*rule.title_keywords, *rule.keywords])
    title = [f'title "{k}"' for k, _ in in_title]
    abstract_text = " ".join([paper.abstract, " ; ".join(paper.ai_keywords)])
    hits = _matches(abstract_text, [*rule.abstract_keywords, *rule.keywords])
    if sum(n for _, n in hits) < rule.abstract_matches:
        return title
    return title + [f'abstract "{k}"' + (f" x{n}" if n > 1 else "") for k, n in hits]


def category_topics(paper: Paper, taxonomy: dict[str, TopicSettings]) -> list[str]:
    """Topics the paper's arXiv categories give, in taxonomy order."""
    return [name for name, rule in taxonomy.items() if _category_reasons(paper, rule)]


def keyword_topics(paper: Paper, taxonomy: dict[str, TopicSettings]) -> list[str]:
    """Topics the keywords find in the title and abstract, in taxonomy order.

    A topic found only by its keywords is set aside when the paper also has one of its
    ``unless_topics`` (an LLM agent paper's "LLM" is the agent's engine, not its subject).
    """
    found = [name for name, rule in taxonomy.items() if _keyword_reasons(paper, rule)]
    everything = set(found) | set(category_topics(paper, taxonomy))
    return [name for name in found if not (set(taxonomy[name].unless_topics) - {name}) & everything]


def paper_topics(
    paper: Paper,
    taxonomy: dict[str, TopicSettings],
    analysis_topics: list[str] | None = None,
) -> list[str]:
    """The paper's topics: the model's (when a model analysed it: ``analysis_topics``, in its
    order) or else the keywords', with those of its categories; rule topics in taxonomy order.
    """
    by_rules = set(category_topics(paper, taxonomy))
    if analysis_topics is None:
        by_rules |= set(keyword_topics(paper, taxonomy))
        return [name for name in taxonomy if name in by_rules]
    chosen = [t for t in dict.fromkeys(analysis_topics) if t in taxonomy]
    return chosen + [name for name in taxonomy if name in by_rules and name not in chosen]


def rule_topics(paper: Paper, taxonomy: dict[str, TopicSettings]) -> list[str]:
    """The topics the rules alone give (categories and keywords): no model's opinion."""
    return paper_topics(paper, taxonomy)
