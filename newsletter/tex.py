"""TeX in titles and abstracts as readable Unicode text, and plain text left as it is.

arXiv metadata is written in TeX (``\\textbf{SSB}``, ``$\\mathbb{R}^n$``, ``Schr\\"odinger``,
``9--52%``, ``Sec.~4``), and Daily Papers copies it, sometimes half-converted
(``{approx}5{times}``). The same fields also hold plain text that TeX would misread: ``95%``
starts a TeX comment, ``$5`` opens no formula, ``~47k`` means "about". So only text with TeX
in it is converted, dashes, ties and stray ``$``/``%``/``&``/``#`` are dealt with here, and
pylatexenc's ``LatexNodes2Text`` turns what remains (commands, accents, formulas) into
Unicode. Its context is extended for what abstracts use and it does not know
(``\\texttt``, ``\\href``), and citations and references are dropped.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"\\(?:[A-Za-z]+|[\"'`^~=.&%$#_{}])")
_DASH = re.compile(r"(?<=\S)-{2,3}(?=\S)|(?<=\s)-{2,3}(?=\s)")
# A tie joins a Latin word to what follows (``Sec.~4``, ``(i)~the``, ``et~al.``); elsewhere
# (``~47k``, ``(~5%)``, ``10~20``, Korean ``수십만~수백만``) it is plain text's "about" or "to".
_TIE = re.compile(r"(?<=[A-Za-z.,;:)\]}])~(?=[A-Za-z0-9\\(])")
# ``{approx}``: Daily Papers' leftover of ``$\approx$``.
_BARE_SYMBOL = re.compile(r"(?<![A-Za-z\\])\{([A-Za-z]{2,})\}")
# A formula: ``$...$`` opening and closing on a non-space, not closed before a digit (so
# ``$5 and $10`` stays money), or holding TeX whatever its spacing (``$ \alpha $``).
_MATH = re.compile(r"\$(?!\$)([^$]{1,300}?)(?<!\\)\$(?!\$)")
_SCRIPT = re.compile(r"([\^_])(?:\{([0-9n+\-=()i]{1,6})\}|([0-9n+\-=()i]))")
_SUPERSCRIPT = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
_SUBSCRIPT = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_PLAIN_SPECIALS = re.compile(r"(?<!\\)([%&#])")
_SPACES = re.compile(r"[ \t\u00a0]+")
_DROPPED = ("cite", "citet", "citep", "ref", "eqref", "autoref", "cref", "Cref", "label")


def _is_math(match: re.Match[str], text: str) -> bool:
    inner = match.group(1)
    if re.search(r"[\\^_{]", inner):
        return True
    after = text[match.end() : match.end() + 1]
    return inner == inner.strip() and not after.isdigit()


def _scripts(formula: str) -> str:
    """``^2``, ``^{n}``, ``_{1}`` as Unicode super- and subscripts where they exist."""

    def one(m: re.Match[str]) -> str:
        body = m.group(2) or m.group(3)
        if m.group(1) == "^":
            return body.translate(_SUPERSCRIPT)
        if all(c in "0123456789+-=()" for c in body):
            return body.translate(_SUBSCRIPT)
        return m.group(0)

    return _SCRIPT.sub(one, formula)


def _prepare(text: str) -> str:
    """The text with formulas marked for pylatexenc and plain text's specials escaped."""
    out: list[str] = []
    pos = 0
    for m in _MATH.finditer(text):
        if not _is_math(m, text):
            continue
        out.append(_escape_plain(text[pos : m.start()]))
        out.append("$" + _scripts(m.group(1)) + "$")
        pos = m.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    text = _PLAIN_SPECIALS.sub(r"\\\1", text)
    text = re.sub(r"(?<!\\)\$", r"\\$", text)
    return re.sub(r"(?<!\\)~", r"\\textasciitilde{}", text)


@functools.cache
def _converter() -> tuple[Any, Any]:
    """pylatexenc's walker context and converter, extended for abstracts (imported once)."""
    from pylatexenc import latex2text, latexwalker, macrospec

    walker_db = latexwalker.get_default_latex_context_db()
    walker_db.add_context_category(
        "newsletter", prepend=True, macros=[macrospec.std_macro("href", False, 2)]
    )
    text_db = latex2text.get_default_latex_context_db()
    specs = [
        latex2text.MacroTextSpec("texttt", simplify_repl="%s"),
        latex2text.MacroTextSpec("url", simplify_repl="%s"),
        latex2text.MacroTextSpec("href", simplify_repl="%(2)s"),
        *(latex2text.MacroTextSpec(name, discard=True) for name in _DROPPED),
    ]
    text_db.add_context_category("newsletter", prepend=True, macros=specs)
    return walker_db, latex2text.LatexNodes2Text(latex_context=text_db, math_mode="text")


def _latex_to_text(source: str) -> str:
    from pylatexenc import latexwalker

    walker_db, converter = _converter()
    walker = latexwalker.LatexWalker(source, latex_context=walker_db, tolerant_parsing=True)
    nodes, _, _ = walker.get_latex_nodes()
    return str(converter.nodelist_to_text(nodes))


@functools.cache
def _symbol(name: str) -> str | None:
    """What ``\\name`` stands for when it is one symbol (``approx`` -> ``≈``), else None."""
    try:
        out = _latex_to_text(f"\\{name}{{}}").strip()
    except Exception:  # pylatexenc raises bare exceptions on input it cannot parse
        return None
    return out if len(out) == 1 and not out.isascii() else None


def _bare_symbols(text: str) -> str:
    return _BARE_SYMBOL.sub(lambda m: _symbol(m.group(1)) or m.group(0), text)


def has_tex(text: str) -> bool:
    """Whether ``text`` holds anything TeX would write differently from plain text."""
    # Substring tests first: the patterns start with lookbehinds, slow to try at every place.
    if "\\" in text and _COMMAND.search(text):
        return True
    if ("--" in text and _DASH.search(text)) or ("~" in text and _TIE.search(text)):
        return True
    if "$" in text and any(_is_math(m, text) for m in _MATH.finditer(text)):
        return True
    return "{" in text and any(_symbol(m.group(1)) for m in _BARE_SYMBOL.finditer(text))


def tex_to_text(text: str) -> str:
    """``text`` with its TeX turned into Unicode; text without TeX comes back unchanged."""
    if not text or not has_tex(text):
        return text
    out = _DASH.sub(lambda m: "—" if len(m.group(0)) == 3 else "–", text)
    out = _TIE.sub(" ", _bare_symbols(out))
    if _COMMAND.search(out) or any(_is_math(m, out) for m in _MATH.finditer(out)):
        try:
            out = _latex_to_text(_prepare(out))
        except Exception as exc:  # pylatexenc raises bare exceptions on odd input
            log.debug("TeX left as it is (%s): %.80s", exc, text)
    lines = [_SPACES.sub(" ", line).strip() for line in out.split("\n")]
    return "\n".join(lines).strip()
