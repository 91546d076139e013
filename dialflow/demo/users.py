"""The User table: the owners of the demo accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .columns import CHUNK_DIGITS, KEY_PREFIXES, canonical_table, join, salesforce_ids, take_words
from .timeline import ACCOUNT_YEARS, DAY
from .words import PERSON_FIRST, PERSON_LAST

ACCOUNTS_PER_USER = 2_000
MIN_USERS = 5
INACTIVE_USER_SHARE = 0.10


def user_count(accounts: int) -> int:
    """Return how many users own the given number of accounts."""
    return max(MIN_USERS, round(accounts / ACCOUNTS_PER_USER))


def user_table(seed: int, n_users: int, as_of: int) -> pa.Table:
    """Return the User table: names, example.com emails, about a tenth inactive."""
    rng = np.random.default_rng([seed, 62**CHUNK_DIGITS])  # a stream no chunk uses
    first = rng.integers(0, len(PERSON_FIRST), n_users)
    last = rng.integers(0, len(PERSON_LAST), n_users)
    inactive = np.zeros(n_users, dtype=bool)
    # The first user stays active so every demo has an owner the infoflow rule accepts.
    n_inactive = max(1, round(INACTIVE_USER_SHARE * n_users))
    inactive[1 + rng.permutation(n_users - 1)[:n_inactive]] = True
    name = join([take_words(PERSON_FIRST, first), take_words(PERSON_LAST, last)], " ")
    local = pc.utf8_lower(
        join([take_words(PERSON_FIRST, first), take_words(PERSON_LAST, last)], ".")
    )
    # Namesakes get a number: jane.doe, jane.doe2, ...
    repeat = pd.Series(first * len(PERSON_LAST) + last).groupby(first * len(PERSON_LAST) + last)
    rank = repeat.cumcount().to_numpy()
    suffix = pc.if_else(
        pa.array(rank > 0),
        pc.cast(pa.array(rank + 1), pa.large_string()),
        pa.scalar("", pa.large_string()),
    )
    email = join([local, suffix, "@example.com"], "")
    # Users predate the accounts they own: one a minute, ending six years before as_of.
    seconds = as_of - (ACCOUNT_YEARS + 1) * 365 * DAY - (n_users - np.arange(n_users)) * 60
    columns = {
        "Id": salesforce_ids(KEY_PREFIXES["User"], seconds, 0),
        "Name": name,
        "Email": email,
        "IsActive": pa.array(~inactive),
    }
    return canonical_table("User", columns)
