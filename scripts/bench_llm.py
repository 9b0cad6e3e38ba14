#!/usr/bin/env python3
"""Analyse a 10-paper day against a local OpenAI-compatible server and print where time goes.

The server (tests/llm_server.py, a real HTTP server on 127.0.0.1) answers every card after a
fixed latency, like a hosted model would. Measured side by side in the same run: the analysis
at ``llm.max_concurrency`` 1 vs 4 vs 8, a rerun answered from the cache, and the token budgeter
and card checks on a long paper, which run once per paper on the critical path.

    .venv/bin/python scripts/bench_llm.py [--latency-ms 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchlib import median_s

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from llm_server import Answer, serving  # noqa: E402

from newsletter.analysis import make_analyzer  # noqa: E402
from newsletter.analysis.budget import fit  # noqa: E402
from newsletter.analysis.checks import check  # noqa: E402
from newsletter.config import Settings  # noqa: E402
from newsletter.models import Analysis, Paper  # noqa: E402
from newsletter.sources.huggingface import parse_item  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
CARD = json.loads((FIXTURES / "llm" / "cards.json").read_text(encoding="utf-8"))["2606.13174"]["ko"]


def papers() -> list[Paper]:
    items = json.loads((FIXTURES / "hf" / "2026-06-12.json").read_text(encoding="utf-8"))
    trace = next(i for i in items if i["paper"]["id"] == "2606.13174")
    # Ten versions of one paper: every card passes the checks, and each is its own cache key.
    base = parse_item(trace, "2026-06-12", "bench")
    return [base.model_copy(update={"version": f"v{i}"}) for i in range(1, 11)]


def settings(url: str, data: Path, concurrency: int) -> Settings:
    return Settings.model_validate(
        {
            "llm": {
                "base_url": url,
                "model": "bench",
                "max_concurrency": concurrency,
                "retry_backoff_s": 0,
            },
            "storage": {"data_dir": str(data)},
        }
    )


def long_paper() -> str:
    para = (
        "We route each query to the memory blocks that matter and skip the rest, which "
        "keeps accuracy at 71.5% while cutting latency 3.1x on long contexts. "
    ) * 12
    sections = ["# A long paper", "## Abstract", para]
    for title in (
        "1 Introduction",
        "2 Related Work",
        "3 Method",
        "4 Experiments",
        "5 Conclusion",
        "References",
        "Appendix A Proofs",
        "Appendix B Data",
    ):
        sections += [f"## {title}"] + [para] * 40
    return "\n\n".join(sections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    day = papers()
    print(f"== 10 papers, {args.latency_ms} ms per answer, median of {args.repeat}")
    with serving() as server:
        server.responder = lambda body: Answer(content=json.dumps(CARD), delay=latency)
        results: dict[str, float] = {}
        for concurrency in (1, 4, 8):

            def run(c: int = concurrency) -> None:
                with tempfile.TemporaryDirectory() as tmp:  # a fresh cache each time
                    make_analyzer(settings(server.url, Path(tmp), c), None).analyze_many(
                        day, progress=lambda _: None
                    )

            results[f"max_concurrency {concurrency}"] = median_s(run, args.repeat)
        with tempfile.TemporaryDirectory() as tmp:
            warm = settings(server.url, Path(tmp), 4)
            make_analyzer(warm, None).analyze_many(day, progress=lambda _: None)
            before = len(server.requests)
            results["rerun from the cache"] = median_s(
                lambda: make_analyzer(warm, None).analyze_many(day, progress=lambda _: None),
                args.repeat,
            )
            assert len(server.requests) == before, "a cached rerun reached the server"
    serial = results["max_concurrency 1"]
    for name, seconds in results.items():
        print(f"  {name:<24} {seconds:7.3f} s   {serial / seconds:6.1f}x vs serial")

    text = long_paper()
    card = Analysis.model_validate(CARD)
    print(f"== one long paper ({len(text) / 1000:.0f} KB of text), median of {args.repeat * 5}")
    budget_s = median_s(lambda: fit(text, 24_000), args.repeat * 5)
    fitted = fit(text, 24_000)
    print(
        f"  budget fit to 24k tokens {budget_s * 1000:7.2f} ms   "
        f"{fitted.source_tokens} -> {fitted.tokens} tokens, left out: "
        f"{', '.join(fitted.dropped)}"
    )
    check_s = median_s(
        lambda: check(card, language="ko", source=text, taxonomy=["agents", "llm"]), args.repeat * 5
    )
    print(f"  card checks               {check_s * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
