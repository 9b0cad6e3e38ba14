"""The LLM recommender: M papers beyond the ranked ones, each with a one-line reason.

The model sees the candidates left after the ranked ones
(title, abstract head, upvotes, organization, stars) and ``llm.interests``, and names M ids with
a one-line reason each, in the edition's language and in every other language subscribers
read (``reason_en``...). Ids are checked (a candidate, not ranked, not repeated), and each
reason's script; problems go back in one repair request, and any picks still missing come
from the heuristic.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence
from typing import Literal

from ..config import Settings
from ..errors import EndpointUnavailable
from ..models import Paper, Selected, split_arxiv_id
from ..reasons import reason_for, recommended_reason
from . import Recommendation, prompts
from .cache import AnswerCache, cache_key
from .checks import cut_text, foreign_script
from .client import LLMClient, cost
from .heuristic import heuristic, with_reasons
from .schema import AnswerError, Pick, parse_recommendation, recommendation_schema

log = logging.getLogger(__name__)


_ABSTRACT_HEAD = 300
_LANGUAGE_NAMES = {"ko": "Korean", "en": "English"}
# A reason that speaks of upvotes, for a paper that has none, would tell subscribers a fiction.
_UPVOTES = re.compile(r"upvot|추천\s*수|업보트|좋아요", re.IGNORECASE)
MAX_ID_CHARS = 40  # an arXiv id with its version is under 20
MAX_REASON_CHARS = 300  # a one-line reason, shown on the card


def _candidate_line(p: Paper) -> str:
    head = " ".join(p.abstract.split())
    if len(head) > _ABSTRACT_HEAD:
        head = head[:_ABSTRACT_HEAD].rsplit(" ", 1)[0] + " …"
    facts = [
        f"upvotes {p.upvotes}" if p.upvotes is not None else "no upvotes",
        f"org {p.organization}" if p.organization else "",
        f"stars {p.github_stars}" if p.github_stars is not None else "",
    ]
    return f"- id {p.id} | {p.title} | {', '.join(f for f in facts if f)}\n  {head}"


def validate_picks(
    picks: list[Pick], pool_ids: set[str], ranked_ids: set[str], m: int
) -> tuple[list[Pick], list[str]]:
    """The usable picks (in order) and one sentence per problem with the others."""
    good: list[Pick] = []
    problems: list[str] = []
    seen: set[str] = set()
    for pick in picks:
        pid = cut_text(pick.id.strip(), MAX_ID_CHARS)  # quoted back in the problems
        with contextlib.suppress(ValueError):
            pid = split_arxiv_id(pid)[0]
        if pid in ranked_ids:
            problems.append(f"{pid} is already ranked; pick another candidate")
        elif pid not in pool_ids:
            problems.append(f"{pid} is not a candidate id")
        elif pid in seen:
            problems.append(f"{pid} is named more than once")
        elif not pick.reason.strip():
            problems.append(f"{pid} has no reason")
        else:
            seen.add(pid)
            reasons = {
                k: cut_text(" ".join(v.split()), MAX_REASON_CHARS)
                for k, v in pick.reasons.items()
                if v.strip()
            }
            reason = cut_text(" ".join(pick.reason.split()), MAX_REASON_CHARS)
            good.append(Pick(id=pid, reason=reason, reasons=reasons))
    if len(good) > m:
        good = good[:m]  # more than asked: the first M, in the model's order
    elif len(good) < m and not problems:
        problems.append(f"only {len(good)} picks, asked for {m}")
    return good, problems


class LLMRecommender:
    """Asks the LLM for M papers beyond the ranked ones, each with a one-line reason."""

    def __init__(self, settings: Settings, client: LLMClient) -> None:
        self.settings = settings
        self.client = client
        self.model = client.model
        self.language = settings.edition.language
        self.prompt = prompts.load("recommend", self.language, settings.llm.prompt_dir)
        self.cache = AnswerCache(settings.layout.llm_cache)
        self.method: Literal["llm", "heuristic"] = "llm"
        self.warnings: list[str] = []
        self.no_votes: set[str] = set()  # the candidates without upvotes

    def usage_line(self) -> str:
        """Tokens and cost of this run's recommendation calls."""
        return self.client.usage_line("recommendation")

    def usage_record(self) -> tuple[dict[str, int], float]:
        """(calls and tokens, cost) of this run's recommendation, for ``selection.json``."""
        u = self.client.usage
        usage = {
            "calls": u.calls,
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "from_cache": u.cache_hits,
        }
        return usage, round(cost(self.settings.llm, u.prompt_tokens, u.completion_tokens), 6)

    def messages(
        self,
        candidates: list[Paper],
        ranked_papers: list[Paper],
        m: int,
        others: Sequence[str] = (),
    ) -> list[dict[str, str]]:
        """The system and user messages: ranked papers, interests, candidates, M, and the
        other languages the reason is wanted in."""
        more = "".join(
            f', "reason_{lang}": "the same reason in {_LANGUAGE_NAMES.get(lang, lang)}"'
            for lang in others
        )
        values = {
            "m": m,
            "more_reasons": more,
            "interests": self.settings.llm.interests or "-",
            "ranked": "\n".join(f"- {p.id} | {p.title}" for p in ranked_papers) or "-",
            "candidates": "\n".join(_candidate_line(p) for p in candidates),
        }
        return [
            {"role": "system", "content": self.prompt.render("system", **values)},
            {"role": "user", "content": self.prompt.render("user", **values)},
        ]

    def recommend(
        self, pool: list[Paper], ranked_sel: list[Selected], m: int, languages: Sequence[str] = ()
    ) -> Recommendation:
        """M recommended papers, how they were chosen, and what it cost; each reason in the
        edition's language and in ``languages``."""
        others = [lang for lang in dict.fromkeys(languages) if lang != self.language]
        picks = self.picks(pool, ranked_sel, m, others)
        usage, cost_usd = self.usage_record()
        model = self.model if self.method == "llm" else None
        return Recommendation(picks, self.method, model, list(self.warnings), usage, cost_usd)

    def picks(
        self, pool: list[Paper], ranked_sel: list[Selected], m: int, others: Sequence[str] = ()
    ) -> list[Selected]:
        """M recommended papers; ids checked, gaps filled by the heuristic, reasons kept."""
        ranked_ids = {s.id for s in ranked_sel}
        candidates = [p for p in pool if p.id not in ranked_ids]
        m = min(m, len(candidates))
        if m <= 0:
            return []
        by_id = {p.id: p for p in pool}
        self.no_votes = {p.id for p in candidates if not p.upvotes}
        # Ranked papers in their order: the messages are the cache key, so they must be stable.
        ranked_papers = [by_id[s.id] for s in ranked_sel if s.id in by_id]
        messages = self.messages(candidates, ranked_papers, m, others)
        key = cache_key(
            kind="recommend",
            model=self.model,
            prompt=self.prompt.version,
            template=self.prompt.digest,
            messages=messages,
        )
        stored = self.cache.get("recommend", key)
        if stored is not None:
            self.client.usage.count("cache_hits")
            picks = [Pick.model_validate(x) for x in stored]
        else:
            try:
                picks = self._ask(messages, {p.id for p in candidates}, ranked_ids, m, others)
            except EndpointUnavailable as exc:
                self.warnings.append(f"recommendation by heuristic: {exc}")
                log.warning("select: %s; recommending by heuristic instead", exc)
                self.method = "heuristic"
                picks = []
            else:
                self.cache.put("recommend", key, [p.model_dump() for p in picks])
        chosen = [self._selected(p, len(ranked_sel) + i + 1, others) for i, p in enumerate(picks)]
        if len(chosen) < m:
            languages = [self.language, *others]
            more = heuristic(
                pool, ranked_sel + chosen, m - len(chosen), self.settings.topics, languages
            )
            self.warnings.append(
                f"recommendation: {len(more)} of {m} picks by greedy topic coverage "
                f"(the model gave {len(chosen)} usable)"
            )
            chosen += more
        return chosen

    def _selected(self, pick: Pick, rank: int, others: Sequence[str]) -> Selected:
        """A pick as a selection, its reason in every language the model wrote it in."""
        written = {self.language: pick.reason, **pick.reasons}
        if pick.id in self.no_votes:
            written = {k: v for k, v in written.items() if not _UPVOTES.search(v)}
        reasons = {lang: recommended_reason(lang, written[lang]) for lang in written}
        missing = [lang for lang in others if lang not in written]
        if missing:
            # The card then gives a general reason in that language (reasons.reason_for).
            self.warnings.append(f"recommendation: no {', '.join(missing)} reason for {pick.id}")
        sel = Selected(id=pick.id, kind="recommended", reason="", rank=rank)
        # The edition's language always has a reason: the model's, else a general one.
        reasons.setdefault(self.language, reason_for(sel, self.language))
        return with_reasons(sel, {k: reasons[k] for k in [self.language, *others] if k in reasons})

    def _ask(
        self,
        messages: list[dict[str, str]],
        pool_ids: set[str],
        ranked_ids: set[str],
        m: int,
        others: Sequence[str],
    ) -> list[Pick]:
        schema = recommendation_schema(others)
        reply = self.client.chat(
            messages, schema_name="recommendation", schema=schema, purpose="recommend"
        )
        good, problems = self._judge(reply.content, pool_ids, ranked_ids, m, others)
        if not problems:
            return good
        repair = self.prompt.repair_messages(messages, reply.content, problems)
        try:
            reply2 = self.client.chat(
                repair, schema_name="recommendation", schema=schema, purpose="recommend-repair"
            )
        except EndpointUnavailable:
            return good
        good2, problems2 = self._judge(reply2.content, pool_ids, ranked_ids, m, others)
        self.warnings += [f"recommendation: {p}" for p in problems2]
        return good2 if len(good2) >= len(good) else good

    def _judge(
        self,
        content: str,
        pool_ids: set[str],
        ranked_ids: set[str],
        m: int,
        others: Sequence[str] = (),
    ) -> tuple[list[Pick], list[str]]:
        try:
            answer = parse_recommendation(content)
        except AnswerError as exc:
            return [], exc.problems
        good, problems = validate_picks(answer.picks, pool_ids, ranked_ids, m)
        for pick in good:
            problems += self._reason_problems(pick, others)
        return good, problems

    def _reason_problems(self, pick: Pick, others: Sequence[str]) -> list[str]:
        """What is wrong with a usable pick's reasons; a wrong one is dropped (a pick whose
        reason is in a stray script still beats a missing pick)."""
        problems = []
        for lang in [self.language, *others]:
            key = "reason" if lang == self.language else f"reason_{lang}"
            text = pick.reason if lang == self.language else pick.reasons.get(lang, "")
            name = _LANGUAGE_NAMES.get(lang, lang)
            if not text:
                problems.append(f"{pick.id} has no '{key}' ({name})")
            elif pick.id in self.no_votes and _UPVOTES.search(text):
                problems.append(f"the '{key}' of {pick.id} mentions upvotes, but it has none")
            elif bad := foreign_script(text, lang):
                problems.append(
                    f"the '{key}' of {pick.id} has characters that are not {name} ({''.join(bad)})"
                )
                if lang != self.language:
                    pick.reasons.pop(lang)
        return problems
