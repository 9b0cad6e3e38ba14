"""The configured topic taxonomy and its rules (arXiv categories and keywords)."""

from __future__ import annotations

import re
from functools import lru_cache

from .config import TopicSettings
from .models import Paper


@lru_cache(maxsize=512)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(keyword.lower())}s?(?![\w-])")


def rule_topics(paper: Paper, taxonomy: dict[str, TopicSettings]) -> list[str]:
    """Topics whose category or keyword rules match the paper, in taxonomy order."""
    text = " ".join([paper.title, paper.abstract, " ".join(paper.ai_keywords)]).lower()
    cats = set(paper.categories) | ({paper.primary_category} if paper.primary_category else set())
    found = []
    for name, rule in taxonomy.items():
        if cats & set(rule.arxiv_categories) or any(
            _keyword_pattern(k).search(text) for k in rule.keywords
        ):
            found.append(name)
    return found
