"""Blocking: which pairs of Account records are compared at all.

A blocking rule gives each record zero or more key values; two records are a candidate pair when
they share a value of one rule. Words are those of the normalized name (`normalize_names`:
casefolded, punctuation and trailing legal suffixes removed), sounds their metaphone codes. The
rules (`BLOCKING_RULES`):

- `phone`: each valid E.164 number in any phone field;
- `name`: the whole name without spaces (the same business anywhere; it also gives the training
  session that learns how places of duplicates differ);
- `postal_word`: the postal code (`postal_digits`) with the sound of the name's first word and
  the first letter of its last word, and the same the other way round, as two keys of one rule
  (a typo in either word, the words swapped: "matthews jack" / "jack matthews"). The other
  word's letter keeps the blocks small in a dense ZIP code: with the sound alone this rule made
  64.7 of 118 million pairs at 10,000,000 demo accounts, with the letter 5.3;
- `name_city`: the whole name without spaces, with the city (a mistyped postal code);
- `postal_number`: the postal code with the street's house number and the first two letters
  of the street after it (the same address whatever the name: a name garbled or replaced, the
  words of another trade; the letters cut this rule's pairs at 10,000,000 demo accounts from
  17.6 to 1.0 million);
- `city_number`: the city with the house number and the first four letters of the street after
  it (the same address with a mistyped postal code and a name that differs too; with one
  letter, the blocks of a big city's small house numbers made twice the pairs, and four
  letters instead of two cut this rule's pairs at 1,000,000 demo accounts from 565,000 to
  422,000 with the same FEBRL candidates and the same planted pairs found);
- `postal_street`: the postal code with the first four letters of the street's name (after the
  house number): the same street in one postal code whatever the names and numbers (both
  name words mistyped, a house number left out). Its blocks are kept only up to `street` (4)
  records: the demo's postal codes hold hundreds of businesses on a few dozen streets, and
  blocks up to `whole` made 13.0 million pairs at 10,000,000 demo accounts, up to 4 records
  1.45 million; on FEBRL, with the window of 10, it lifts the clusters' F1 from 0.986 / 0.973 /
  0.976 to 0.989 / 0.982 / 0.984;
- `words_state`: the sounds of the first and last word in sorted order, with the state (the
  words swapped, or the postal code and city both differing);
- `phonetic_city`: the sound of the last word, with the city;
- `postal_sample`, `name_sample`: the postal code alone, the whole name alone, for one value in 8
  (chosen by a hash of the value) and at most 8 records of each block (by a hash of the Id):
  the pairs the training sessions need (the pairs of one ZIP agree on the place whether they
  match or not and nothing else is biased; the pairs of one name likewise on the name), at a
  bounded cost (`SAMPLE_BLOCK_RECORDS`), every pair of the cut block (never a window);
- `postal`, `first_token`, `last_token`: the postal code alone, the first or the last word alone.

The default (config `dedupe.blocking_rules`) is every rule but `name`, `postal`,
`phonetic_city` and `words_state`. `postal_word` and `city_number` came from
FEBRL's missed pairs (its candidate recall went from 0.966 / 0.925 / 0.905 to 0.984 / 0.957 /
0.942). On
400,000 demo accounts the first three left out made 12.6 million of 14.9 million pairs
(`phonetic_city` 5.7, `postal` 4.9, `name` 1.9) and found no planted duplicate the others
missed: the last word of a business name is mostly its trade, a ZIP code holds dozens of
businesses, and one name in many places is mostly many businesses; their samples train the
model. `words_state` made 2.4 of 7.5 million pairs at 1,000,000 accounts, growing with the
square of a state's accounts, for half a point of FEBRL's candidate recall.
`first_token` and `last_token` have blocks that grow with the data (a common word); they find
what the others miss on small or badly typed data (FEBRL), and at scale their large blocks are
windowed or skipped. The blocks of the other rules grow more slowly, split by a postal code, a
city or a state.

How a block is paired depends on its size (`BlockLimits`): every pair up to `whole` (10)
records; a larger block by a sorted window (each record with the next `window - 1` in name
order), so that a dense ZIP code at 10 million accounts costs pairs in proportion to its records
rather than to their square; a block above `most` (1,000) is skipped and counted: a value every
tenth record holds ("smith", a shared switchboard number), whose pairs are found by the other
rules when they are duplicates. The address rules (ADDRESS_RULES) skip every block above `whole`
(`postal_street` above `street`):
a house number and street start that a dozen records share is a building or a placeholder, and
its duplicates share a name or a number another rule blocks on. Pairs are (IdL, IdR) with
IdL < IdR, each once whatever number of rules found it, with `Rules`: the set of rules that
found it as bits (`rule_bit`), which training uses to pick the pairs of its sessions.

A key row names its block by `Block`, a 64-bit hash of the rule and the value (`KEYS_META`).
On Dask the key rows are shuffled by Block so that a block is whole in one partition;
`candidate_pairs` then runs on each partition, and `merge_found_pairs` joins the copies of a pair
that blocks in different partitions found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...config import BLOCKING_RULES
from ...schema import STRING, empty_frame
from .compare import arrow_text, normalise_records

# One row per (record, rule, value). Rule: the rule's name (a category of BLOCKING_RULES). Block:
# a 64-bit hash of the rule and its value, which names the block (the values are not kept: the
# shuffle and the grouping move and compare one integer instead of a text per key; two values
# of 95 million sharing a hash is a chance of about 1 in 4,000, and costs only the extra pairs
# of two merged blocks). Sort: the order of a windowed block (`BlockLimits`): the record's name
# without spaces.
RULE = pd.CategoricalDtype(list(BLOCKING_RULES))
KEYS_COLUMNS = ["Id", "Rule", "Block", "Sort"]
KEYS_META = empty_frame({"Id": STRING, "Rule": RULE, "Block": "uint64", "Sort": STRING})


ADDRESS_RULES = frozenset({"postal_number", "city_number", "postal_street"})
# The street letters after the house number in the address rules' values (blocking docstring).
POSTAL_NUMBER_LETTERS = 2
CITY_NUMBER_LETTERS = 4


@dataclass(frozen=True)
class BlockLimits:
    """How the records of one block (one value of one rule) are paired.

    A block of up to `whole` records gives every pair. A larger one, up to `most` records, is
    sorted (by the name without spaces, then by Id) and each record is paired with the next
    `window - 1` (the sorted neighbourhood method): its pairs grow with the block, not with its
    square, and names that differ by a typo late in the name or a missing last word sort side
    by side. A block above `most`, an address rule's block above `whole` or a `postal_street`
    block above `street` is skipped and counted.
    """

    whole: int = 10
    window: int = 10
    most: int = 1000
    street: int = 4


PAIRS_COLUMNS = ["IdL", "IdR"]
FOUND_META = empty_frame({"IdL": STRING, "IdR": STRING, "Rules": "int16"})


def rule_bit(rule: str) -> int:
    """The bit of a rule in a pair's `Rules` (fixed by the order of BLOCKING_RULES)."""
    return 1 << BLOCKING_RULES.index(rule)


def rules_mask(rules: tuple[str, ...]) -> int:
    """The bits of several rules."""
    return sum(rule_bit(rule) for rule in set(rules))


def _metaphone(words: pd.Series) -> pd.Series:
    """Return the metaphone code of each word, computed once per distinct word; a word with no
    code (digits: "store 17") stands for itself."""
    distinct = pd.unique(words.dropna())
    codes = {word: jellyfish.metaphone(word) or word for word in distinct}
    return words.map(codes).astype(STRING)


# The `_sample` rules keep the blocks of one value in SAMPLE_ONE_IN.
SAMPLE_ONE_IN = 8


def _sample_of(values: pd.Series) -> pd.Series:
    """The values, null but for one in SAMPLE_ONE_IN chosen by a hash of the value (the same on
    every partition and in every run)."""
    hashed = pd.util.hash_pandas_object(values.fillna(""), index=False, hash_key="dialflowsample00")
    keep = hashed.to_numpy() % np.uint64(SAMPLE_ONE_IN) == 0
    return values.where(pd.Series(keep, index=values.index))


# A normalised street's house number (a first token starting with a digit) and the first letters
# of the word after it; \p classes because RE2 (pyarrow) reads \d and \w as ASCII only.
_NUMBER_AND_WORD = r"^(?P<number>\p{Nd}[\pL\pN_]*) (?P<word>[\pL\pN_]{1,%d})"
# The first letters of a normalised street's first word that starts with a letter, after the
# house number if it has one.
_STREET_START = r"^(?:\p{Nd}[\pL\pN_]* )?(?P<start>\pL[\pL\pN_]{0,%d})"


def _extracted(values: pd.Series, pattern: str) -> pa.StructArray:
    """The named groups of `pattern` in each value (null where it does not match): one RE2 pass
    (a `contains` then a `replace` of the whole value took three times as long)."""
    return pc.extract_regex(arrow_text(values), pattern)


def _house_number_street_start(streets: pd.Series, letters: tuple[int, ...]) -> list[pd.Series]:
    """For each of `letters`, the house number and the first that many letters of what follows
    it ("123 ma" of "123 main st" for 2), null when the street has no number or nothing after
    it: one RE2 pass for them all (the most letters, cut to the fewer)."""
    groups = _extracted(streets, _NUMBER_AND_WORD % max(letters))
    number, word = pc.struct_field(groups, "number"), pc.struct_field(groups, "word")
    space = pa.scalar(" ", number.type)
    return [
        pd.Series(
            pc.binary_join_element_wise(number, pc.utf8_slice_codeunits(word, 0, each), space),
            index=streets.index,
            dtype=STRING,
        )
        for each in letters
    ]


def _street_start(streets: pd.Series, letters: int) -> pd.Series:
    """The first `letters` letters of the street's name ("main" of "123 main st" for 4), null
    when no word after the house number starts with a letter."""
    groups = _extracted(streets, _STREET_START % (letters - 1))
    return pd.Series(pc.struct_field(groups, "start"), index=streets.index, dtype=STRING)


def _sorted_pair(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`a` and `b` with the smaller first, so that swapped words give the same pair."""
    swap = (a > b).fillna(False)
    return a.where(~swap, b), b.where(~swap, a)


def blocking_keys(
    records: pd.DataFrame,
    rules: tuple[str, ...],
    legal_suffixes: tuple[str, ...],
    postal_digits: int,
) -> pd.DataFrame:
    """Return one row per (record, rule, value): the blocking values of one partition.

    `records` holds Id, Name, BillingCity, BillingState, BillingPostalCode and Phones (the
    record's valid E.164 numbers joined by `;`). A record without a value for a rule gives no
    row for it.
    """
    return keys_of(normalise_records(records, legal_suffixes, postal_digits), rules)


def keys_of(normalised: pd.DataFrame, rules: tuple[str, ...]) -> pd.DataFrame:
    """`blocking_keys` of records already normalised (`compare.normalise_records`)."""
    ids = normalised["Id"].astype(STRING)
    name = normalised["name"].astype(STRING)
    # Normalised names have single spaces and no space at either end.
    first = name.str.replace(" .*$", "", regex=True)
    last = name.str.replace("^.* ", "", regex=True)
    postal, city, state = normalised["postal"], normalised["city"], normalised["state"]

    @cache
    def sound(which: str) -> pd.Series:  # several rules use each: computed once
        return _metaphone(first if which == "first" else last)

    @cache
    def unspaced() -> pd.Series:
        return name.str.replace(" ", "", regex=False)

    @cache
    def street_start() -> pd.Series:
        return _street_start(normalised["street"], 4)

    @cache
    def numbers_and_letters() -> dict[int, pd.Series]:
        letters = (POSTAL_NUMBER_LETTERS, CITY_NUMBER_LETTERS)
        values = _house_number_street_start(normalised["street"], letters)
        return dict(zip(letters, values, strict=True))

    def number_and_letters(letters: int) -> pd.Series:
        return numbers_and_letters()[letters]

    # Each rule's keys, one per key a record may have (a rule with two, postal_word, puts both
    # in one namespace, so the first word of one name meets the last of the other), each as the
    # values it joins: a record has the key when it has every one of them.
    values_of: dict[str, Callable[[], list[list[pd.Series]]]] = {
        "name": lambda: [[unspaced()]],
        "postal": lambda: [[postal]],
        "postal_number": lambda: [[postal, number_and_letters(POSTAL_NUMBER_LETTERS)]],
        "postal_street": lambda: [[postal, street_start()]],
        "city_number": lambda: [[city, number_and_letters(CITY_NUMBER_LETTERS)]],
        "postal_sample": lambda: [[_sample_of(postal)]],
        "name_sample": lambda: [[_sample_of(unspaced())]],
        "first_token": lambda: [[first]],
        "last_token": lambda: [[last]],
        "phonetic_city": lambda: [[sound("last"), city]],
        "postal_word": lambda: [
            [postal, sound("first"), last.str[0]],
            [postal, sound("last"), first.str[0]],
        ],
        "name_city": lambda: [[unspaced(), city]],
        "words_state": lambda: [[*_sorted_pair(sound("first"), sound("last")), state]],
    }
    # Each rule's key rows as (record position, Block); the Id and Sort texts are taken once at
    # the end, and repeated keys are found on integers.
    count = len(normalised)
    every_record = np.arange(count, dtype=np.int64)
    positions, codes, blocks = [], [], []
    for rule in dict.fromkeys(rules):
        if rule == "phone":
            lists = pc.split_pattern(arrow_text(normalised["Phones"]), ";")
            numbers = pd.Series(pc.list_flatten(lists), dtype=STRING)
            found = [([numbers], pc.list_parent_indices(lists).to_numpy().astype(np.int64))]
        else:
            found = [(values, every_record) for values in values_of[rule]()]
        owners, hashes = [], []
        for values, holders in found:
            keep = np.logical_and.reduce(
                [(value.notna() & (value != "")).to_numpy(dtype=bool) for value in values]
            )
            owners.append(holders[keep])
            hashes.append(_block_hash([value[keep] for value in values], rule))
        owner, block = np.concatenate(owners), np.concatenate(hashes)
        # A record's keys repeat only where it has several of one rule (postal_word's two for a
        # one-word name; a number twice in Phones).
        if len(found) > 1 or rule == "phone":
            repeated = pd.DataFrame({"owner": owner, "block": block}).duplicated().to_numpy()
            owner, block = owner[~repeated], block[~repeated]
        positions.append(owner)
        blocks.append(block)
        codes.append(np.full(len(owner), RULE.categories.get_loc(rule), dtype=np.int8))
    if not positions:
        return KEYS_META.copy()
    at = pa.array(np.concatenate(positions))
    return pd.DataFrame(
        {
            "Id": pd.Series(arrow_text(ids).take(at), dtype=STRING),
            "Rule": pd.Categorical.from_codes(np.concatenate(codes), dtype=RULE),
            "Block": np.concatenate(blocks),
            "Sort": pd.Series(arrow_text(unspaced()).take(at), dtype=STRING),
        }
    )


def _block_hash(values: list[pd.Series], rule: str) -> np.ndarray:
    """The Block of each key of a rule, from the values it joins: a 64-bit hash keyed by the
    rule, so equal values of two rules name two blocks. pandas hashes each column once per
    distinct value and combines the columns' hashes: a postal code and a city are hashed as
    the few thousand values they take, where their joined text was unique to nearly every
    record."""
    key = f"dialflowblock{BLOCKING_RULES.index(rule):03d}"  # hash_pandas_object: 16 characters
    columns = pd.DataFrame({str(i): value.array for i, value in enumerate(values)})
    return pd.util.hash_pandas_object(columns, index=False, hash_key=key).to_numpy(np.uint64)


BLOCK_COUNTS_META = empty_frame(
    {
        "Rule": STRING,
        "pairs": "int64",
        "windowed_blocks": "int64",
        "skipped_blocks": "int64",
        "skipped_block_records": "int64",
    }
)


# A sampled rule's block keeps this many of its records at most (those whose Id hashes lowest):
# training needs pairs from many blocks, not every pair of a large one (at 1,000,000 demo
# accounts the ZIP codes held 40 accounts each, and postal_sample made 2.6 million pairs). Its
# pairs are always every pair of the cut block, never a window: a window in name order would
# hand the training sessions the pairs with the closest names.
SAMPLE_BLOCK_RECORDS = 8


def sampled_blocks(keys: pd.DataFrame) -> pd.DataFrame:
    """The keys with each block of a `_sample` rule cut to SAMPLE_BLOCK_RECORDS records (the
    same whatever the partitions: blocks are whole, the cut goes by a hash of the Id)."""
    sampled = _sampled(keys["Rule"])
    if not sampled.any():
        return keys
    part = keys[sampled]
    hashed = pd.util.hash_pandas_object(part["Id"], index=False, hash_key="dialflowblocks00")
    ordered = part.assign(_hash=hashed.to_numpy()).sort_values(["Block", "_hash", "Id"])
    rank = ordered.groupby("Block").cumcount()
    kept = ordered[rank.to_numpy() < SAMPLE_BLOCK_RECORDS].drop(columns="_hash")
    return pd.concat([keys[~sampled], kept], ignore_index=True)


def _sampled(rules: pd.Series) -> np.ndarray:
    """Whether each rule is a `_sample` rule (its blocks cut by `sampled_blocks`, paired whole)."""
    return np.isin(rules.astype(RULE).cat.codes.to_numpy(), _SAMPLED_CODES)


_SAMPLED_CODES = [code for code, rule in enumerate(BLOCKING_RULES) if rule.endswith("_sample")]
_ADDRESS_CODES = [code for code, rule in enumerate(BLOCKING_RULES) if rule in ADDRESS_RULES]
_STREET_CODE = BLOCKING_RULES.index("postal_street")


# How a block is paired (`BlockLimits`): every pair, a window in sort order, or none.
WHOLE, WINDOWED, SKIPPED = 0, 1, 2


def _block_kind(size: pd.Series | np.ndarray, rules: pd.Series, limits: BlockLimits) -> np.ndarray:
    """WHOLE, WINDOWED or SKIPPED for each block of `size` records of `rules` (a sampled rule's
    block, already cut by `sampled_blocks`, is always WHOLE; an address rule's block above
    `whole`, or a `postal_street` block above `street`, is SKIPPED: see ADDRESS_RULES)."""
    size = np.asarray(size, dtype=np.int64)
    codes = rules.astype(RULE).cat.codes.to_numpy()
    sampled, address = np.isin(codes, _SAMPLED_CODES), np.isin(codes, _ADDRESS_CODES)
    street = codes == _STREET_CODE
    return np.select(
        [
            sampled,
            size > limits.most,
            street & (size > limits.street),
            address & (size > limits.whole),
            size > limits.whole,
        ],
        [WHOLE, SKIPPED, SKIPPED, SKIPPED, WINDOWED],
        WHOLE,
    )


def _block_pairs(size: pd.Series | np.ndarray, kind: np.ndarray, window: int) -> np.ndarray:
    """The pairs a block of `size` records of that kind gives."""
    size = np.asarray(size, dtype=np.int64)
    # A windowed block: each record with the next window - 1, fewer at its end.
    steps = np.minimum(window - 1, size - 1)
    windowed = steps * size - steps * (steps + 1) // 2
    return np.select([kind == SKIPPED, kind == WINDOWED], [0, windowed], size * (size - 1) // 2)


def block_counts(keys: pd.DataFrame, limits: BlockLimits) -> pd.DataFrame:
    """Per rule: the pairs its blocks hold (before removing pairs several rules found), the
    blocks paired by a window, and the blocks and key rows skipped for their size. Blocks must
    be whole in `keys`, and cut by `sampled_blocks`."""
    codes, first = _blocks_of(keys)
    sizes = pd.DataFrame({"Rule": keys["Rule"].array[first], "size": np.bincount(codes)})
    return counts_of_sizes(sizes, limits)


def _blocks_of(keys: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each key row's block as a code 0..blocks-1, and each block's first row (a hash table on
    the integer Block: grouping by it in pandas sorted it, the slowest step of pairing)."""
    codes, _ = pd.factorize(keys["Block"].to_numpy())
    _, first = np.unique(codes, return_index=True)
    return codes, first


def counts_of_sizes(sizes: pd.DataFrame, limits: BlockLimits) -> pd.DataFrame:
    """`block_counts` from one row per block: its Rule and its size."""
    kind = _block_kind(sizes["size"], sizes["Rule"], limits)
    over = kind == SKIPPED
    counts = pd.DataFrame(
        {
            "Rule": sizes["Rule"],
            "pairs": _block_pairs(sizes["size"], kind, limits.window),
            "windowed_blocks": (kind == WINDOWED).astype("int64"),
            "skipped_blocks": over.astype("int64"),
            "skipped_block_records": sizes["size"].where(over, 0),
        }
    )
    return (
        counts.groupby("Rule", observed=True)
        .sum()
        .reset_index()
        .astype(BLOCK_COUNTS_META.dtypes.to_dict())
    )


def summed_block_counts(counts: pd.DataFrame) -> dict[str, Any]:
    """The counts summary.json shows, from `block_counts` of one or more partitions."""
    by_rule = counts.groupby("Rule", observed=True)["pairs"].sum()
    return {
        "pairs_by_rule": {str(rule): int(n) for rule, n in by_rule.items() if n > 0},
        "windowed_blocks": int(counts["windowed_blocks"].sum()),
        "skipped_blocks": int(counts["skipped_blocks"].sum()),
        "skipped_block_records": int(counts["skipped_block_records"].sum()),
    }


def _window_pairs(keys: pd.DataFrame, window: int) -> pd.DataFrame:
    """Rule, IdL, IdR of each record and the next window - 1 of its block in name order."""
    ordered = keys.sort_values(["Block", "Sort", "Id"], kind="stable")
    block = ordered["Block"].to_numpy()
    ids = ordered["Id"].to_numpy(dtype=object)
    rules = ordered["Rule"].cat.codes.to_numpy()
    parts = []
    for step in range(1, window):
        same = block[step:] == block[:-step]
        a, b = ids[:-step][same], ids[step:][same]
        lower = a < b
        parts.append(
            pd.DataFrame(
                {
                    "Rule": pd.Categorical.from_codes(rules[step:][same], dtype=RULE),
                    "IdL": np.where(lower, a, b),
                    "IdR": np.where(lower, b, a),
                }
            )
        )
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"Rule": pd.Categorical([], dtype=RULE), "IdL": [], "IdR": []})
    )


def found_pairs(keys: pd.DataFrame, limits: BlockLimits) -> pd.DataFrame:
    """Return the distinct pairs of each block of the keys (`BlockLimits`): IdL, IdR and
    Rules. Every block must be whole in `keys` (one partition after a shuffle by Block), and
    cut by `sampled_blocks`."""
    codes, _ = _blocks_of(keys)
    sizes = np.bincount(codes)[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    kind = _block_kind(sizes, keys["Rule"], limits)
    whole = keys[(kind == WHOLE) & (sizes > 1)]
    joined = whole[["Block", "Rule", "Id"]].merge(
        whole[["Block", "Id"]], on="Block", suffixes=("L", "R")
    )
    joined = joined.loc[joined["IdL"] < joined["IdR"], ["Rule", "IdL", "IdR"]]
    windowed = _window_pairs(keys[kind == WINDOWED], limits.window)
    both = pd.concat([joined, windowed], ignore_index=True)
    # rule_bit of each row: 1 << the rule's place in BLOCKING_RULES (RULE's categories).
    bits = np.left_shift(1, both["Rule"].astype(RULE).cat.codes.to_numpy(dtype=np.int16))
    found = pd.DataFrame(
        {
            "IdL": both["IdL"].astype(STRING),
            "IdR": both["IdR"].astype(STRING),
            "Rules": bits.astype(np.int16),
        }
    )
    return merge_found_pairs(found)


def candidate_pairs(keys: pd.DataFrame, limits: BlockLimits) -> tuple[pd.DataFrame, dict]:
    """`found_pairs` and `summed_block_counts` of one frame."""
    keys = sampled_blocks(keys)
    return found_pairs(keys, limits), summed_block_counts(block_counts(keys, limits))


def merge_found_pairs(found: pd.DataFrame) -> pd.DataFrame:
    """One row per (IdL, IdR), its Rules the union of every row's and its other columns the
    first row's: correct on a partition only when all rows of a pair are in it (after a
    shuffle or a hash join on IdL, say)."""
    if found.empty:
        return found.iloc[:0].reset_index(drop=True)
    ordered = found.sort_values(["IdL", "IdR"], ignore_index=True, kind="stable")
    left, right = ordered["IdL"].to_numpy(dtype=object), ordered["IdR"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, (left[1:] != left[:-1]) | (right[1:] != right[:-1])])
    rules = np.bitwise_or.reduceat(ordered["Rules"].to_numpy(dtype=np.int16), starts)
    return ordered.iloc[starts].reset_index(drop=True).assign(Rules=rules.astype(np.int16))


def sample_records(records: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """Return the `size` records whose Id hashes lowest for the seed (all when fewer).

    A random sample that does not depend on how the records are split: taking it from each
    partition and then again from the union of those samples gives the same records as taking
    it from the whole, so the Dask run draws the u pairs the one-frame reference draws. Ties in
    the hash (never seen at 64 bits) fall to the Id.
    """
    if len(records) <= size:
        return records
    key = f"dialflow{seed:08d}"[-16:]  # hash_pandas_object takes a 16-character key
    ids = records["Id"].astype(STRING)
    hashed = pd.util.hash_pandas_object(ids, index=False, hash_key=key).to_numpy()
    # Only records hashing at most the size-th lowest hash can be chosen: those alone are
    # sorted (a sort of every record took most of the time).
    candidates = np.flatnonzero(hashed <= np.partition(hashed, size - 1)[size - 1])
    order = pd.DataFrame({"hash": hashed[candidates], "Id": ids.iloc[candidates].to_numpy()})
    chosen = candidates[order.sort_values(["hash", "Id"], kind="stable").index[:size]]
    return records.iloc[np.sort(chosen)]


def random_pairs(ids: pd.Series, count: int, seed: int) -> pd.DataFrame:
    """Return `count` random pairs of distinct records (IdL < IdR), for estimating u: nearly
    all of them are non-matches. Drawn from the sorted Ids, so the draw does not depend on the
    order of the input."""
    pool = np.sort(ids.astype(str).unique())
    if len(pool) < 2:
        return pd.DataFrame({column: pd.Series(dtype=STRING) for column in PAIRS_COLUMNS})
    rng = np.random.default_rng(seed)
    left = rng.integers(0, len(pool), count)
    right = rng.integers(0, len(pool), count)
    keep = left != right
    low, high = np.minimum(left, right)[keep], np.maximum(left, right)[keep]
    return pd.DataFrame({"IdL": pool[low], "IdR": pool[high]}).astype(STRING)
