"""Company names: parts from the word lists, legal suffixes, and the spellings duplicates use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import copy_fields, pick
from .columns import join, take_words
from .words import FIRST_PARTS, INDUSTRIES, MODIFIERS

# Legal-suffix families: forms inside a family normalize to the same dedupe key.
SUFFIX_FAMILIES = (
    ("Inc", "Inc.", "Incorporated"),
    ("LLC", "L.L.C.", "Llc"),
    ("Ltd", "Ltd.", "Limited"),
    ("Corp", "Corp.", "Corporation"),
    ("Co", "Co.", "Company"),
)
SUFFIX_FAMILY_WEIGHTS = (0.34, 0.34, 0.06, 0.14, 0.12)
SUFFIX_FORM_WEIGHTS = (0.6, 0.3, 0.1)
SUFFIX_SEPARATORS = (" ", ", ")
NO_SUFFIX_SHARE = 0.15
# Forms that differ only in case (LLC, Llc) are one form in a name written in capitals.
FOLDED_FORMS = np.array([[form.casefold() for form in family] for family in SUFFIX_FAMILIES])
TAILS = ("",) + tuple(
    sep + form for family in SUFFIX_FAMILIES for form in family for sep in SUFFIX_SEPARATORS
)


@dataclass
class Names:
    """Company name components of n accounts; rendered by `render_names`."""

    first: np.ndarray
    modifier: np.ndarray  # -1 for none
    industry: np.ndarray
    family: np.ndarray  # legal-suffix family, -1 for none
    form: np.ndarray
    sep: np.ndarray
    case: np.ndarray  # 0 as written, 1 upper, 2 lower
    spacing: np.ndarray  # 0 normal, 1 doubled spaces, 2 padded


def draw_names(rng: np.random.Generator, n: int) -> Names:
    """Draw company name components."""
    return Names(
        first=rng.integers(0, len(FIRST_PARTS), n),
        modifier=np.where(rng.random(n) < 0.5, rng.integers(0, len(MODIFIERS), n), -1),
        industry=rng.integers(0, len(INDUSTRIES), n),
        family=np.where(rng.random(n) < NO_SUFFIX_SHARE, -1, pick(rng, SUFFIX_FAMILY_WEIGHTS, n)),
        form=pick(rng, SUFFIX_FORM_WEIGHTS, n),
        sep=pick(rng, (0.7, 0.3), n),
        case=pick(rng, (0.93, 0.05, 0.02), n),
        spacing=pick(rng, (0.97, 0.02, 0.01), n),
    )


def name_bases(names: Names) -> pa.Array:
    """Return the names without their legal suffix, spaced as the row says (doubled or not)."""
    parts = [
        take_words(FIRST_PARTS, names.first),
        take_words(MODIFIERS, np.maximum(names.modifier, 0), names.modifier < 0),
        take_words(INDUSTRIES, names.industry),
    ]
    return pc.if_else(pa.array(names.spacing == 1), join(parts, "  "), join(parts, " "))


def render_names(names: Names, base: pa.Array | None = None) -> pa.Array:
    """Return the Name strings; `base` replaces `name_bases(names)` (fuzzy duplicates edit it)."""
    base = name_bases(names) if base is None else base
    tail = np.where(names.family < 0, 0, 1 + (names.family * 3 + names.form) * 2 + names.sep)
    name = join([base, take_words(TAILS, tail)], "")
    name = pc.if_else(pa.array(names.spacing == 2), join([" ", name, " "], ""), name)
    name = pc.if_else(pa.array(names.case == 1), pc.utf8_upper(name), name)
    return pc.if_else(pa.array(names.case == 2), pc.utf8_lower(name), name)


def change_suffix(rng: np.random.Generator, names: Names, rows: np.ndarray) -> None:
    """Write each row's legal suffix differently: another form of its family, another family,
    none; or one where there was none. The suffix as written changes, in any case."""
    no_suffix = names.family[rows] < 0
    how = rng.integers(0, 3, rows.size)
    form_shift = rng.integers(1, 3, rows.size)
    family_shift = rng.integers(1, len(SUFFIX_FAMILIES), rows.size)
    new_family = pick(rng, SUFFIX_FAMILY_WEIGHTS, rows.size)
    new_form = pick(rng, SUFFIX_FORM_WEIGHTS, rows.size)
    family, form = names.family[rows], names.form[rows]
    other_form = (form + form_shift) % 3
    # At most two forms of a family fold alike: the third form differs from both.
    folded_alike = FOLDED_FORMS[family, other_form] == FOLDED_FORMS[family, form]
    other_form = np.where(folded_alike, (form + 3 - form_shift) % 3, other_form)
    names.form[rows] = np.select(
        [no_suffix, how == 0, how == 1], [new_form, other_form, new_form], form
    )
    names.family[rows] = np.select(
        [no_suffix, how == 1, how == 2],
        [new_family, (family + family_shift) % len(SUFFIX_FAMILIES), -1],
        family,
    )


def name_variants(rng: np.random.Generator, names: Names, src: np.ndarray, dst: np.ndarray) -> None:
    """Give dst the name of src in another spelling: case, punctuation, spacing or legal suffix."""
    copy_fields(names, src, dst, tuple(Names.__dataclass_fields__))
    n = dst.size
    kind = rng.integers(0, 4, n)
    no_suffix = names.family[dst] < 0
    # Case: upper or lower if the source is as written, else back to as written.
    rows = dst[kind == 0]
    names.case[rows] = np.where(names.case[rows] == 0, rng.integers(1, 3, rows.size), 0)
    # Punctuation: flip the comma and the period form (Inc <-> Inc.); give a suffix if none.
    rows = dst[(kind == 1) & ~no_suffix]
    names.sep[rows] = 1 - names.sep[rows]
    names.form[rows] = np.where(names.form[rows] == 0, 1, 0)
    # Spacing: doubled or padded spaces.
    rows = dst[kind == 2]
    names.spacing[rows] = np.where(names.spacing[rows] == 0, rng.integers(1, 3, rows.size), 0)
    # Legal suffix: another form of the same family, or none; a suffix where there was none.
    rows = dst[(kind == 3) & ~no_suffix]
    drop = rng.random(rows.size) < 0.4
    names.form[rows] = (names.form[rows] + rng.integers(1, 3, rows.size)) % 3
    names.family[rows[drop]] = -1
    rows = dst[((kind == 1) | (kind == 3)) & no_suffix]
    names.family[rows] = pick(rng, SUFFIX_FAMILY_WEIGHTS, rows.size)
    # Shouting is common in copied records, whatever else changed.
    names.case[dst[rng.random(n) < 0.2]] = 1
