"""The one-frame probabilistic matcher on synthetic accounts with planted fuzzy duplicates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dialflow.jobs.linkage.reference import LinkageParams, probabilistic_pairs
from dialflow.schema import DEFAULT_PHONE_FIELDS

# fmt: off
FIRST = ["acme", "bayside", "delta", "summit", "harbor", "pioneer", "cedar", "atlas", "apex",
         "granite", "liberty", "meridian", "northstar", "orchard", "quantum", "redwood"]
LAST = ["plumbing", "tools", "farms", "roofing", "dental", "motors", "bakery", "electric",
        "logistics", "printing", "landscaping", "consulting", "realty", "cleaners"]
# fmt: on
CITIES = ["austin", "dallas", "houston", "denver", "boston", "seattle", "miami", "phoenix"]
STREETS = ["main st", "oak ave", "elm st", "pine rd", "maple dr", "cedar ln", "lake blvd"]


def typo(word: str, rng: np.random.Generator) -> str:
    """Swap two adjacent letters: the kind of slip a person makes typing a name."""
    i = int(rng.integers(0, len(word) - 1))
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def planted(seed: int = 5, originals: int = 600, duplicates: int = 150):
    """Accounts with unique (name, place) and fuzzy copies of some; return them and the truth."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(originals):
        rows.append(
            {
                "Id": f"A{i:04d}",
                "Name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
                "BillingStreet": f"{rng.integers(1, 999)} {rng.choice(STREETS)}",
                "BillingCity": str(rng.choice(CITIES)),
                "BillingState": "TX",
                "BillingPostalCode": f"{rng.integers(10000, 99999)}",
            }
        )
    truth = []
    for j, source in enumerate(rng.choice(originals, duplicates, replace=False)):
        copy = dict(rows[source], Id=f"B{j:04d}")
        first, last, number = copy["Name"].split(" ")
        kind = j % 3
        if kind == 0:
            copy["Name"] = f"{typo(first, rng)} {last} {number} llc"
        elif kind == 1:
            postal = copy["BillingPostalCode"]
            copy["BillingPostalCode"] = postal[:3] + postal[4] + postal[3]
        else:
            copy["BillingStreet"] = copy["BillingStreet"].replace(" st", " street")
        rows.append(copy)
        truth.append((rows[source]["Id"], copy["Id"]))
    accounts = pd.DataFrame(rows).astype("string")
    for field in DEFAULT_PHONE_FIELDS:
        accounts[field] = pd.Series(pd.NA, index=accounts.index, dtype="string")
    return accounts, {tuple(sorted(pair)) for pair in truth}


def found(accounts: pd.DataFrame) -> set[tuple[str, str]]:
    params = LinkageParams(phone_fields=DEFAULT_PHONE_FIELDS)
    result = probabilistic_pairs(accounts, params)
    chosen = result.pairs[result.pairs["MatchProbability"] >= params.threshold]
    return set(zip(chosen["IdL"], chosen["IdR"], strict=True))


def test_planted_fuzzy_duplicates_are_found_with_few_false_pairs():
    accounts, truth = planted()
    pairs = found(accounts)
    hits = len(pairs & truth)
    assert hits / len(truth) >= 0.95, (hits, len(truth))
    assert hits / len(pairs) >= 0.95, (hits, len(pairs))


def test_the_result_does_not_depend_on_row_order_and_repeats_exactly():
    accounts, _ = planted(seed=9, originals=300, duplicates=60)
    shuffled = accounts.sample(frac=1, random_state=3).reset_index(drop=True)
    assert found(accounts) == found(shuffled) == found(accounts)
