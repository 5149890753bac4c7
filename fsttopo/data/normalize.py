"""Transcripts as users write them -> the words a speaker says: numbers, abbreviations, compounds.

:func:`normalize_tokens` walks the whitespace-separated tokens of a transcript and returns, for each
original token, the words it became (an empty list for a token of punctuation only), so every
aligned word can be traced back to what the user wrote. :func:`normalize_text` joins those words.

Rules, in the order they are tried on each token:

1. Abbreviations (case-insensitive, the period required where it is written ``.`` below):
   ``Dr.`` doctor, ``Mr.`` mister, ``Mrs.`` missus, ``Ms.`` ms (CMUdict reads it "miz"),
   ``St.`` saint (never "street": a transcript cannot tell them apart, and names such as
   "St. Louis" are the common case in read speech), ``Prof.`` professor, ``Jr.`` junior, ``Sr.``
   senior, ``Mt.`` mount, ``vs.`` versus, ``etc.`` et cetera, ``e.g.`` for example, ``i.e.`` that
   is, ``No.`` number (only before a number; otherwise the word "no"), ``&`` and; ``Dr``, ``Mr``,
   ``Mrs``, ``vs`` also without the period.
2. A token the lexicon knows (``known``) stays as it is, punctuation included (CMUdict has
   ``"o'clock"``, ``"u.s."``, hyphenated words such as ``"x-ray"``).
3. Numbers, after the punctuation around the token is dropped (English words by ``num2words``;
   hyphens and commas of its output become spaces and its British "and" inside numbers is left
   out, the American reading ``one hundred five``):

   - currency ``$5`` five dollars, ``$5.50`` five dollars fifty cents, ``£3.50`` three pounds
     fifty pence, ``€2`` two euros; ``$5 million`` five million dollars;
   - percentages ``12%`` twelve percent, ``2.5%`` two point five percent;
   - ordinals ``3rd`` third, ``21st`` twenty first;
   - times ``10:30`` ten thirty, ``7:05`` seven oh five, ``9:00`` nine o'clock;
   - years: a four-digit number from 1100 to 2099, or from 1000 after a year word (in, since,
     year, a month name, ...) is read as a year: ``1999`` nineteen ninety nine, ``2005`` two
     thousand five, ``1066`` (after "in") ten sixty six;
   - decimals ``3.14`` three point one four; fractions ``1/2`` one half, ``3/4`` three quarters,
     ``2/3`` two thirds; integers ``1,234`` one thousand two hundred thirty four; a number written
     with leading zeros (``007``) is read digit by digit;
   - letters and digits together (``mp3``, ``4th-graders`` after splitting) become separate words.
4. Compounds: a token with ``-``, ``/`` or ``&`` inside that the lexicon does not know is split
   there and each part normalized on its own (``half-life`` half life, ``and/or`` and or,
   ``R&D`` R and D, ``1990-1995`` nineteen ninety nineteen ninety five).
5. Anything else loses the punctuation around it (``world!`` world); ``+``, ``=`` and ``@``
   standing alone are read plus, equals, at.

:func:`normalize_words` is the language-independent normalization of pronunciation dictionaries
and grapheme units (any language; the rules above are English's).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from .dictionary import word_key

__all__ = ["EDGE_PUNCTUATION", "ABBREVIATIONS", "normalize_tokens", "normalize_text", "number_words",
           "normalize_words", "spell_number", "is_punctuation"]

EDGE_PUNCTUATION = "\"'.,;:!?()[]{}<>*_-\u2013\u2014\u2018\u2019\u201c\u201d\u2026\u00ab\u00bb"
"""Characters dropped around a token (not inside it)."""

ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "dr.": ("doctor",), "dr": ("doctor",), "mr.": ("mister",), "mr": ("mister",),
    "mrs.": ("missus",), "mrs": ("missus",), "ms.": ("ms",), "st.": ("saint",), "prof.": ("professor",),
    "jr.": ("junior",), "sr.": ("senior",), "mt.": ("mount",), "vs.": ("versus",), "vs": ("versus",),
    "etc.": ("et", "cetera"), "e.g.": ("for", "example"), "i.e.": ("that", "is"), "&": ("and",),
    "+": ("plus",), "=": ("equals",), "@": ("at",),
}
"""Lowercase token (edge punctuation other than ``.`` removed) -> the words said for it."""

_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
               "€": ("euro", "euros", "cent", "cents")}
_SCALES = {"thousand", "million", "billion", "trillion"}
_YEAR_CONTEXT = {"in", "since", "from", "until", "till", "by", "year", "circa", "of", "january", "february",
                 "march", "april", "may", "june", "july", "august", "september", "october", "november",
                 "december"}
_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters")}
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_KEEP_PERIOD = EDGE_PUNCTUATION.replace(".", "")

_INTEGER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
_CURRENCY = re.compile(r"([$£€])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
_PERCENT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?%")
_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)", re.IGNORECASE)
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DECIMAL = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)\.(\d+)")
_FRACTION = re.compile(r"(\d+)/(\d+)")
_ALNUM_RUNS = re.compile(r"\d+|[^\W\d_]+")
_COMPOUND = re.compile(r"[-/&\u2013]")


def _num2words(number: int, to: str = "cardinal") -> list[str]:
    from num2words import num2words

    text = num2words(number, lang="en", to=to)
    return [w for w in re.split(r"[\s,-]+", text) if w and w != "and"]


def number_words(digits: str) -> list[str]:
    """Words of an integer written with digits (commas allowed): ``"1,234"`` -> one thousand two
    hundred thirty four; leading zeros are read digit by digit (``"007"`` -> zero zero seven)."""
    plain = digits.replace(",", "")
    if len(plain) > 1 and plain.startswith("0"):
        return [_DIGITS[int(d)] for d in plain]
    return _num2words(int(plain))


def _year_words(year: int) -> list[str]:
    return _num2words(year, to="year")


def _fraction_words(numerator: int, denominator: int) -> list[str]:
    if denominator in _DENOMINATORS:
        singular, plural = _DENOMINATORS[denominator]
        return _num2words(numerator) + [singular if numerator == 1 else plural]
    ordinal = _num2words(denominator, to="ordinal")
    if numerator != 1:
        ordinal[-1] += "s"  # three fifths, two thirds
    return _num2words(numerator) + ordinal


def _decimal_words(integer: str, fraction: str) -> list[str]:
    return number_words(integer) + ["point"] + [_DIGITS[int(d)] for d in fraction]


def _currency_words(symbol: str, units: str, cents: str | None, scale: str | None) -> list[str]:
    one, many, one_cent, many_cents = _CURRENCIES[symbol]
    amount = int(units.replace(",", ""))
    if scale is not None:  # "$5 million": the scale word comes before the unit
        return number_words(units) + [scale, many]
    words = number_words(units) + [one if amount == 1 else many]
    if cents is not None and int(cents):
        value = int(cents.ljust(2, "0"))
        words += _num2words(value) + [one_cent if value == 1 else many_cents]
    return words


def _time_words(hours: str, minutes: str) -> list[str]:
    hour = _num2words(int(hours))
    if minutes == "00":
        return hour + ["o'clock"]
    if minutes.startswith("0"):
        return hour + ["oh", _DIGITS[int(minutes[1])]]
    return hour + _num2words(int(minutes))


def _numeric_words(core: str, previous: str | None, following: str | None) -> list[str] | None:
    """Words of a token that is a number form of rule 3, else None. ``previous`` / ``following``:
    the neighbouring original tokens, lowercase without edge punctuation (year context, scales)."""
    if m := _CURRENCY.fullmatch(core):
        scale = following if following in _SCALES and m.group(3) is None else None
        return _currency_words(m.group(1), m.group(2), m.group(3), scale)
    if m := _PERCENT.fullmatch(core):
        number = _decimal_words(m.group(1), m.group(2)) if m.group(2) else number_words(m.group(1))
        return number + ["percent"]
    if m := _ORDINAL.fullmatch(core):
        return _num2words(int(m.group(1)), to="ordinal")
    if m := _TIME.fullmatch(core):
        return _time_words(m.group(1), m.group(2))
    if m := _DECIMAL.fullmatch(core):
        return _decimal_words(m.group(1), m.group(2))
    if m := _FRACTION.fullmatch(core):
        denominator = int(m.group(2))
        return _fraction_words(int(m.group(1)), denominator) if denominator > 1 else None
    if _INTEGER.fullmatch(core):
        if len(core) == 4 and not core.startswith("0"):
            value = int(core)
            if 1100 <= value <= 2099 or (1000 <= value <= 2099 and previous in _YEAR_CONTEXT):
                return _year_words(value)
        return number_words(core)
    return None


def _token_words(token: str, known: Callable[[str], bool], previous: str | None,
                 following: str | None) -> list[str]:
    """The words of one original token (rules 1-5 of the module docstring)."""
    key = token.strip(_KEEP_PERIOD).lower()
    if key == "no." and following is not None and following[:1].isdigit():
        return ["number"]
    if key in ABBREVIATIONS:
        return list(ABBREVIATIONS[key])
    if known(token):
        return [token]
    core = token.strip(EDGE_PUNCTUATION)
    if not core:
        return []
    if known(core):
        return [core]
    numeric = _numeric_words(core, previous, following)
    if numeric is not None:
        return numeric
    if _COMPOUND.search(core):
        words = []
        for part in re.split(r"(&)|[-/\u2013]", core):
            if part:
                words += _token_words(part, known, previous, following)
        return words
    if any(c.isdigit() for c in core) and any(c.isalpha() for c in core):
        return [w for run in _ALNUM_RUNS.findall(core) for w in _token_words(run, known, previous, following)]
    return [core]


def normalize_tokens(text: str, known: Callable[[str], bool] | None = None) -> list[tuple[str, list[str]]]:
    """Each whitespace-separated token of ``text`` with the words it is read as (rules in the module
    docstring); a token of punctuation only maps to ``[]``.

    Args:
        text: a transcript as written (``"Dr. Smith paid $5.50"``).
        known: whether the lexicon has a word (e.g. ``lexicon.__contains__``): known tokens are kept
            whole. ``None``: no word is known, so every compound is split.

    Example::

        normalize_tokens("Dr. Smith paid $5.50")
        # [('Dr.', ['doctor']), ('Smith', ['Smith']), ('paid', ['paid']),
        #  ('$5.50', ['five', 'dollars', 'fifty', 'cents'])]
    """
    known = known or (lambda word: False)
    tokens = text.split()
    bare = [t.strip(EDGE_PUNCTUATION).lower() for t in tokens]
    out: list[tuple[str, list[str]]] = []
    for i, token in enumerate(tokens):
        if out and out[-1][1][-2:-1] == [bare[i]] and bare[i] in _SCALES and _CURRENCY.fullmatch(bare[i - 1]):
            out.append((token, []))  # "$5 million": "million" was read with the amount
            continue
        out.append((token, _token_words(token, known, bare[i - 1] if i else None,
                                        bare[i + 1] if i + 1 < len(tokens) else None)))
    return out


def normalize_text(text: str, known: Callable[[str], bool] | None = None) -> str:
    """The words of :func:`normalize_tokens` joined by single spaces."""
    return " ".join(word for _, words in normalize_tokens(text, known) for word in words)


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})  # typographic and modifier-letter apostrophes
_DIGIT_RUNS = re.compile(r"\d+|\D+")


def is_punctuation(char: str) -> bool:
    """Unicode punctuation (P*) or symbol (S*)."""
    return unicodedata.category(char)[0] in "PS"


def _is_english(language: str | None) -> bool:
    return language is not None and re.split(r"[_-]", language)[0].lower() == "en"


def spell_number(digits: str, language: str | None) -> list[str] | None:
    """The words of a run of digits in ``language`` (num2words; English by :func:`number_words`),
    a number written with leading zeros digit by digit; ``None`` without a language, without
    num2words installed, or for a language num2words does not know."""
    if language is None:
        return None
    try:
        if _is_english(language):
            return number_words(digits)
        from num2words import num2words

        values = [int(d) for d in digits] if len(digits) > 1 and digits.startswith("0") else [int(digits)]
        text = " ".join(num2words(v, lang=language) for v in values)
    except (ImportError, NotImplementedError):
        return None
    return [word_key(w) for w in re.split(r"[\s,-]+", text) if w]


def _spelled(token: str, known: Callable[[str], bool], language: str | None, keep: str) -> list[str]:
    """The words of one case-folded token (:func:`normalize_words`)."""
    if known(token):
        return [token]
    start, end = 0, len(token)
    while start < end and is_punctuation(token[start]):
        start += 1
    while end > start and is_punctuation(token[end - 1]):
        end -= 1
    core = token[start:end]
    if not core or known(core):
        return [core] if core else []
    parts = "".join(" " if is_punctuation(c) and c not in keep else c for c in core).split()
    if len(parts) > 1:
        return [w for part in parts for w in _spelled(part, known, language, keep)]
    words: list[str] = []
    for run in _DIGIT_RUNS.findall(parts[0]):
        spelled = spell_number(run, language) if run[0].isdigit() else None
        words += spelled if spelled is not None else [run]
    return words


def normalize_words(text: str, known: Callable[[str], bool], language: str | None = None, keep: str = "") -> str:
    """``text`` as a pronunciation dictionary or a grapheme table spells it, in any language.

    Each whitespace-separated token is NFC-normalized and case-folded (typographic apostrophes
    ``’`` become ``'``); a token ``known`` says is a word stays as it is; otherwise the punctuation
    and symbols around it (Unicode categories P* and S*) are dropped, those inside it split it into
    words unless they are in ``keep`` (``"l'uomo"`` is one word with ``keep="'"``, else ``l uomo``),
    and runs of digits are written out in ``language`` (:func:`spell_number`; left as digits, for
    the encoder to name, when they cannot be). English (``language="en"``) first goes through
    :func:`normalize_text` (abbreviations, currencies, years).

    Args:
        text: a transcript as written.
        known: whether a (case-folded) token is a word of the lexicon.
        language: num2words language code (``"it"``, ``"ru"``); ``None``: numbers stay digits.
        keep: punctuation characters that stay inside words (e.g. a grapheme table's ``'`` and ``-``).

    Example::

        normalize_words("L’uomo, 21 anni!", lambda w: False, "it", keep="'")  # "l'uomo ventuno anni"
    """
    if _is_english(language):
        text = normalize_text(text, known)
    tokens = (word_key(t).translate(_APOSTROPHES) for t in text.split())
    return " ".join(w for token in tokens for w in _spelled(token, known, language, keep))
