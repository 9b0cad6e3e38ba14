"""The LLM analyzer: full text -> budget -> structured answer -> checks -> one repair -> card.

For each paper: fetch the full text (HTML, PDF or abstract), fit it to ``llm.token_budget``,
ask for the card with structured output, validate it against the schema and run the checks
(``checks.py``). Any failure is quoted back in one repair request; what the repair leaves is
kept as the card's warnings. An answer that never validates becomes the abstract card with the
reason recorded. Results are cached by paper id and version, full-text hash, model, prompt and
language, so a rerun of the same day spends no tokens.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from ..config import Settings
from ..errors import EndpointUnavailable
from ..fulltext import abstract_text, fetch_fulltext
from ..http import Http
from ..models import Analysis, FullText, Paper, PaperAnalysis
from ..topics import paper_topics
from . import prompts
from .budget import Budgeted, fit
from .cache import AnswerCache, cache_key
from .checks import bounded, check
from .client import LLMClient, Usage, cost
from .completion import FAILED, Reply
from .offline import analyze_offline
from .recommender import LLMRecommender
from .schema import LIST_FIELDS, TEXT_FIELDS, AnswerError, analysis_schema, parse_analysis

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
_SOURCE_KIND = {
    "ko": {"html": "논문 전문(HTML)", "pdf": "논문 전문(PDF)", "abstract": "초록만 있음"},
    "en": {"html": "full text (HTML)", "pdf": "full text (PDF)", "abstract": "abstract only"},
}


def make_client(settings: Settings) -> LLMClient:
    """The chat client for ``settings.llm``, logging each call under the data folder."""
    return LLMClient(
        settings.llm,
        api_key=settings.secrets.llm_api_key.get_secret_value(),
        call_log=settings.layout.llm_cache / "calls.jsonl",
    )


def make_llm_analyzer(
    settings: Settings,
    http: Http | None,
    *,
    progress: Progress | None = None,
    client: LLMClient | None = None,
) -> LLMAnalyzer:
    """The analyzer for the configured LLM (``http`` fetches full texts; None = abstracts)."""
    return LLMAnalyzer(settings, http, client or make_client(settings), progress=progress)


def make_llm_recommender(settings: Settings, *, client: LLMClient | None = None) -> LLMRecommender:
    """The recommender for the configured LLM."""
    return LLMRecommender(settings, client or make_client(settings))


def _unreadable(problems: list[str]) -> bool:
    """Most of the card is in another script (e.g. Chinese in a Korean edition) even after the
    repair: subscribers could not read it, so the abstract card is sent instead."""
    foreign = [p for p in problems if "contains characters that are not" in p]
    if any(p.startswith("field 'summary' ") for p in foreign):
        return True  # the card's first line, also shown in the table of contents' preview
    return len(foreign) * 2 > len(TEXT_FIELDS) + len(LIST_FIELDS) - 1  # topics: not checked


class LLMAnalyzer:
    """Analyses papers with the LLM; one instance per run, safe across threads."""

    kind: Literal["llm", "offline"] = "llm"

    def __init__(
        self,
        settings: Settings,
        http: Http | None,
        client: LLMClient,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.client = client
        self.model = client.model
        self.language: str = settings.edition.language
        self.prompt = prompts.load("analyze", self.language, settings.llm.prompt_dir)
        self.taxonomy = list(settings.topics)
        self.schema = analysis_schema(self.taxonomy)
        self.cache = AnswerCache(settings.layout.llm_cache)
        self.progress = progress or log.info

    @property
    def usage(self) -> Usage:
        return self.client.usage

    def usage_line(self) -> str:
        """Tokens and cost of this run's analysis calls."""
        return self.client.usage_line("analysis")

    def for_language(self, language: str) -> LLMAnalyzer:
        """The same analyzer (client, cache, HTTP) writing its cards in ``language``."""
        if language == self.language:
            return self
        other = copy.copy(self)
        other.language = language
        other.prompt = prompts.load("analyze", language, self.settings.llm.prompt_dir)
        return other

    def analyze_many(
        self,
        papers: list[Paper],
        progress: Progress | None = None,
        on_result: Callable[[PaperAnalysis], None] | None = None,
        language: str | None = None,
    ) -> list[PaperAnalysis]:
        """Analyse ``papers`` with at most ``llm.max_concurrency`` in flight, in input order,
        in ``language`` (default: the edition's).

        ``on_result`` gets each analysis as soon as it is collected, so a run stopped halfway
        keeps what it finished.
        """
        if language is not None and language != self.language:
            return self.for_language(language).analyze_many(papers, progress, on_result)
        say = progress or self.progress
        if not papers:
            return []
        workers = min(self.settings.llm.max_concurrency, len(papers))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analyze") as pool:
            futures = [pool.submit(self.analyze, p) for p in papers]
            results = []
            for i, (paper, future) in enumerate(zip(papers, futures, strict=True), start=1):
                try:
                    result = future.result()
                except BaseException:
                    # EndpointRefused (bad key, unknown model): the rest would fail alike.
                    for pending in futures:
                        pending.cancel()
                    raise
                results.append(result)
                if on_result is not None:
                    on_result(result)
                how = (
                    "from cache"
                    if result.usage.get("from_cache")
                    else f"abstract card: {result.fallback}"
                    if result.fallback
                    else f"{result.fulltext.source}, {len(result.warnings)} warnings"
                )
                say(f"analyze: [{i}/{len(papers)}] {paper.id} ({self.language}, {how})")
        return results

    def fulltext(self, paper: Paper) -> tuple[FullText, str]:
        """The paper's full text, or its abstract when no HTTP client was given."""
        if self.http is not None:
            return fetch_fulltext(self.http, self.settings, paper)
        text = abstract_text(paper)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return FullText(
            source="abstract",
            url=paper.abs_url(self.settings.sources.arxiv.abs_url),
            chars=len(text),
            sha256=digest,
            note="no HTTP client: abstract",
        ), text

    def messages(
        self, paper: Paper, fulltext: FullText, budgeted: Budgeted
    ) -> list[dict[str, str]]:
        """The system and user messages for one paper."""
        kinds = _SOURCE_KIND.get(self.language, _SOURCE_KIND["en"])
        values = {
            "paper_id": paper.versioned_id,
            "title": paper.title,
            "authors": ", ".join(paper.authors[:12])
            + (" et al." if len(paper.authors) > 12 else "")
            or "-",
            "organization": paper.organization or "-",
            "source_kind": kinds[fulltext.source],
            "topics": ", ".join(self.taxonomy),
            "fulltext": budgeted.text.strip(),
        }
        return [
            {"role": "system", "content": self.prompt.render("system", **values)},
            {"role": "user", "content": self.prompt.render("user", **values)},
        ]

    def key(self, paper: Paper, fulltext: FullText) -> str:
        return cache_key(
            paper=paper.id,
            version=paper.version,
            fulltext=fulltext.sha256,
            model=self.model,
            prompt=self.prompt.version,
            template=self.prompt.digest,
            language=self.language,
            budget=self.settings.llm.token_budget,
            topics=self.taxonomy,
            title=paper.title,
        )

    def analyze(self, paper: Paper) -> PaperAnalysis:
        """One paper's card (never raises for a bad answer; EndpointRefused stops the run)."""
        fulltext, text = self.fulltext(paper)
        key = self.key(paper, fulltext)
        stored = self.cache.get("analysis", key)
        if stored is not None:
            try:
                cached = PaperAnalysis.model_validate(stored)
            except ValueError:
                cached = None
            if cached is not None:
                self.usage.count("cache_hits")
                cached.usage["from_cache"] = 1
                return cached
        budgeted = fit(text, self.settings.llm.token_budget)
        if budgeted.cut or budgeted.dropped:
            fulltext = fulltext.model_copy(
                update={
                    "note": "; ".join(n for n in (fulltext.note, f"budget: {budgeted.note()}") if n)
                }
            )
        messages = self.messages(paper, fulltext, budgeted)
        spent: list[Reply] = []
        try:
            result = self._ask(paper, fulltext, text, messages, spent)
        except EndpointUnavailable as exc:
            # Not cached: the endpoint may answer next time, and pipeline.analyze redoes
            # offline cards whenever an LLM is configured.
            return self._fallback(paper, str(exc), spent, fulltext)
        self.cache.put("analysis", key, result.model_dump(mode="json"))
        return result

    def _ask(
        self,
        paper: Paper,
        fulltext: FullText,
        source: str,
        messages: list[dict[str, str]],
        spent: list[Reply],
    ) -> PaperAnalysis:
        first = self._chat(messages, paper, "analyze", spent)
        card, problems = self._judge(first, source)
        if card is not None and not problems:
            return self._accept(paper, fulltext, card, [], spent)
        repair = self.prompt.repair_messages(messages, first.content, problems)
        try:
            second = self._chat(repair, paper, "repair", spent)
        except EndpointUnavailable as exc:
            if card is None:
                raise
            return self._accept(paper, fulltext, card, [*problems, f"repair failed: {exc}"], spent)
        card2, problems2 = self._judge(second, source)
        if card2 is not None and (card is None or len(problems2) <= len(problems)):
            card, problems = card2, problems2
        if card is not None and not _unreadable(problems):
            return self._accept(paper, fulltext, card, problems, spent)
        reason = "the LLM's answer was unusable after one repair: " + "; ".join(
            problems if card is not None else problems2
        )
        return self._fallback(paper, reason, spent, fulltext)

    def _chat(
        self, messages: list[dict[str, str]], paper: Paper, purpose: str, spent: list[Reply]
    ) -> Reply:
        reply = self.client.chat(
            messages,
            schema_name="paper_analysis",
            schema=self.schema,
            purpose=purpose,
            subject=paper.id,
            tally=spent,  # requests that failed on the way count as calls too
        )
        spent.append(reply)
        return reply

    def _judge(self, reply: Reply, source: str) -> tuple[Analysis | None, list[str]]:
        try:
            card = parse_analysis(reply.content)
        except AnswerError as exc:
            if reply.finish_reason == "length":
                return None, [
                    *exc.problems,
                    "the answer was cut off at the output token limit; write shorter fields",
                ]
            return None, exc.problems
        card, cut = bounded(card)  # before any check reads a field of unbounded size
        problems = check(card, language=self.language, source=source, taxonomy=self.taxonomy)
        return card, [*cut, *problems]

    def _usage(self, spent: list[Reply]) -> tuple[dict[str, int], float]:
        p = sum(r.prompt_tokens for r in spent)
        c = sum(r.completion_tokens for r in spent)
        usage = {"calls": len(spent), "prompt_tokens": p, "completion_tokens": c}
        if failed := sum(r.finish_reason == FAILED for r in spent):
            usage["failed_calls"] = failed
        return usage, round(cost(self.settings.llm, p, c), 6)

    def _accept(
        self,
        paper: Paper,
        fulltext: FullText,
        card: Analysis,
        problems: list[str],
        spent: list[Reply],
    ) -> PaperAnalysis:
        warnings = [p for p in problems if not p.startswith("field 'topics' has topics")]
        unknown = [t for t in card.topics if t not in self.taxonomy]
        topics = [t for t in dict.fromkeys(card.topics) if t in self.taxonomy]
        if unknown:
            warnings.append(f"topics outside the taxonomy dropped: {', '.join(unknown)}")
        if topics:
            # The model's topics, beside those the paper's arXiv categories give.
            topics = paper_topics(paper, self.settings.topics, analysis_topics=topics)
        else:
            topics = paper_topics(paper, self.settings.topics)
            warnings.append(
                "no topic from the taxonomy; topics from the rules: "
                + (", ".join(topics) or "none")
            )
        usage, price = self._usage(spent)
        return PaperAnalysis(
            id=paper.id,
            fulltext=fulltext,
            analysis=card.model_copy(
                update={"topics": topics, "summary": " ".join(card.summary.split())}
            ),
            analyzer="llm",
            model=self.model,
            prompt_version=self.prompt.version,
            language=self.language,
            abstract_only=fulltext.source == "abstract",
            warnings=warnings,
            usage=usage,
            cost_usd=price,
        )

    def _fallback(
        self, paper: Paper, reason: str, spent: list[Reply], fulltext: FullText
    ) -> PaperAnalysis:
        log.warning("analyze: %s: abstract card instead: %s", paper.id, reason)
        card = analyze_offline(paper, self.settings.topics, self.language)
        usage, price = self._usage(spent)
        # Why the HTML and PDF were not used (when they were not) stays beside the LLM's failure.
        note = "; ".join(n for n in (fulltext.note, f"LLM card failed: {reason}") if n)
        # model stays None: the edition must not name a model for a card it did not write.
        return card.model_copy(
            update={
                "fulltext": card.fulltext.model_copy(update={"note": note}),
                "prompt_version": self.prompt.version,
                "fallback": reason,
                "warnings": [f"abstract card ({self.model} failed): {reason}"],
                "usage": usage,
                "cost_usd": price,
            }
        )
