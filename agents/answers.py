"""Finding the answer in a model's response, and normalising it: the parsing half of the benchmark scorers.

Parser changes look exactly like model regressions, so every behaviour change here bumps ``SCORER_VERSION``
in ``agents.scorers``.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

_THINK = re.compile(r"<(think|thinking)>.*?</\1>", re.S | re.I)
_THINK_OPEN = re.compile(r"<(?:think|thinking)>", re.I)
_THINK_CLOSE = re.compile(r"</(?:think|thinking)>", re.I)
# "Answer: x", "Final answer: x", "**Answer:** x", "**Answer**: x"
_ANSWER = re.compile(r"\banswer\s*\**\s*[:：]\s*\**[ \t]*([^\n]*)", re.I)
_HASHES = re.compile(r"^[ \t]*####[ \t]*([^\n]*)", re.M)
_ANSWER_IS = re.compile(r"\banswer\s+is\s*[:：]?\s*([^\n]+)", re.I)
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_SURROUNDING = " \t\r\n.,;:!?'\"`*_()[]{}“”‘’«»„‚…"


def strip_think(text: str) -> str:
    """The response without reasoning blocks: ``<think>…</think>``, an unterminated ``<think>`` to the end, and
    everything before a stray ``</think>`` (templates that put the opening tag in the prompt)."""
    text = _THINK.sub("", text)
    closing = list(_THINK_CLOSE.finditer(text))
    if closing:
        text = text[closing[-1].end():]
    opening = _THINK_OPEN.search(text)
    return text[: opening.start()] if opening else text


def _line_after(text: str, match: re.Match[str]) -> str:
    """The text a marker introduces: the rest of its line, or the next non-empty line when that is empty."""
    rest = match.group(1).strip()
    if rest.strip("*").strip():
        return rest
    for line in text[match.end():].splitlines():
        if line.strip():
            return line.strip()
    return ""


def answer_line(text: str, hashes: bool = False) -> str | None:
    """What the last ``Answer:`` line (or, with ``hashes``, the last GSM8K ``####`` line) says."""
    matches = list(_ANSWER.finditer(text))
    if hashes:
        matches += _HASHES.finditer(text)
    if not matches:
        return None
    return _line_after(text, max(matches, key=lambda m: m.start()))


def answer_is(text: str) -> str | None:
    """The rest of the line after the last "the answer is"."""
    found = list(_ANSWER_IS.finditer(text))
    return found[-1].group(1).strip() if found else None


def last_bold(text: str) -> str | None:
    found = _BOLD.findall(text)
    return found[-1].strip() if found else None


def last_boxed(text: str) -> str | None:
    """The contents of the last ``\\boxed{…}`` (or ``\\fbox{…}``), braces balanced; an unclosed one counts too."""
    starts = [m.end() for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text)]
    if not starts:
        return None
    start, depth = starts[-1], 1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start:index]
    return text[start:]


def normalise_text(text: str, case_sensitive: bool = False) -> str:
    """Exact-match normal form: NFKC, case-folded, surrounding punctuation stripped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = " ".join(text.split()).strip(_SURROUNDING)
    return text if case_sensitive else text.casefold()


# ---- numbers ------------------------------------------------------------------------------------------------

_LATEX_GLUE = re.compile(r"\\[,!]|\{,\}")  # thin spaces and "{,}" inside a number: "1\,000", "1{,}000"
_LATEX_DROP = re.compile(r"\\[$%;: ]|\\(?:left|right|displaystyle)\b|\^\s*\{?\\circ\}?|[$€£¥%]")
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*([^{}]*?)\s*\}\s*\{\s*([^{}]*?)\s*\}")
_FRAC_SHORT = re.compile(r"\\[dt]?frac\s*(\d)\s*(\d)")
_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")
_GROUPS = re.compile(r"(?<=\d)[,_\u00a0\u2009\u202f](?=\d{3}(?!\d))")
_NUMBER = re.compile(
    r"(?:(?<![\w)\]])(?P<sign>-))?(?<![\w.])"
    r"(?:(?P<whole>\d+) (?P<mnum>\d+)/(?P<mden>\d+)(?![\d.])"
    r"|(?P<num>\d+(?:\.\d+)?|\.\d+)(?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?)"
)


@dataclass(frozen=True)
class Number:
    text: str  # normalised spelling, e.g. "-3", "1/3", "12.5", "1 1/2"
    value: Fraction
    decimal: bool  # written with a decimal point: compared with a tolerance, not exactly


def _clean_numeric(text: str) -> str:
    text = _GROUPS.sub("", text)  # before NFKC, which turns thin spaces into plain ones
    text = unicodedata.normalize("NFKC", text).replace("\u2212", "-")
    text = _TEXT.sub(r" \1 ", text)
    for _ in range(3):  # nested fractions unwrap from the inside out
        text = _FRAC.sub(r"(\1)/(\2)", text)
    text = _FRAC_SHORT.sub(r"\1/\2", text)
    text = re.sub(r"\((-?[\d.]+)\)/\((-?[\d.]+)\)", r"\1/\2", text)
    text = _LATEX_DROP.sub(" ", _LATEX_GLUE.sub("", text))
    return _GROUPS.sub("", text)


def _number(match: re.Match[str]) -> Number | None:
    sign = -1 if match.group("sign") else 1
    try:
        if match.group("whole") is not None:
            value = int(match.group("whole")) + Fraction(int(match.group("mnum")), int(match.group("mden")))
        else:
            value = Fraction(match.group("num"))
            if match.group("den") is not None:
                value /= Fraction(match.group("den"))
    except ZeroDivisionError:
        return None
    spelled = " ".join(match.group(0).split()).replace(" / ", "/").replace("/ ", "/").replace(" /", "/")
    return Number(spelled, sign * value, "." in match.group(0))


def numbers(text: str) -> list[Number]:
    """Every number in the text, in order, after removing currency, percent, thousands separators and LaTeX."""
    found = (_number(m) for m in _NUMBER.finditer(_clean_numeric(text)))
    return [n for n in found if n is not None]


def answer_number(text: str) -> Number | None:
    """The number an answer statement gives: the first one after its last ``=`` ("9 * 2 = 18 dollars" -> 18)."""
    cleaned = _clean_numeric(text)
    tail = cleaned.rsplit("=", 1)[-1]
    found = numbers(tail) or numbers(cleaned)
    return found[0] if found else None


def parse_target_number(target: object) -> Number:
    """A numeric target (a JSON number or a string like "1/3", "1,000,001", "-3"); ValueError if it is not one."""
    if isinstance(target, bool) or not isinstance(target, int | float | str):
        raise ValueError(f"a numeric target must be a number or a string, not {target!r}")
    if isinstance(target, int):
        return Number(str(target), Fraction(target), False)
    if isinstance(target, float):
        return Number(repr(target), Fraction(repr(target)), True)
    found = numbers(target)
    if len(found) != 1:
        raise ValueError(f"numeric target {target!r} is not a single number")
    return found[0]


def same_number(answer: Number, target: Number, rel_tol: float) -> bool:
    """Integers and fractions compare exactly (value equality: 2/4 == 1/2); a decimal on either side with
    relative tolerance ``rel_tol``."""
    if answer.value == target.value:
        return True
    if not (answer.decimal or target.decimal):
        return False
    return abs(answer.value - target.value) <= Fraction(rel_tol) * max(abs(answer.value), abs(target.value))


# ---- HotpotQA-style F1 --------------------------------------------------------------------------------------

_PUNCTUATION = set(string.punctuation)
_SPECIAL = {"yes", "no", "noanswer"}


def normalise_qa(text: str) -> str:
    """HotpotQA/SQuAD normal form: lowercase, no punctuation (Unicode punctuation too), no a/an/the, one space."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(c for c in text if c not in _PUNCTUATION and not unicodedata.category(c).startswith("P"))
    text = re.sub(r"\b(?:a|an|the)\b", " ", text)
    return " ".join(text.split())


def _f1(prediction: str, gold: str) -> float:
    if prediction != gold and (prediction in _SPECIAL or gold in _SPECIAL):
        return 0.0  # never partial credit between yes and no
    predicted, wanted = prediction.split(), gold.split()
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def exact_and_f1(prediction: str, golds: list[str]) -> tuple[float, float]:
    """(exact match, F1) of a prediction, each the best over the gold aliases (token multisets, as HotpotQA)."""
    predicted = normalise_qa(prediction)
    normal = [normalise_qa(gold) for gold in golds]
    em = max((float(predicted == gold) for gold in normal), default=0.0)
    return em, max((_f1(predicted, gold) for gold in normal), default=0.0)


# ---- multiple choice ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _choice_patterns(labels: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    alt = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    end = r"(?![A-Za-z0-9])"
    label = rf"[(\[]?\s*({alt}){end}\s*[)\]]?"
    other = rf"(?:\s*(?:or|and|/|,|&)\s*[(\[]?\s*({alt}){end})?"  # "B or C": ambiguous when the two differ
    return (
        re.compile(rf"\\boxed\s*\{{\s*(?:\\text\s*\{{)?\s*[(\[]?({alt}){end}", re.I),
        re.compile(rf"(?i:\banswer\s*\**\s*(?:is\s*[:：]?|[:：])\s*\**\s*(?:option\s+|choice\s+)?)\**{label}\**{other}"),
        re.compile(rf"(?i:\b(?:option|choice)\s+){label}(?i:\s+is\s+(?:the\s+)?(?:correct|right|best|answer))"),
        re.compile(rf"^[ \t>*#_]*{label}[.:)]?[ \t*_]*$", re.M),
    )


def extract_choice(text: str, labels: tuple[str, ...]) -> tuple[str | None, str]:
    """The label of the last explicit answer statement (``Answer: (B)``, ``the answer is B``, ``\\boxed{B}``, a
    line holding only the label), else the only label written in parentheses; ``(None, reason)`` when there is
    none or it is ambiguous. Bare labels must match case exactly ("the answer is a" is not a choice)."""
    canonical = {label.casefold(): label for label in labels}
    statements: list[tuple[int, str, str | None]] = []
    for pattern in _choice_patterns(labels):
        for match in pattern.finditer(text):
            groups = [g for g in match.groups() if g is not None]
            statements.append((match.start(), groups[0], groups[1] if len(groups) > 1 else None))
    if statements:
        _, first, second = max(statements, key=lambda s: s[0])
        if second is not None and canonical[second.casefold()] != canonical[first.casefold()]:
            return None, f"ambiguous answer: {first} or {second}"
        return canonical[first.casefold()], ""
    alt = "|".join(re.escape(label) for label in labels)
    written = {canonical[m.group(1).casefold()] for m in re.finditer(rf"[(\[]({alt})[)\]]", text, re.I)}
    if len(written) == 1:
        return written.pop(), ""
    return None, "ambiguous answer: " + ", ".join(sorted(written)) if written else "no answer label found"
