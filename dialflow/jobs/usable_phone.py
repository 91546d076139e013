"""Which phone of an account is still usable: valid, and not cleared by the latest autoflush run.

listiq calls the first usable field; infoflow asks for research where there is none. Both read
autoflush's cleanup as (account, field, number) keys, so a field that holds a new number since
the cleanup counts again.
"""

from __future__ import annotations

import pandas as pd

from ..phones import normalize_e164
from ..schema import STRING


def cleared_keys(cleanup: pd.DataFrame) -> pd.Index:
    """Return the (account, field, number) keys an autoflush cleanup clears."""
    columns = cleanup[["AccountId", "Field", "PhoneE164"]].astype(STRING)
    keys = _key(columns["AccountId"], columns["Field"], columns["PhoneE164"])
    return pd.Index(keys.dropna().unique())


def _key(account_ids: pd.Series, field: pd.Series | str, e164: pd.Series) -> pd.Series:
    return account_ids.astype(STRING) + "|" + field + "|" + e164.astype(STRING)


def first_usable_phone(
    accounts: pd.DataFrame, fields: tuple[str, ...], region: str, cleared: pd.Index
) -> tuple[pd.Series, pd.Series]:
    """Return each account's first usable phone (E.164) and its field, in `fields` order.

    Both are missing where no field holds a valid number that `cleared` leaves alone.
    """
    positions = pd.RangeIndex(len(accounts))  # a partition's own index may repeat labels
    phone = pd.Series(pd.NA, index=positions, dtype=STRING)
    phone_field = pd.Series(pd.NA, index=positions, dtype=STRING)
    for field in fields:  # a handful of fields, each one vectorised
        # Only accounts still without a phone: most have one after the first field.
        pending = accounts[["Id", field]].set_axis(positions)[phone.isna().to_numpy()]
        e164 = normalize_e164(pending[field], region)
        usable = e164.notna()
        if len(cleared):
            # The Index's hash table is built once and reused by every field and partition on
            # a worker; Series.isin would rebuild it on each call (seconds at 100K keys).
            keys = _key(pending["Id"], field, e164)
            usable &= ~pd.Series(cleared.get_indexer(keys) >= 0, index=keys.index)
        found = usable[usable].index
        phone.loc[found] = e164.loc[found]
        phone_field.loc[found] = field
    return phone.set_axis(accounts.index), phone_field.set_axis(accounts.index)
