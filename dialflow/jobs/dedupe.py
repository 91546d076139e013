"""dedupe: which account records are duplicates, and which one of each cluster survives.

With `method: exact` (this module), two records are duplicates when they share a match key
(`phone`: E.164 of the primary phone; `name_postal`: normalized name plus the first postal
digits). With `method: probabilistic` (`dialflow.jobs.linkage`), when a Fellegi-Sunter model
gives their pair a match probability at or above the threshold. Either way clusters are the
connected components of the links; the survivor is the newest by LastModifiedDate, then
CreatedDate, then greatest Id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..phones import is_blank, normalize_e164
from ..schema import STRING, TIMESTAMP, empty_frame
from . import Compute, dask_compute
from .params import JobParams
from .rows import AccountChecks, checked_frames, dropped_counts

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..config import Settings
    from .linkage.reference import LinkageParams


class DedupeParams(JobParams):
    """What the dedupe job needs, resolved from the settings."""

    method: str
    match_keys: tuple[str, ...]
    phone_field: str
    phone_fields: tuple[str, ...]
    region: str
    postal_digits: int
    legal_suffixes: tuple[str, ...]
    threshold: float
    review_threshold: float
    blocking_rules: tuple[str, ...]
    max_block_size: int
    whole_block_size: int
    block_window: int
    street_block_size: int
    max_cluster_size: int
    model: Path | None
    seed: int
    u_pairs: int
    u_sample_records: int
    prior_recall: float

    @classmethod
    def from_settings(cls, settings: Settings) -> DedupeParams:
        """The phone key defaults to the first configured phone field (a phone_field outside
        phones.fields was refused with the config); suffixes compare casefolded."""
        dedupe = settings.dedupe
        return cls.from_section(
            dedupe,
            phone_field=dedupe.phone_field or settings.phones.fields[0],
            phone_fields=settings.phones.fields,
            region=settings.phones.region,
            legal_suffixes=tuple(suffix.casefold() for suffix in dedupe.legal_suffixes),
        )

    def linkage(self) -> LinkageParams:
        """The probabilistic matcher's parameters."""
        from .linkage.blocking import BlockLimits
        from .linkage.reference import LinkageParams

        return LinkageParams(
            phone_fields=self.phone_fields,
            region=self.region,
            legal_suffixes=self.legal_suffixes,
            postal_digits=self.postal_digits,
            rules=self.blocking_rules,
            blocks=BlockLimits(
                whole=self.whole_block_size,
                window=self.block_window,
                most=self.max_block_size,
                street=self.street_block_size,
            ),
            threshold=self.threshold,
            review_threshold=self.review_threshold,
            max_cluster_size=self.max_cluster_size,
            u_pairs=self.u_pairs,
            u_sample_records=self.u_sample_records,
            seed=self.seed,
            prior_recall=self.prior_recall,
        )


# What the survivor rule reads, and what each key kind reads besides.
SURVIVOR_COLUMNS = ["Id", "CreatedDate", "LastModifiedDate"]
NAME_POSTAL_COLUMNS = ["Name", "BillingPostalCode"]


def account_columns(params: DedupeParams) -> list[str]:
    """Return the Account columns dedupe reads: the survivor rule's and, exact, the configured
    keys' (a source without a phone column is fine when no key uses it); probabilistic, the
    compared fields and every phone field (blocking and the phone comparison use them)."""
    if params.method == "probabilistic":
        from .linkage.reference import RECORD_COLUMNS

        return SURVIVOR_COLUMNS + RECORD_COLUMNS[1:] + list(params.phone_fields)
    by_kind = {"phone": [params.phone_field], "name_postal": NAME_POSTAL_COLUMNS}
    return SURVIVOR_COLUMNS + [column for kind in params.match_keys for column in by_kind[kind]]


# One row per (account, match key kind); KeyValue is null where the record has no usable key.
KEYS_META = empty_frame(
    {
        "Id": STRING,
        "LastModifiedDate": TIMESTAMP,
        "CreatedDate": TIMESTAMP,
        "MatchKey": STRING,
        "KeyValue": STRING,
        "KeyStatus": STRING,
    }
)

FLAGGED_META = empty_frame(
    {
        "Id": STRING,
        "SurvivorId": STRING,
        "ClusterSize": "int64",
        "MatchKeys": STRING,
        "LastModifiedDate": TIMESTAMP,
        "SurvivorLastModifiedDate": TIMESTAMP,
    }
)

_PUNCTUATION = r"[\p{P}\p{S}]+"
_WHITESPACE = r"[\s\p{Z}]+"


def normalize_names(names: pd.Series, legal_suffixes: tuple[str, ...]) -> pd.Series:
    """Casefold, drop punctuation, collapse whitespace and strip trailing legal suffixes.

    Returns null where nothing is left. A name that is only a suffix ("Company") keeps it,
    because a suffix is only removed after another word.
    """
    text = names.astype(STRING)
    folded = text.str.lower()  # pyarrow, vectorised
    # Python's casefold also folds e.g. "ß" -> "ss"; it only differs from lower() off ASCII.
    non_ascii = (~text.str.isascii()).fillna(False)
    if non_ascii.any():
        folded[non_ascii] = text[non_ascii].str.casefold()
    result = (
        folded.str.replace(_PUNCTUATION, "", regex=True)
        .str.replace(_WHITESPACE, " ", regex=True)
        .str.strip()
    )
    if legal_suffixes:
        alternatives = "|".join(sorted({s for s in legal_suffixes if s}, key=len, reverse=True))
        result = result.str.replace(rf"(?: (?:{alternatives}))+$", "", regex=True)
    return result.mask(result == "")


def postal_prefix(postal_codes: pd.Series, digits: int) -> pd.Series:
    """Return the first `digits` digits of each postal code, or null when it has fewer."""
    only_digits = postal_codes.astype(STRING).str.replace(r"\D", "", regex=True)
    prefix = only_digits.str.slice(0, digits)
    return prefix.mask(prefix.str.len() < digits)


def account_keys(accounts: pd.DataFrame, params: DedupeParams) -> pd.DataFrame:
    """Return one row per account and configured match key, with the key's value and status.

    KeyStatus is `valid`, or why there is no key (`blank`, `invalid`, `no_name`, `no_postal`);
    KeyValue is prefixed with the key kind so that values of different kinds never meet.
    """
    parts = []
    for kind in params.match_keys:
        if kind == "phone":
            raw = accounts[params.phone_field]
            value = normalize_e164(raw, params.region)
            status = np.where(value.notna(), "valid", np.where(is_blank(raw), "blank", "invalid"))
        else:
            name = normalize_names(accounts["Name"], params.legal_suffixes)
            postal = postal_prefix(accounts["BillingPostalCode"], params.postal_digits)
            value = name + "|" + postal
            status = np.where(value.notna(), "valid", np.where(name.isna(), "no_name", "no_postal"))
        parts.append(
            pd.DataFrame(
                {
                    "Id": accounts["Id"].astype(STRING),
                    "LastModifiedDate": accounts["LastModifiedDate"].astype(TIMESTAMP),
                    "CreatedDate": accounts["CreatedDate"].astype(TIMESTAMP),
                    "MatchKey": pd.Series(kind, index=accounts.index, dtype=STRING),
                    "KeyValue": (kind + ":" + value.astype(STRING)).astype(STRING),
                    "KeyStatus": pd.Series(status, index=accounts.index, dtype=STRING),
                }
            )
        )
    if not parts:
        return KEYS_META.copy()
    return pd.concat(parts, ignore_index=True)


def key_status_counts(keys: pd.DataFrame) -> pd.DataFrame:
    """Count key rows by match key kind and status (for the run summary)."""
    counts = keys.groupby(["MatchKey", "KeyStatus"], observed=True).size()
    return counts.rename("rows").reset_index()


def shared_key_members(keys: pd.DataFrame) -> pd.DataFrame:
    """Keep the key rows whose value is held by at least two records.

    Correct per partition only when every row of a key value is in that partition (after a
    shuffle on KeyValue); on a whole frame it is correct as it stands.
    """
    valid = keys.dropna(subset=["KeyValue"])
    # factorize + bincount counts holders per value about 2.5x faster than a groupby transform.
    codes, _ = pd.factorize(valid["KeyValue"])
    holders = np.bincount(codes, minlength=1)[codes]
    return valid.loc[
        holders >= 2, ["Id", "LastModifiedDate", "CreatedDate", "MatchKey", "KeyValue"]
    ]


def resolve_clusters(members: pd.DataFrame, match_keys: tuple[str, ...]) -> pd.DataFrame:
    """Join records sharing a key into clusters and flag every member but the newest.

    Args:
        members: key rows held by two or more records (small by construction: only duplicates).
        match_keys: the configured key kinds, which orders the MatchKeys column.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if members.empty:
        return FLAGGED_META.copy()
    node, ids = pd.factorize(members["Id"], sort=True)
    # Each key value links its holders to the first of them: a star spans the same component.
    hub = pd.Series(node).groupby(members["KeyValue"].to_numpy(), sort=False).transform("first")
    graph = coo_matrix(
        (np.ones(len(node), dtype=np.int8), (node, hub.to_numpy())), shape=(len(ids), len(ids))
    )
    _, component = connected_components(graph, directed=False)

    records = (
        members.assign(node=node)
        .drop_duplicates("node")
        .set_index("node")
        .sort_index()[["Id", "LastModifiedDate", "CreatedDate"]]
    )
    records["Cluster"] = component
    records["ClusterSize"] = records.groupby("Cluster")["Id"].transform("size").astype("int64")
    newest_first = records.sort_values(
        ["Cluster", "LastModifiedDate", "CreatedDate", "Id"],
        ascending=[True, False, False, False],
        na_position="last",
    )
    survivors = newest_first.drop_duplicates("Cluster")[["Cluster", "Id", "LastModifiedDate"]]
    survivors.columns = ["Cluster", "SurvivorId", "SurvivorLastModifiedDate"]

    # Each record's shared key kinds as a bit set, then one label per distinct set: a string
    # join per record costs seconds at a million duplicates.
    bits = {kind: 1 << rank for rank, kind in enumerate(match_keys)}
    kinds = members[["Id", "MatchKey"]].drop_duplicates()
    key_set = kinds["MatchKey"].map(bits).astype("int64").groupby(kinds["Id"]).sum()
    labels = {
        mask: ";".join(kind for kind in match_keys if mask & bits[kind])
        for mask in key_set.unique()
    }
    match_keys_of = key_set.map(labels)

    flagged = records.merge(survivors, on="Cluster")
    flagged = flagged[flagged["Id"] != flagged["SurvivorId"]]
    flagged = flagged.assign(MatchKeys=flagged["Id"].map(match_keys_of))
    return (
        flagged[list(FLAGGED_META.columns)]
        .astype(FLAGGED_META.dtypes.to_dict())
        .sort_values("Id", ignore_index=True)
    )


def summarise(
    status_counts: pd.DataFrame, flagged: pd.DataFrame, match_keys: tuple[str, ...]
) -> dict[str, Any]:
    """Return the run summary's counts from the key statuses and the flagged records.

    Every configured key kind is listed, with no statuses when there were no accounts."""
    by_key: dict[str, dict[str, int]] = {kind: {} for kind in match_keys}
    for row in status_counts.itertuples(index=False):  # a handful of (kind, status) rows
        by_key.setdefault(row.MatchKey, {})[row.KeyStatus] = int(row.rows)
    clusters = flagged.groupby("SurvivorId")["ClusterSize"].first()
    return {
        "keys": by_key,
        "clusters": int(len(clusters)),
        "records_in_clusters": int(clusters.sum()),
        "flagged": int(len(flagged)),
        "largest_cluster": int(clusters.max()) if len(clusters) else 0,
    }


def dedupe_frame(accounts: pd.DataFrame, params: DedupeParams) -> tuple[pd.DataFrame, dict]:
    """Run the whole job on one pandas frame: the reference the Dask wiring must equal."""
    accounts, dropped = checked_frames(accounts)
    keys = account_keys(accounts, params)
    flagged = resolve_clusters(shared_key_members(keys), params.match_keys)
    counts = summarise(key_status_counts(keys), flagged, params.match_keys)
    return flagged, {**counts, "dropped_rows": dropped}


@dataclass(frozen=True)
class DedupeResult:
    flagged: pd.DataFrame
    counts: dict[str, Any]


def run_dedupe(
    accounts: dd.DataFrame,
    params: DedupeParams,
    compute: Compute = dask_compute,
) -> DedupeResult:
    """Wire the pure functions on Dask: keys per partition, a shuffle by key, gather the pairs.

    Args:
        accounts: Account with at least `account_columns(params)`.
        params: resolved dedupe parameters.
        compute: computes several collections at once (the CLI's shows progress); default dask's.
    """
    checks = AccountChecks.of(accounts)
    keys = checks.accounts.map_partitions(account_keys, params, meta=KEYS_META, token="dedupe-keys")
    status_counts = keys.map_partitions(
        key_status_counts,
        meta=empty_frame(
            {
                "MatchKey": STRING,
                "KeyStatus": STRING,
                "rows": "int64",
            }
        ),
        token="dedupe-count",
    )
    status_totals = status_counts.groupby(["MatchKey", "KeyStatus"])["rows"].sum()
    members = (
        keys.dropna(subset=["KeyValue"])
        .shuffle(on="KeyValue")
        .map_partitions(shared_key_members, meta=KEYS_META.iloc[:, :5], token="dedupe-match")
    )
    # Only records holding a shared key come back to the client, never the account table.
    members_frame, totals, *checked = compute(
        members, status_totals, *checks.collections, stage="find duplicates"
    )
    dropped = dropped_counts(AccountChecks.settle(*checked))
    flagged = resolve_clusters(members_frame, params.match_keys)
    counts = summarise(totals.reset_index(), flagged, params.match_keys)
    return DedupeResult(flagged, {**counts, "dropped_rows": dropped})
