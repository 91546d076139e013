"""Fuzzy duplicates: re-typed copies of accounts that the exact match keys cannot find.

Each copy overwrites an account that takes part in no other plant with the name and address of
a source account, then changes what its kind says (`FUZZY_RATES`). The copy keeps its own phone
numbers, as a re-typed account would, so the `phone` key never links the pair; every kind changes
the normalized name or the ZIP, so `name_postal` does not either. The probabilistic matcher has
to find them: the planted pairs are its truth.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import copy_fields
from .columns import join, take_words
from .names import Names, change_suffix, name_bases
from .places import STREET_TYPE_OTHER, Places
from .plants import plant_count
from .typos import split_words, typos, word_eligible
from .words import FIRST_PARTS, INDUSTRIES, MODIFIERS, STREET_NAMES

# Pairs per account of the chunk: about 2,100 pairs in 100,000 accounts.
FUZZY_RATES = {
    "fuzzy_typo": 0.0055,  # 1-2 letter edits in one word of the name
    "fuzzy_swapped": 0.0020,  # first part and modifier change places: "Valley Acme Plumbing"
    "fuzzy_missing_word": 0.0025,  # the name's first word left out: "Valley Plumbing"
    "fuzzy_space": 0.0030,  # a space typed inside a word ("Plum bing"), spaces doubled in some
    "fuzzy_suffix": 0.0030,  # another legal suffix, plus a one-letter typo or a wrong ZIP digit
    "fuzzy_zip_transposed": 0.0025,  # two adjacent, different ZIP digits swapped
    "fuzzy_zip_digit": 0.0025,  # one ZIP digit wrong
}
TWO_EDIT_SHARE = 0.3  # typos with two edits in the word rather than one
DOUBLED_SPACE_SHARE = 0.4  # split-word copies whose spaces are also doubled
SUFFIX_TYPO_SHARE = 0.5  # suffix copies whose second change is a typo (the others: a ZIP digit)
# Copies (of every kind but fuzzy_suffix, which has two changes already) whose street is also
# written differently: St/Street, Ave/Avenue, Rd/Road, or a typo in the street name.
STREET_VARIANT_SHARE = 0.3
STREET_TYPO_SHARE = 0.4  # of street variants that could be either


@dataclass
class FuzzyPlants:
    """What the fuzzy plants of a chunk changed, for rendering, truth and counts."""

    pairs: dict[str, np.ndarray]  # per kind, (k, 2) rows: source, copy
    name_base: pa.Array  # every row's name before its legal suffix (see `render_names`)
    street_name: pa.Array  # every row's street name (see `render_places`)
    counts: dict[str, int]  # pairs per kind, and `street_variants`


def _has_word(words: tuple[str, ...]) -> np.ndarray:
    """Return per word-list entry whether it holds a word of 4+ letters that a typo can hit."""
    return word_eligible(pa.array(words, pa.large_string()), 4)


def _zip_digits(zip5: np.ndarray) -> np.ndarray:
    """Return the five decimal digits of each ZIP, (n, 5)."""
    return zip5[:, None] // 10 ** np.arange(4, -1, -1)[None, :] % 10


def _zip_number(digits: np.ndarray) -> np.ndarray:
    """Return the ZIPs of (n, 5) digits."""
    return digits @ 10 ** np.arange(4, -1, -1)


def _replace(values: pa.Array, rows: np.ndarray, new: pa.Array) -> pa.Array:
    """Return `values` with the given rows replaced by `new` (in the order of `rows`)."""
    index = np.arange(len(values))
    index[rows] = len(values) + np.arange(rows.size)
    return pa.concat_arrays([values, new.cast(values.type)]).take(pa.array(index))


def _eligible(names: Names, places: Places) -> dict[str, np.ndarray]:
    """Return per kind which accounts can be its source: the change must be possible and real."""
    first = np.asarray(FIRST_PARTS, dtype=object)[names.first]
    modifier = np.asarray(MODIFIERS, dtype=object)[np.maximum(names.modifier, 0)]
    has_modifier = names.modifier >= 0
    typo_word = (
        _has_word(FIRST_PARTS)[names.first]
        | (_has_word(MODIFIERS)[np.maximum(names.modifier, 0)] & has_modifier)
        | _has_word(INDUSTRIES)[names.industry]
    )
    # "Johnson & Sons" without its first word would start with "&".
    ampersand = np.array([w.split()[1:2] == ["&"] for w in FIRST_PARTS])[names.first]
    digits = _zip_digits(places.zip5)
    anything = np.ones(names.first.size, dtype=bool)
    return {
        "fuzzy_typo": typo_word,
        "fuzzy_swapped": has_modifier & (first != modifier),
        "fuzzy_missing_word": has_modifier & ~ampersand,
        "fuzzy_space": typo_word,
        "fuzzy_suffix": typo_word,
        "fuzzy_zip_transposed": (digits[:, :-1] != digits[:, 1:]).any(axis=1),
        "fuzzy_zip_digit": anything,
    }


def _choose_rows(
    counts: dict[str, int], eligible: dict[str, np.ndarray], free: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return per kind disjoint source and copy rows, taken from `free` in its (random) order."""
    taken = np.zeros(eligible["fuzzy_typo"].size, dtype=bool)
    sources = {}
    for kind, count in counts.items():
        candidates = free[eligible[kind][free] & ~taken[free]]
        sources[kind] = candidates[:count]
        taken[sources[kind]] = True
    left = free[~taken[free]]
    copies = {}
    used = 0
    for kind, rows in sources.items():
        copies[kind] = left[used : used + rows.size]
        used += rows.size
    return sources, copies


def _street_variants(
    rng: np.random.Generator, places: Places, street_name: pa.Array, rows: np.ndarray
) -> tuple[pa.Array, int]:
    """Write the street of some rows differently; return every row's street name and how many."""
    chosen = rows[rng.random(rows.size) < STREET_VARIANT_SHARE]
    other = STREET_TYPE_OTHER[places.street_type[chosen]]
    typo_ok = _has_word(STREET_NAMES)[places.street_name[chosen]]
    typo = typo_ok & ((other < 0) | (rng.random(chosen.size) < STREET_TYPO_SHARE))
    flip = ~typo & (other >= 0)
    places.street_type[chosen[flip]] = other[flip]
    rows_typo = chosen[typo]
    names = typos(rng, street_name.take(pa.array(rows_typo)), np.ones(rows_typo.size, np.int64))
    return _replace(street_name, rows_typo, names), int(flip.sum() + typo.sum())


def plant_fuzzy_duplicates(
    rng: np.random.Generator, names: Names, places: Places, free: np.ndarray
) -> FuzzyPlants:
    """Plant fuzzy duplicate pairs on the rows of `free` (in its order), two rows per pair."""
    n = names.first.size
    counts = {kind: plant_count(rate, n) for kind, rate in FUZZY_RATES.items()}
    while 2 * sum(counts.values()) > free.size:  # tiny chunks only
        largest = max(counts, key=lambda k: counts[k])
        counts[largest] -= 1
    sources, copies = _choose_rows(counts, _eligible(names, places), free)
    src = np.concatenate(list(sources.values()))
    dst = np.concatenate(list(copies.values()))
    copy_fields(names, src, dst, tuple(f.name for f in fields(Names)))
    copy_fields(places, src, dst, tuple(f.name for f in fields(Places)))

    space = copies["fuzzy_space"]
    names.spacing[space[rng.random(space.size) < DOUBLED_SPACE_SHARE]] = 1
    suffix = copies["fuzzy_suffix"]
    change_suffix(rng, names, suffix)
    suffix_typo = rng.random(suffix.size) < SUFFIX_TYPO_SHARE

    # Word order: built from the parts; letters: edited in the joined name.
    base = name_bases(names)
    sub = Names(*(getattr(names, f.name)[dst] for f in fields(Names)))
    first = take_words(FIRST_PARTS, sub.first)
    modifier = take_words(MODIFIERS, np.maximum(sub.modifier, 0), sub.modifier < 0)
    industry = take_words(INDUSTRIES, sub.industry)
    rest = pc.replace_substring_regex(first, r"^\S+\s*", "")
    rest = pc.if_else(pc.equal(rest, ""), pa.scalar(None, pa.large_string()), rest)
    doubled = pa.array(sub.spacing == 1)
    reordered = {
        "fuzzy_swapped": [modifier, first, industry],
        "fuzzy_missing_word": [rest, modifier, industry],
    }
    for kind, parts in reordered.items():
        built = pc.if_else(doubled, join(parts, "  "), join(parts, " "))
        at = np.flatnonzero(np.isin(dst, copies[kind]))
        base = _replace(base, dst[at], built.take(pa.array(at)))
    typo = np.concatenate([copies["fuzzy_typo"], suffix[suffix_typo]])
    edits = np.where(rng.random(typo.size) < TWO_EDIT_SHARE, 2, 1)
    edits[copies["fuzzy_typo"].size :] = 1
    base = _replace(base, typo, typos(rng, base.take(pa.array(typo)), edits))
    base = _replace(base, space, split_words(rng, base.take(pa.array(space))))

    rows = copies["fuzzy_zip_transposed"]
    digits = _zip_digits(places.zip5[rows])
    valid = digits[:, :-1] != digits[:, 1:]
    at = np.argmax(np.where(valid, rng.random(valid.shape), -1.0), axis=1)
    index = np.arange(rows.size)
    digits[index, at], digits[index, at + 1] = digits[index, at + 1], digits[index, at]
    places.zip5[rows] = _zip_number(digits)
    rows = np.concatenate([copies["fuzzy_zip_digit"], suffix[~suffix_typo]])
    digits = _zip_digits(places.zip5[rows])
    at = rng.integers(0, 5, rows.size)
    index = np.arange(rows.size)
    digits[index, at] = (digits[index, at] + rng.integers(1, 10, rows.size)) % 10
    places.zip5[rows] = _zip_number(digits)

    single = np.concatenate([rows for kind, rows in copies.items() if kind != "fuzzy_suffix"])
    street_name, street_variants = _street_variants(
        rng, places, take_words(STREET_NAMES, places.street_name), np.sort(single)
    )
    pairs = {kind: np.stack([sources[kind], copies[kind]], axis=1) for kind in FUZZY_RATES}
    counts = {kind: len(pair) for kind, pair in pairs.items()}
    return FuzzyPlants(pairs, base, street_name, {**counts, "street_variants": street_variants})
