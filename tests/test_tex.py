"""TeX to readable text (newsletter.tex): real cases from arXiv and Daily Papers, and plain
text that TeX would misread, which must come back unchanged."""

from __future__ import annotations

import pytest

from newsletter.tex import has_tex, tex_to_text


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        # arXiv metadata (tests/fixtures/arxiv/, tests/fixtures/hf/)
        (
            r"we propose \textbf{Semantic Soft Bootstrapping (SSB)}, a self-distillation",
            "we propose Semantic Soft Bootstrapping (SSB), a self-distillation",
        ),
        (
            r"up to 6.01$\times$, reduces mean latency by up to 95%, and approximately 60 $μ$s.",
            "up to 6.01×, reduces mean latency by up to 95%, and approximately 60 μs.",
        ),
        (r"On the inverse stability of $z^n+c.$", "On the inverse stability of zⁿ+c."),
        (r"H$^2$SD: Hybrid Hindsight", "H²SD: Hybrid Hindsight"),
        (r"from ACT DR6 and $\textit{Planck}$ PR4", "from ACT DR6 and Planck PR4"),
        (
            "selecting (i)~the physics model, (ii)~the action",
            "selecting (i) the physics model, (ii) the action",
        ),
        ("decoupled (Sec.~4). Experiments", "decoupled (Sec. 4). Experiments"),
        ("safety improves by 9--52% as the number", "safety improves by 9–52% as the number"),
        ("Search Agents -- large language models", "Search Agents – large language models"),
        ("varies by up to {approx}5{times} across harm", "varies by up to ≈5× across harm"),
        # formulas, accents, commands abstracts use
        (r"vectors in $\mathbb{R}^n$ in $O(n^2)$ time", "vectors in ℝⁿ in O(n²) time"),
        (r"Schr\"odinger, Erd\H{o}s and \'{e}t\'e", "Schrödinger, Erdős and été"),
        (
            r"the $\alpha$-divergence and \emph{exact} \texttt{vLLM} kernels",
            "the α-divergence and exact vLLM kernels",
        ),
        (r"see \href{https://example.org}{the code} \cite{x}", "see the code"),
        (r"a $ \beta $ value, \$5 saved", "a β value, $5 saved"),
    ],
)
def test_tex_becomes_unicode_text(tex: str, text: str) -> None:
    assert tex_to_text(tex) == text
    assert tex_to_text(text) == text  # once is enough: the result has no TeX left


@pytest.mark.parametrize(
    "plain",
    [
        "costs $5 and $10 a month for C++ users",
        "50% of tokens and 20% more: 39.6% accuracy",
        "ToolBench (~47k tools), collapse by ~50-64 percentage points",
        "a 10~20% gain",
        "수십만~수백만 토큰을 다루는 LLM",
        "six directions of {Qwen3-4B, 8B, 14B} and R&D #1",
        "--help is a flag; x_i and a^b stay",
        "",
    ],
)
def test_plain_text_is_left_as_it_is(plain: str) -> None:
    assert not has_tex(plain)
    assert tex_to_text(plain) == plain


def test_tex_that_cannot_be_parsed_is_kept_rather_than_lost() -> None:
    # An unclosed group: whatever pylatexenc makes of it, no word of the text is dropped.
    out = tex_to_text(r"a \textbf{bold claim with 30% gains")
    assert "bold claim with 30% gains" in out and "\\textbf" not in out
