"""Blocking: which pairs of Account records are compared at all.

A blocking rule gives each record zero or more key values; two records are a candidate pair when
they share a value of one rule. The rules (`BLOCKING_RULES`):

- `phone`: each valid E.164 number in any phone field;
- `postal`: the first postal digits (`postal_digits`);
- `first_token` / `last_token`: the first and the last word of the normalized name;
- `phonetic_city`: the metaphone code of the name's last word, with the city.

A block (records sharing one value of one rule) larger than `max_block_size` is skipped and
counted: a value every tenth record holds ("smith", a shared switchboard number) would make the
pairs grow with the square of the data, and its pairs are found by the other rules when they are
duplicates. Pairs are (IdL, IdR) with IdL < IdR, each once whatever number of rules found it.

On Dask the key rows are shuffled by (rule, value) so that a block is whole in one partition;
`candidate_pairs` then runs on each partition.
"""

from __future__ import annotations

import jellyfish
import numpy as np
import pandas as pd

from ...schema import STRING
from ..dedupe import normalize_names, postal_prefix

BLOCKING_RULES = ("phone", "postal", "first_token", "last_token", "phonetic_city")
KEYS_COLUMNS = ["Id", "Rule", "Value"]
PAIRS_COLUMNS = ["IdL", "IdR"]


def _metaphone(words: pd.Series) -> pd.Series:
    """Return the metaphone code of each word, computed once per distinct word."""
    distinct = pd.unique(words.dropna())
    codes = {word: jellyfish.metaphone(word) or None for word in distinct}
    return words.map(codes).astype(STRING)


def blocking_keys(
    records: pd.DataFrame,
    rules: tuple[str, ...],
    legal_suffixes: tuple[str, ...],
    postal_digits: int,
) -> pd.DataFrame:
    """Return one row per (record, rule, value): the blocking values of one partition.

    `records` holds Id, Name, BillingCity, BillingPostalCode and Phones (the record's valid
    E.164 numbers joined by `;`). A record without a value for a rule gives no row for it.
    """
    ids = records["Id"].astype(STRING)
    name = normalize_names(records["Name"], legal_suffixes)
    words = name.str.split(" ")
    by_rule = {
        "postal": postal_prefix(records["BillingPostalCode"], postal_digits),
        "first_token": words.str[0].astype(STRING),
        "last_token": words.str[-1].astype(STRING),
    }
    if "phonetic_city" in rules:
        city = records["BillingCity"].astype(STRING).str.strip().str.lower()
        by_rule["phonetic_city"] = _metaphone(by_rule["last_token"]) + "|" + city
    parts = []
    for rule in rules:
        if rule == "phone":
            phones = records["Phones"].astype(STRING).str.split(";")
            exploded = pd.DataFrame({"Id": ids, "Value": phones}).explode("Value")
            values, owners = exploded["Value"].astype(STRING), exploded["Id"]
        else:
            values, owners = by_rule[rule], ids
        keep = values.notna() & (values != "")
        parts.append(
            pd.DataFrame({"Id": owners[keep], "Rule": rule, "Value": values[keep]}).astype(STRING)
        )
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype=STRING) for column in KEYS_COLUMNS})
    return pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)


def candidate_pairs(keys: pd.DataFrame, max_block_size: int) -> tuple[pd.DataFrame, dict]:
    """Return the distinct pairs inside each block of the keys, and what was skipped.

    Every block must be whole in `keys` (one partition after a shuffle by Rule and Value).
    The counts: pairs per rule (before removing pairs found by several rules), blocks and
    records skipped for their size.
    """
    sizes = keys.groupby(["Rule", "Value"], observed=True)["Id"].transform("size")
    oversized = sizes > max_block_size
    skipped = keys[oversized]
    usable = keys[~oversized & (sizes > 1)]
    joined = usable.merge(usable, on=["Rule", "Value"], suffixes=("L", "R"))
    joined = joined[joined["IdL"] < joined["IdR"]]
    by_rule = joined.groupby("Rule", observed=True).size()
    pairs = joined[PAIRS_COLUMNS].drop_duplicates(ignore_index=True)
    counts = {
        "pairs_by_rule": {rule: int(n) for rule, n in by_rule.items()},
        "skipped_blocks": int(skipped.groupby(["Rule", "Value"], observed=True).ngroups),
        "skipped_block_records": int(len(skipped)),
    }
    return pairs.astype(STRING), counts


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
