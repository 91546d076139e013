"""Phone values of the six phone fields: valid numbers in many formats, malformed and junk values,
empty strings and nulls; and the formats a dialer writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dialflow.schema import DEFAULT_PHONE_FIELDS

from .arrays import in_group, pick
from .columns import digits
from .places import Reference

# Phone templates: '#' holes are filled left to right with the number's ten digits, then four
# extension digits; malformed templates reuse the same digits.
VALID_FORMATS = (
    ("(###) ###-####", 28),
    ("###-###-####", 24),
    ("###.###.####", 7),
    ("##########", 14),
    ("+1 ###.###.####", 3),
    ("+1##########", 8),
    ("1-###-###-####", 5),
    ("### ### ####", 4),
    ("+1 (###) ###-####", 3),
    ("########## x##", 2),
    ("(###) ###-#### ext. ###", 1),
    ("###-###-#### x####", 1),
)
MALFORMED_FORMATS = (
    # Seven digits, no area code; 555 because 310-xxxx is a valid Canadian service number.
    ("555-####", 30),
    ("(###) ###-###", 15),  # nine digits
    ("###-###-#####", 10),  # eleven digits
    ("(0##) ###-####", 10),  # area codes never start with 0 or 1
    ("1##-###-####", 10),
    ("###-##O-####", 15),  # a letter O typed for a zero
    ("###-###-##OO", 10),
)
JUNK_VALUES = (
    ("N/A", 20), ("n/a", 8), ("NA", 5), ("none", 6), ("NONE", 4), ("unknown", 6), ("TBD", 5),
    ("-", 6), ("0", 4), ("000-000-0000", 12), ("0000000000", 6), ("111-111-1111", 4),
    ("999-999-9999", 4), ("123-456-7890", 5), ("see notes", 2), ("call main office", 2),
    ("no phone", 1),
)  # fmt: skip
PHONE_TEMPLATES = (
    tuple(t for t, _ in VALID_FORMATS)
    + tuple(t for t, _ in MALFORMED_FORMATS)
    + tuple(t for t, _ in JUNK_VALUES)
    + ("",)
)
N_VALID = len(VALID_FORMATS)
MALFORMED_START = N_VALID
JUNK_START = MALFORMED_START + len(MALFORMED_FORMATS)
EMPTY = len(PHONE_TEMPLATES) - 1
# Formats a dialer writes into Dialed_Number__c when it does not echo the stored value.
DIAL_FORMATS = tuple(
    PHONE_TEMPLATES.index(t)
    for t in ("+1##########", "##########", "(###) ###-####", "###-###-####", "1-###-###-####")
)

# Per phone field: share filled, share of filled values malformed, share junk.
PHONE_FILL = (0.92, 0.55, 0.30, 0.35, 0.15, 0.08)
MALFORMED_SHARE = 0.03
JUNK_SHARE = 0.015
EMPTY_STRING_SHARE = 0.30  # of unfilled values; the rest are null
OUT_OF_STATE_SHARE = 0.05  # numbers with another state's area code (people move, lines port)
PHONE_2_REPEATS_PHONE = 0.02


@dataclass
class Phones:
    """The six phone fields of n accounts as numbers and templates, (6, n) each."""

    number: np.ndarray  # a valid ten-digit number in every cell, shown only by valid templates
    ext: np.ndarray  # (6, n, 4) ASCII extension digits
    template: np.ndarray  # index into PHONE_TEMPLATES
    null: np.ndarray

    def valid(self) -> np.ndarray:
        """Return which cells hold a number in a valid format."""
        return (self.template < N_VALID) & ~self.null


def _phone_numbers(rng: np.random.Generator, ref: Reference, state: np.ndarray) -> np.ndarray:
    """Return valid ten-digit numbers, mostly with an area code of the state, real exchanges."""
    n = state.size
    home = in_group(rng, ref.area_start, ref.area_count, state)
    anywhere = rng.integers(0, ref.area_codes.size, n)
    area = np.where(rng.random(n) < OUT_OF_STATE_SHARE, anywhere, home)
    exchange = ref.exchanges[in_group(rng, ref.exchange_start, ref.exchange_count, area)]
    return ref.area_codes[area] * 10_000_000 + exchange * 10_000 + rng.integers(0, 10_000, n)


def valid_format(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return n valid-format template indices with realistic frequencies."""
    return pick(rng, [w for _, w in VALID_FORMATS], n)


def draw_phones(rng: np.random.Generator, ref: Reference, state: np.ndarray) -> Phones:
    """Draw six phone fields: filled less often field by field, with malformed and junk values."""
    n = state.size
    fields = len(DEFAULT_PHONE_FIELDS)
    number = np.stack([_phone_numbers(rng, ref, state) for _ in range(fields)])
    template = np.empty((fields, n), dtype=np.int64)
    null = np.zeros((fields, n), dtype=bool)
    for f, fill in enumerate(PHONE_FILL):
        filled = rng.random(n) < fill
        quality = rng.random(n)
        malformed = filled & (quality < MALFORMED_SHARE)
        junk = filled & ~malformed & (quality < MALFORMED_SHARE + JUNK_SHARE)
        row = valid_format(rng, n)
        row[malformed] = MALFORMED_START + pick(
            rng, [w for _, w in MALFORMED_FORMATS], int(malformed.sum())
        )
        row[junk] = JUNK_START + pick(rng, [w for _, w in JUNK_VALUES], int(junk.sum()))
        row[~filled] = EMPTY
        template[f] = row
        null[f] = ~filled & (rng.random(n) >= EMPTY_STRING_SHARE)
    repeat = rng.random(n) < PHONE_2_REPEATS_PHONE
    number[1, repeat] = number[0, repeat]
    ext = rng.integers(ord("1"), ord("9") + 1, (fields, n, 4), dtype=np.uint8)
    return Phones(number=number, ext=ext, template=template, null=null)


def force_valid(
    rng: np.random.Generator, phones: Phones, field: np.ndarray, row: np.ndarray
) -> None:
    """Make the given cells show their number in a valid format."""
    shown = phones.template[field, row] < N_VALID
    phones.template[field, row] = np.where(
        shown, phones.template[field, row], valid_format(rng, row.size)
    )
    phones.null[field, row] = False


def phone_fills(number: np.ndarray, ext: np.ndarray) -> np.ndarray:
    """Return the hole fills of phone templates: ten digits, then four extension digits."""
    return np.concatenate([digits(number, 10), ext], axis=1)


def dial_templates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return per call the template of the dialed number: the stored one (-1) or a dialer format."""
    own = rng.random(n) < 0.6
    return np.where(own, -1, np.asarray(DIAL_FORMATS)[rng.integers(0, len(DIAL_FORMATS), n)])
