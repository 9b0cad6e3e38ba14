"""Checks every card passes before it is accepted; each failure is one sentence for the repair.

0. every field bounded in size (``bounded``: a longer one is cut, and the cut is a problem);
1. every field present and non-empty;
2. script purity: a Korean card has no Chinese characters, kana or other foreign scripts, an
   English card no Hangul, Han or kana, except inside quotes around a term found in the paper;
3. every number in the quantitative results appears in the source text (93.47% = 93.47 =
   0.9347; 2x = 2배 = 2 times = twice);
4. no field repeats another;
5. topics only from the configured taxonomy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from ..models import Analysis
from .schema import LIST_FIELDS, TEXT_FIELDS

# Scripts a card in each language must not contain, by Unicode name prefix of the character.
_FOREIGN = {
    "ko": (
        "CJK UNIFIED IDEOGRAPH",
        "CJK COMPATIBILITY IDEOGRAPH",
        "HIRAGANA",
        "KATAKANA",
        "CYRILLIC",
        "ARABIC",
        "HEBREW",
        "THAI",
        "DEVANAGARI",
        "BENGALI",
        "TAMIL",
        "TELUGU",
        "GUJARATI",
        "GURMUKHI",
        "KANNADA",
        "MALAYALAM",
        "ARMENIAN",
        "GEORGIAN",
    ),
    "en": (
        "CJK UNIFIED IDEOGRAPH",
        "CJK COMPATIBILITY IDEOGRAPH",
        "HIRAGANA",
        "KATAKANA",
        "HANGUL",
        "CYRILLIC",
        "ARABIC",
        "HEBREW",
        "THAI",
        "DEVANAGARI",
        "BENGALI",
        "TAMIL",
        "TELUGU",
        "GUJARATI",
        "GURMUKHI",
        "KANNADA",
        "MALAYALAM",
        "ARMENIAN",
        "GEORGIAN",
    ),
}
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']+)'|‘([^’]+)’|「([^」]+)」|『([^』]+)』")
_NUMBER = re.compile(r"(?<![A-Za-z0-9.])[-+−]?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\d])")
_SCALED = re.compile(r"(\d+(?:\.\d+)?)\s*([kKmMbB])\b")
_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "thousand": 1000,
    "twice": 2,
    "double": 2,
    "doubles": 2,
    "doubling": 2,
    "triple": 3,
    "triples": 3,
    "half": 0.5,
    "quarter": 0.25,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "single": 1,
    "dozen": 12,
    "thirds": 3,
    "halves": 2,
}
_SCALE = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_MIN_REPEAT_CHARS = 20
_MIN_CONTAINED_CHARS = 40
_SIMILAR = 0.85  # share of common character trigrams from which two texts count as the same
# Bounds on what a model may put in a card (a real card's longest field is under 1,500
# characters): a longer field is cut before any check reads it.
MAX_TEXT_CHARS = 3_000
MAX_ITEM_CHARS = 1_000
MAX_ITEMS = 12
MAX_TAG_CHARS = 80
_SHORT_LISTS = ("tags", "topics")


def cut_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bounded(analysis: Analysis) -> tuple[Analysis, list[str]]:
    """The card with every field cut to its bound, and one problem per field that was cut."""
    changes: dict[str, object] = {}
    problems: list[str] = []
    for name in TEXT_FIELDS:
        value = getattr(analysis, name)
        if len(value) > MAX_TEXT_CHARS:
            changes[name] = cut_text(value, MAX_TEXT_CHARS)
            problems.append(
                f"field '{name}' is {len(value):,} characters, over the limit of "
                f"{MAX_TEXT_CHARS:,}; it was cut: keep it short"
            )
    for name in LIST_FIELDS:
        items: list[str] = list(getattr(analysis, name))
        limit = MAX_TAG_CHARS if name in _SHORT_LISTS else MAX_ITEM_CHARS
        cut = [cut_text(item, limit) for item in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS or any(len(i) > limit for i in items[:MAX_ITEMS]):
            changes[name] = cut
            longest = max(len(i) for i in items)
            problems.append(
                f"field '{name}' has {len(items):,} items (at most {MAX_ITEMS}), the longest "
                f"{longest:,} characters (at most {limit:,}); it was cut: keep it short"
            )
    return (analysis.model_copy(update=changes) if changes else analysis), problems


def _strip_quoted_terms(text: str, source: str) -> str:
    """Text without quoted spans that occur in the source (original terms may be quoted)."""

    def keep(match: re.Match[str]) -> str:
        inner = next(g for g in match.groups() if g is not None)
        return " " if inner.strip() and inner.strip() in source else match.group(0)

    return _QUOTED.sub(keep, text)


def foreign_script(text: str, language: str, source: str = "") -> list[str]:
    """The characters in ``text`` from scripts the card's language must not use."""
    banned = _FOREIGN.get(language, ())
    if not banned:
        return []
    found: list[str] = []
    for ch in _strip_quoted_terms(text, source):
        if ord(ch) < 0x370:
            continue
        name = unicodedata.name(ch, "")
        if name.endswith("MIDDLE DOT"):
            continue  # "・" is punctuation Korean writers use too, not a kana letter
        if name.startswith(banned) and ch not in found:
            found.append(ch)
    return found


def _runs(text: str, chars: list[str]) -> list[str]:
    """The runs of offending characters as they appear ('检索', not '检', '索')."""
    pattern = re.compile("[" + re.escape("".join(chars)) + "]+")
    runs: list[str] = []
    for m in pattern.finditer(text):
        if m.group(0) not in runs:
            runs.append(m.group(0))
    return runs


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "").replace("−", "-").lstrip("+-"))
    except InvalidOperation:
        return None


def numbers_in(text: str) -> list[tuple[str, Decimal]]:
    """Every number written with digits in ``text``, as (as written, value)."""
    out = []
    for m in _NUMBER.finditer(text):
        written = m.group(0).lstrip("+-−")
        value = _decimal(written)
        if value is not None:
            out.append((written, value))
    return out


def source_numbers(source: str) -> set[Decimal]:
    """The values a card may quote: digits, 3e-4, 47k, and number words in the source."""
    values: set[Decimal] = {v for _, v in numbers_in(source)}
    for m in _SCALED.finditer(source):
        base = _decimal(m.group(1))
        if base is not None:
            values.add(base * _SCALE[m.group(2).lower()])
    for m in re.finditer(r"(\d+(?:\.\d+)?)[eE]([-+]?\d+)", source):
        base = _decimal(m.group(0))
        if base is not None:
            values.add(base)
    words = re.findall(r"[a-z]+", source.lower())
    values.update(Decimal(str(_WORDS[w])) for w in words if w in _WORDS)
    return {v.normalize() for v in values}


def _known(value: Decimal, known: set[Decimal]) -> bool:
    """93.47 matches 93.47 or 0.9347 in the source (percent and fraction forms); 0 always."""
    if value == 0:
        return True
    candidates = (value, value / 100, value * 100)
    return any(c.normalize() in known for c in candidates)


_KO_UNITS = re.compile(r"(\d+(?:\.\d+)?)\s*(억|만|천)(?:\s*(\d+(?:\.\d+)?)\s*(만|천))?")
_KO_SCALE = {"억": Decimal(100_000_000), "만": Decimal(10_000), "천": Decimal(1_000)}


def _korean_units(text: str) -> str:
    """'4만 7천' -> '47000', '4.7만' -> '47000' (so they compare with '47K' in the paper)."""

    def value(m: re.Match[str]) -> str:
        total = Decimal(m.group(1)) * _KO_SCALE[m.group(2)]
        if m.group(3):
            total += Decimal(m.group(3)) * _KO_SCALE[m.group(4)]
        return format(total.normalize(), "f")

    return _KO_UNITS.sub(value, text)


def invented_numbers(items: Iterable[str], source: str) -> list[str]:
    """Numbers in ``items`` that the source does not contain in any accepted form."""
    known = source_numbers(source)
    missing: list[str] = []
    for item in items:
        for written, value in numbers_in(_korean_units(item)):
            if not _known(value, known) and written not in missing:
                missing.append(written)
    return missing


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def _grams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 3] for i in range(max(1, len(text) - 2)))


def repeated_fields(analysis: Analysis) -> list[tuple[str, str]]:
    """Pairs (field, other field) where one field's text repeats the other's.

    Two texts are the same when they share most of their character trigrams (Dice >= 0.85):
    linear in their length, where difflib's ratio grows with the square of it.
    """
    pieces: dict[str, list[str]] = {}
    for name in TEXT_FIELDS:
        pieces[name] = [getattr(analysis, name)]
    for name in LIST_FIELDS:
        if name not in _SHORT_LISTS:
            pieces[name] = list(getattr(analysis, name))
    normed = {
        k: [(t, _grams(t)) for t in map(_norm, v) if len(t) >= _MIN_REPEAT_CHARS]
        for k, v in pieces.items()
    }
    pairs: list[tuple[str, str]] = []
    names = list(normed)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if _repeats(normed[a], normed[b]):
                pairs.append((b, a))
    return pairs


Piece = tuple[str, frozenset[str]]


def _repeats(items: list[Piece], others: list[Piece]) -> bool:
    for x, x_grams in items:
        for y, y_grams in others:
            # A term (a prerequisite, a name) may well appear inside another field's sentence;
            # a whole sentence may not.
            if (len(x) >= _MIN_CONTAINED_CHARS and x in y) or (
                len(y) >= _MIN_CONTAINED_CHARS and y in x
            ):
                return True
            small, large = sorted((len(x_grams), len(y_grams)))
            if 2 * small < _SIMILAR * (small + large):
                continue  # too different in size to share enough
            if 2 * len(x_grams & y_grams) >= _SIMILAR * (len(x_grams) + len(y_grams)):
                return True
    return False


def check(analysis: Analysis, *, language: str, source: str, taxonomy: list[str]) -> list[str]:
    """Every problem with the card, one sentence each (empty when it passes)."""
    problems: list[str] = []
    for name in TEXT_FIELDS:
        if not getattr(analysis, name).strip():
            problems.append(f"field '{name}' is empty")
    for name in LIST_FIELDS:
        items = getattr(analysis, name)
        if not items or not any(str(i).strip() for i in items):
            problems.append(f"field '{name}' is empty")
        elif any(not str(i).strip() for i in items):
            problems.append(f"field '{name}' has an empty item")
    lang_name = {"ko": "Korean", "en": "English"}.get(language, language)
    for name in (*TEXT_FIELDS, *LIST_FIELDS):
        if name == "topics":
            continue
        value = getattr(analysis, name)
        text = value if isinstance(value, str) else "\n".join(value)
        bad = foreign_script(text, language, source)
        if bad:
            runs = ", ".join(f"'{r}'" for r in _runs(text, bad)[:6])
            problems.append(
                f"field '{name}' contains characters that are not {lang_name} "
                f"({runs}); write them in {lang_name}, or as the English term"
            )
    invented = invented_numbers(analysis.results, source)
    if invented:
        problems.append(
            "field 'results' has numbers that are not in the paper: "
            + ", ".join(invented)
            + "; quote only the paper's own figures"
        )
    for field, other in repeated_fields(analysis):
        problems.append(
            f"field '{field}' repeats field '{other}'; say something different in '{field}'"
        )
    unknown = [t for t in analysis.topics if t not in taxonomy]
    if unknown:
        problems.append(
            f"field 'topics' has topics outside the taxonomy: {', '.join(unknown)}"
            f"; choose only from: {', '.join(taxonomy)}"
        )
    return problems
