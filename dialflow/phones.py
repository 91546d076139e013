"""Turn phone values into E.164: a vectorised NANP fast path that agrees exactly with phonenumbers.

``reference_e164`` is the definition of the right answer.  ``normalize_e164`` gives the same
answer for a whole Series: values in a common North American format are recognised and
validated with pyarrow (RE2) regexes built from phonenumbers' own metadata; everything else goes
through ``reference_e164`` once per distinct value.

Why the fast path agrees with ``phonenumbers.parse`` + ``is_valid_number`` for the values it
accepts (read against phonenumbers 9.x ``phonenumberutil``):

* The fast pattern is ASCII-only, at most ~90 characters (``parse`` rejects > 250), holds no
  ``;`` (so no RFC 3966 handling), no ``/`` (no "second number" trimming) and no letters other
  than an extension label.  Leading whitespace, ``(`` and trailing whitespace are what
  ``_extract_possible_number`` strips anyway.
* Every accepted extension form (``x12``, ``x 12``, ``ext 12``, ``ext.12``, ``#12``, any case,
  1-6 digits, at most one space or tab before the label) is matched by phonenumbers'
  ``_EXTN_PATTERN`` right after the 4-digit line number, so the extension is split off and the
  national part is unchanged; E.164 output never carries the extension.
* The area code starts with 2-9, so the 10 national digits ``D`` never begin with ``0``/``011``
  (no IDD stripping) or ``1`` (no national-prefix stripping).  Every country-code-1 region's
  ``national_prefix_for_parsing`` is ``1`` or ``([..]\\d{6})$|1``, neither of which can match at
  the start of a 10-digit ``D`` that begins with 2-9; a ``1``/``+1`` prefix is taken as the
  country code (the 11 digits are too long for any NANP plan).  So the parsed number is always
  country code 1 with national significant number ``D``.  ``_parses_plainly`` re-checks these
  metadata facts at first use and switches the fast path off if a phonenumbers update breaks
  them.
* Validity then depends only on ``D`` and is replicated from ``is_valid_number``:
  ``_region_code_for_number_from_list`` over ``COUNTRY_CODE_TO_REGION_CODE[1]`` in order, then
  ``_number_type_helper`` for the claiming region (see ``_RegionRule``).

Values the fast path cannot prove valid are never rejected by it: they take the slow path.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata, PhoneNumberFormat
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS

__all__ = ["is_blank", "mask_phones", "normalize_e164", "reference_e164"]

_RESULT_DTYPE = pd.StringDtype("pyarrow")
_LARGE_STR = pa.large_string()

# Exactly the characters for which Python's str.isspace() is true, so is_blank agrees with
# reference_e164's `str(value).strip() == ""` (RE2's \s and pyarrow's trim use other sets).
_PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_BLANK_RE2 = "^[" + "".join(f"\\x{{{ord(c):04x}}}" for c in _PY_WHITESPACE) + "]*$"

# The strict fast-path pattern.  Whitespace is bounded so the whole value stays far below
# phonenumbers' 250-character input limit.  Only space/tab may precede an extension label
# because phonenumbers' extension pattern allows no other whitespace there ("\nx12" does not
# parse).  Extension digits are capped at 6: phonenumbers caps "x"/"#" extensions at 9 digits
# and a longer run changes how the whole value parses.
_EDGE_WS = r"[ \t\n\r\f\v]{0,32}"
_SEP = r"[ .-]?"
_EXTENSION = r"(?:[ \t]?(?:(?i:x|ext\.?)|#) ?[0-9]{1,6})?"
_FAST_PATTERN = (
    "^" + _EDGE_WS + r"(?:\+?1" + _SEP + ")?"
    r"(?:\((?P<area_p>[2-9][0-9]{2})\)|(?P<area>[2-9][0-9]{2}))"
    + _SEP
    + r"(?P<exchange>[0-9]{3})"
    + _SEP
    + r"(?P<line>[0-9]{4})"
    + _EXTENSION
    + _EDGE_WS
    + "$"
)
_NANP_LENGTH = 10
# The national-prefix shapes the module docstring's argument covers: "1", optionally after a
# 7-digit local-number alternative that is anchored at the end and so never fits 10 digits.
_PLAIN_NATIONAL_PREFIX = re.compile(r"(?:\((?:\[[0-9-]+\]|[0-9])\\d\{6\}\)\$\|)?1")

# _number_type_helper's order; order only matters for the type, not for validity.
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


def _is_null(value: object) -> bool:
    """Return True for the scalars pandas treats as missing (None, NaN, pd.NA, NaT)."""
    # pd.isna on a list-like returns an array; such values are not missing, just not phones.
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def reference_e164(value: object, region: str = "US") -> str | None:
    """Return the E.164 form of one value as phonenumbers defines it, or None if not valid."""
    if _is_null(value):
        return None
    text = str(value)
    if not text.strip():
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@dataclass(frozen=True)
class _RegionRule:
    """How one country-code-1 region claims and validates a 10-digit national number."""

    region: str
    # Prefix pattern (re.match semantics) or None: then the region claims every number it
    # finds a type for, as _region_code_for_number_from_list does.
    leading: str | None
    # D is valid for the region iff it fully matches `general` and any of `types`; None means
    # no desc can match, i.e. _number_type_helper always returns UNKNOWN.
    general: str | None
    types: str | None


def _full(pattern: str) -> str:
    """Anchor a phonenumbers pattern so RE2 search behaves like Python's fullmatch."""
    return f"^(?:{pattern})$"


def _desc_pattern(desc: object, length: int) -> str | None:
    """Return the anchored pattern _is_number_matching_desc would use at this length, or None."""
    if desc is None:
        return None
    possible = desc.possible_length
    if len(possible) > 0 and length not in possible:
        return None
    pattern = desc.national_number_pattern
    if pattern is None or len(pattern) == 0:
        return None
    return _full(pattern)


def _region_rule(region: str) -> _RegionRule | None:
    """Translate one region's metadata into RE2 patterns; None if the metadata is missing."""
    metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    if metadata is None:
        return None
    general = _desc_pattern(metadata.general_desc, _NANP_LENGTH)
    names = list(_TYPE_DESCS)
    # _number_type_helper only looks at `mobile` when it differs from `fixed_line`.
    if not metadata.same_mobile_and_fixed_line_pattern:
        names.append("mobile")
    parts = [_desc_pattern(getattr(metadata, name), _NANP_LENGTH) for name in names]
    parts = [p for p in parts if p is not None]
    types = "|".join(parts) if parts else None
    leading = None if metadata.leading_digits is None else f"^(?:{metadata.leading_digits})"
    return _RegionRule(region, leading, general, types)


def _re2_compiles(pattern: str) -> bool:
    """Return whether pyarrow's RE2 accepts the pattern."""
    # An empty input never compiles the pattern, so probe with one value.
    try:
        pc.match_substring_regex(pa.array(["0"]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _parses_plainly(region: str) -> bool:
    """Return whether parse() keeps a 2-9 led 10-digit national number intact for this region."""
    # Guards the module docstring's argument against future metadata: if a region grows another
    # IDD, national prefix or an 11-digit length, the fast path switches off rather than guess.
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None:
        return True
    general = metadata.general_desc
    lengths = [*general.possible_length, *general.possible_length_local_only]
    return (
        metadata.international_prefix == "011"
        and _PLAIN_NATIONAL_PREFIX.fullmatch(metadata.national_prefix_for_parsing or "") is not None
        and max(lengths, default=0) <= _NANP_LENGTH
    )


@functools.lru_cache(maxsize=None)
def _nanp_rules(region: str | None) -> tuple[_RegionRule, ...] | None:
    """Return the cached region rules for country code 1, or None if region gets no fast path."""
    # Only an exact supported code: parse() looks metadata up case-insensitively but checks
    # the region case-sensitively, and we do not want to reproduce that corner.
    if region is None or region not in SUPPORTED_REGIONS:
        return None
    if phonenumbers.country_code_for_region(region) != 1:
        return None
    rules = []
    for code in COUNTRY_CODE_TO_REGION_CODE.get(1, ()):
        if not _parses_plainly(code):
            return None
        rule = _region_rule(code)
        if rule is None:
            continue
        patterns = [p for p in (rule.leading, rule.general, rule.types) if p is not None]
        # A pattern RE2 cannot express would make the fast path guess: disable it instead.
        if not all(_re2_compiles(p) for p in patterns):
            return None
        rules.append(rule)
    if not _re2_compiles(_FAST_PATTERN):
        return None
    return tuple(rules)


def _matches(values: pa.Array, pattern: str | None) -> np.ndarray:
    """Return a numpy bool mask of RE2 matches (False for nulls or a missing pattern)."""
    if pattern is None or len(values) == 0:
        return np.zeros(len(values), dtype=bool)
    hits = pc.match_substring_regex(values, pattern)
    return hits.fill_null(False).to_numpy(zero_copy_only=False)


def _valid_for(rule: _RegionRule, digits: pa.Array) -> np.ndarray:
    """Return where _number_type_helper(D, region metadata) != UNKNOWN."""
    valid = _matches(digits, rule.general)
    if valid.any():
        idx = np.flatnonzero(valid)
        valid[idx] = _matches(digits.take(pa.array(idx)), rule.types)
    return valid


def _valid_nanp(digits: pa.Array, rules: tuple[_RegionRule, ...]) -> np.ndarray:
    """Return where phonenumbers.is_valid_number holds for +1 numbers with these national digits."""
    n = len(digits)
    claimed = np.zeros(n, dtype=bool)
    valid = np.zeros(n, dtype=bool)
    for rule in rules:
        open_idx = np.flatnonzero(~claimed)
        if open_idx.size == 0:
            break
        sub = digits if open_idx.size == n else digits.take(pa.array(open_idx))
        if rule.leading is not None:
            hit = _matches(sub, rule.leading)
            hit_idx = open_idx[hit]
            claimed[hit_idx] = True
            valid[hit_idx] = _valid_for(rule, sub.filter(pa.array(hit)))
        else:
            ok = _valid_for(rule, sub)
            claimed[open_idx[ok]] = True
            valid[open_idx[ok]] = True
    return valid


def _fast_arrow(strings: pa.Array, region: str) -> tuple[pa.Array, np.ndarray]:
    """Return E.164 strings (null where not handled) and the handled mask for an arrow array."""
    n = len(strings)
    rules = _nanp_rules(region)
    if rules is None or n == 0:
        return pa.nulls(n, _LARGE_STR), np.zeros(n, dtype=bool)
    parts = pc.extract_regex(strings, _FAST_PATTERN)
    matched = parts.is_valid().to_numpy(zero_copy_only=False)
    if not matched.any():
        return pa.nulls(n, _LARGE_STR), matched
    empty = pa.scalar("", _LARGE_STR)
    # Exactly one of the two area groups is non-empty in a match.
    digits = pc.binary_join_element_wise(
        parts.field("area_p"),
        parts.field("area"),
        parts.field("exchange"),
        parts.field("line"),
        empty,
    )
    idx = np.flatnonzero(matched)
    handled = np.zeros(n, dtype=bool)
    handled[idx] = _valid_nanp(digits.take(pa.array(idx)), rules)
    e164 = pc.binary_join_element_wise(pa.scalar("+1", _LARGE_STR), digits, empty)
    out = pc.if_else(pa.array(handled), e164, pa.scalar(None, _LARGE_STR))
    return out, handled


def _as_arrow(values: pd.Series) -> tuple[pa.Array, np.ndarray, dict[int, str]]:
    """Return (large_string array of str(value), null mask, strings arrow cannot hold by row)."""
    null = values.isna().to_numpy(dtype=bool)
    if isinstance(values.dtype, pd.StringDtype):
        arr = pa.array(values.array)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(_LARGE_STR), null, {}
    obj = values.to_numpy(dtype=object, na_value=None)
    # pyarrow would decode bytes as UTF-8, but reference_e164 sees str(b"...") = "b'...'", so
    # only an all-str (or all-null) array may skip the per-value str() below.
    if pd.api.types.infer_dtype(obj, skipna=True) in ("string", "empty"):
        try:
            return pa.array(obj, type=_LARGE_STR), null, {}
        except (pa.ArrowInvalid, UnicodeEncodeError):
            pass
    texts: list[str | None] = [None] * len(obj)
    unencodable: dict[int, str] = {}
    for i in np.flatnonzero(~null):
        text = str(obj[i])
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates cannot live in an arrow array; these rows are resolved one by one.
            unencodable[int(i)] = text
            continue
        texts[i] = text
    return pa.array(texts, type=_LARGE_STR), null, unencodable


def _surely_invalid_nanp(strings: pa.Array, region: str) -> np.ndarray:
    """Return values that cannot be valid numbers in a country-code-1 region, without parsing.

    Only values with no plus sign and no letters qualify (vanity numbers and tel: URIs keep
    theirs), and then: fewer than 10 digits of any script, or exactly 10 ASCII digits led by 1
    (the national prefix, leaving 9) or by 0 other than the 011 international prefix (no area
    code starts with 0 or 1). A 7-digit local number, a truncated one, "000-000-0000": these are
    most of what the fast path leaves over, and all are invalid for phonenumbers too.
    """
    if _nanp_rules(region) is None or len(strings) == 0:
        return np.zeros(len(strings), dtype=bool)
    marked = pc.fill_null(pc.match_substring_regex(strings, r"[+\x{FF0B}\p{L}]"), True)
    any_digits = pc.fill_null(pc.count_substring_regex(strings, r"\p{Nd}"), 99)
    ascii_digits = pc.replace_substring_regex(strings, r"[^0-9]", "")
    bad_lead = pc.and_(
        pc.equal(pc.utf8_length(ascii_digits), 10),
        pc.or_(
            pc.starts_with(ascii_digits, "1"),
            pc.and_(
                pc.starts_with(ascii_digits, "0"), pc.invert(pc.starts_with(ascii_digits, "011"))
            ),
        ),
    )
    ten_ascii = pc.and_(pc.equal(any_digits, 10), pc.fill_null(bad_lead, False))
    invalid = pc.and_(pc.invert(marked), pc.or_(pc.less(any_digits, 10), ten_ascii))
    return pc.fill_null(invalid, False).to_numpy(zero_copy_only=False)


def _fast_e164(values: pd.Series, region: str = "US") -> tuple[pd.Series, np.ndarray]:
    """Return the fast path's E.164 result (pd.NA where not handled) and its handled mask."""
    strings, _, _ = _as_arrow(values)
    out, handled = _fast_arrow(strings, region)
    return pd.Series(out, index=values.index, dtype=_RESULT_DTYPE), handled


def normalize_e164(values: pd.Series, region: str = "US") -> pd.Series:
    """Return each value's E.164 form (as reference_e164 gives it), pd.NA where not valid."""
    strings, null, unencodable = _as_arrow(values)
    out, handled = _fast_arrow(strings, region)
    remaining = ~(null | handled)
    for i in unencodable:
        remaining[i] = False
    # Only what the fast path left over is tested: on demo data that is a tenth of the values,
    # and the test cost half of the whole normalisation when it ran on every value.
    left_over = np.flatnonzero(remaining)
    if left_over.size:
        remaining[left_over] = ~_surely_invalid_nanp(strings.take(pa.array(left_over)), region)
    if remaining.any():
        rest = strings.filter(pa.array(remaining))
        distinct = pc.unique(rest)
        answers = pa.array(
            [reference_e164(v, region) for v in distinct.to_pylist()], type=_LARGE_STR
        )
        slow = answers.take(pc.index_in(rest, value_set=distinct))
        out = pc.replace_with_mask(out, pa.array(remaining), slow)
    result = pd.Series(out, index=values.index, dtype=_RESULT_DTYPE)
    if unencodable:
        answers_by_text = {t: reference_e164(t, region) for t in set(unencodable.values())}
        for i, text in unencodable.items():
            answer = answers_by_text[text]
            result.iloc[i] = pd.NA if answer is None else answer
    return result


def is_blank(values: pd.Series) -> pd.Series:
    """Return True where the value is null, empty or whitespace-only (as str.strip sees it)."""
    strings, null, unencodable = _as_arrow(values)
    blank = _matches(strings, _BLANK_RE2) | null
    for i, text in unencodable.items():
        blank[i] = not text.strip()
    return pd.Series(blank, index=values.index, dtype=bool)


# What may sit between two digits of one phone number: the punctuation phonenumbers accepts in
# real numbers (dashes incl. Unicode ones, dots, slashes, brackets, "*") and horizontal spaces.
_MASK_SEP = "[ \t\u00a0\u3000.\\-/()\\[\\]*\u2010-\u2015\u2212\uff0d]"
# A stamp alternative comes first so ISO dates/times in log lines are consumed, and kept,
# before the digit-run alternative could see them as a 7+ digit number.
_MASK_RE = re.compile(
    r"(?P<stamp>(?<!\d)\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?!\d))"
    r"|(?P<run>\+?[(\[]?\d(?:" + _MASK_SEP + r"{0,5}\d)*)"
)
_MASK_MIN_DIGITS = 7
_MASK_KEEP = 2


def _mask_match(match: re.Match[str]) -> str:
    """Return the replacement for one candidate run (see mask_phones)."""
    run = match.group("run")
    if run is None:
        return match.group(0)
    digits = sum(ch.isdecimal() for ch in run)
    if digits < _MASK_MIN_DIGITS:
        return run
    to_mask = digits - _MASK_KEEP
    out = []
    for ch in run:
        if ch.isdecimal() and to_mask > 0:
            out.append("*")
            to_mask -= 1
        else:
            out.append(ch)
    return "".join(out)


def mask_phones(text: str) -> str:
    """Mask every digit of phone-like runs in log text except each run's last two.

    Rule: a run is an optional ``+``, an optional ``(`` or ``[``, then decimal digits (any
    Unicode ``Nd`` digit) with at most five separator characters between consecutive digits
    (``(415)) - 555`` is one number typed with a stray bracket);
    separators are space, tab, no-break space, ideographic space, ``. - / ( ) [ ] *`` and the
    Unicode dashes.  In a run holding at least 7 digits every digit except the run's last 2
    becomes ``*``; ``+``, brackets and separators stay, so ``"call +1 (415) 555-0100 failed"``
    becomes ``"call +* (***) ***-**00 failed"``.  Runs of fewer than 7 digits ("12 rows",
    "2026", "x1234") are untouched, and so are ISO dates and date-times (``2026-01-15``,
    ``2026-01-15 10:00:00``, ``2026-01-15T10:00:00.5``).  Numbers only a few separators apart
    form one run, and long non-phone numbers (ids, "1 234 567" counts) are masked too:
    over-masking is the safe failure for a log.
    """
    return _MASK_RE.sub(_mask_match, text)
