import dask.dataframe as dd
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dialflow.jobs.dedupe import (
    FLAGGED_META,
    dedupe_frame,
    normalize_names,
    postal_prefix,
    run_dedupe,
)
from tests.conftest import CHAIN_ACCOUNTS, accounts_frame

SUFFIXES = ("inc", "llc", "ltd", "corp", "co", "company", "corporation")


def expected(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(FLAGGED_META.columns))
    for column in ("LastModifiedDate", "SurvivorLastModifiedDate"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame.astype(FLAGGED_META.dtypes.to_dict())


@pytest.mark.parametrize(
    "name, normalized",
    [
        ("Acme, Inc.", "acme"),
        ("ACME   INC", "acme"),
        ("Acme L.L.C.", "acme"),
        ("acme co inc", "acme"),
        ("Coca Cola Co", "coca cola"),
        ("Inc.", "inc"),  # a suffix alone is the name
        ("Company", "company"),
        ("Straße GmbH", "strasse gmbh"),
        ("A&B Corp", "ab"),
        ("  ...  ", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_names(name, normalized):
    result = normalize_names(pd.Series([name], dtype="string[pyarrow]"), SUFFIXES)
    assert (result.iloc[0] if result.notna().iloc[0] else None) == normalized


def test_postal_prefix_keeps_five_digits_or_nothing():
    codes = pd.Series(["94105-1234", "94105", " 9410", None, "K1A 0B1", "02134"])
    assert postal_prefix(codes, 5).tolist() == ["94105", "94105", pd.NA, pd.NA, pd.NA, "02134"]


def test_chain_by_phone_then_name_is_one_cluster(dedupe_defaults):
    accounts = accounts_frame(CHAIN_ACCOUNTS)
    flagged, counts = dedupe_frame(accounts, dedupe_defaults)
    assert_frame_equal(
        flagged,
        expected(
            [
                ("001A", "001B", 3, "phone", "2026-01-01", "2026-03-01"),
                ("001C", "001B", 3, "name_postal", "2026-02-01", "2026-03-01"),
            ]
        ),
    )
    assert counts["clusters"] == 1 and counts["flagged"] == 2 and counts["largest_cluster"] == 3
    assert counts["keys"]["phone"] == {"valid": 4}


def test_ties_break_on_created_date_then_greatest_id(dedupe_defaults):
    same = dict(Phone="312-222-3456", LastModifiedDate="2026-05-05T10:00:00Z")
    accounts = accounts_frame(
        [
            dict(Id="001P", CreatedDate="2024-01-01", **same),
            dict(Id="001Q", CreatedDate="2025-01-01", **same),  # newest CreatedDate wins
            dict(Id="001R", CreatedDate="2023-01-01", **same),
            dict(
                Id="001X",
                Phone="617-253-1000",
                LastModifiedDate="2026-01-01",
                CreatedDate="2020-01-01",
            ),
            dict(
                Id="001Y",
                Phone="617.253.1000",
                LastModifiedDate="2026-01-01",
                CreatedDate="2020-01-01",
            ),  # full tie: greatest Id wins
        ]
    )
    flagged, _ = dedupe_frame(accounts, dedupe_defaults)
    assert_frame_equal(
        flagged,
        expected(
            [
                ("001P", "001Q", 3, "phone", "2026-05-05T10:00:00Z", "2026-05-05T10:00:00Z"),
                ("001R", "001Q", 3, "phone", "2026-05-05T10:00:00Z", "2026-05-05T10:00:00Z"),
                ("001X", "001Y", 2, "phone", "2026-01-01", "2026-01-01"),
            ]
        ),
    )


def test_invalid_empty_phones_and_names_never_match(dedupe_defaults):
    accounts = accounts_frame(
        [
            dict(Id="001A", Name=None, Phone="123-456-7890", BillingPostalCode="10001"),
            dict(Id="001B", Name="", Phone="123-456-7890", BillingPostalCode="10001"),
            dict(Id="001C", Name="...", Phone="", BillingPostalCode="10001"),
            dict(Id="001D", Name="Echo", Phone=None, BillingPostalCode=None),
            dict(Id="001E", Name="Echo", Phone="   ", BillingPostalCode="123"),
        ]
    )
    flagged, counts = dedupe_frame(accounts, dedupe_defaults)
    assert flagged.empty
    assert counts["keys"] == {
        "phone": {"invalid": 2, "blank": 3},
        "name_postal": {"no_name": 3, "no_postal": 2},
    }
    assert counts["clusters"] == 0 and counts["flagged"] == 0


def test_names_differing_by_suffix_or_punctuation_match_and_both_keys_are_reported(
    dedupe_defaults,
):
    accounts = accounts_frame(
        [
            dict(
                Id="001A",
                Name="Acme, Inc.",
                BillingPostalCode="94105",
                Phone="(415) 867-5309",
                LastModifiedDate="2026-01-02",
            ),
            dict(
                Id="001B",
                Name="ACME CORP",
                BillingPostalCode="94105-1111",
                Phone="4158675309",
                LastModifiedDate="2026-01-01",
            ),
            dict(
                Id="001C",
                Name="Acme",
                BillingPostalCode="94106",  # other postal code
                Phone=None,
                LastModifiedDate="2026-01-03",
            ),
        ]
    )
    flagged, _ = dedupe_frame(accounts, dedupe_defaults)
    assert_frame_equal(
        flagged, expected([("001B", "001A", 2, "phone;name_postal", "2026-01-01", "2026-01-02")])
    )


def test_missing_dates_lose_to_any_date(dedupe_defaults):
    accounts = accounts_frame(
        [
            dict(Id="001Z", Phone="617-253-1000", LastModifiedDate=None, CreatedDate=None),
            dict(Id="001A", Phone="617-253-1000", LastModifiedDate="2001-01-01"),
        ]
    )
    flagged, _ = dedupe_frame(accounts, dedupe_defaults)
    assert flagged["Id"].tolist() == ["001Z"] and flagged["SurvivorId"].tolist() == ["001A"]


def test_only_configured_keys_are_used(dedupe_defaults):

    accounts = accounts_frame(
        [
            dict(Id="001A", Name="Acme", BillingPostalCode="94105", Phone="617-253-1000"),
            dict(Id="001B", Name="Acme", BillingPostalCode="94105", Phone="212-736-5000"),
        ]
    )
    flagged, counts = dedupe_frame(
        accounts, dedupe_defaults.model_copy(update=dict(match_keys=("phone",)))
    )
    assert flagged.empty and set(counts["keys"]) == {"phone"}


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_dask_wiring_equals_the_pure_function(dedupe_defaults, partitions):
    rows = []
    for i in range(60):
        rows.append(
            dict(
                Id=f"001{i:05d}",
                Name=["Acme Inc", "ACME, LLC", "Bolt Co", "bolt"][i % 4],
                BillingPostalCode=["94105", "10001", "94105-0001"][i % 3],
                Phone=["(415) 867-5309", "617.253.1000", "", "bad", None][i % 5],
                LastModifiedDate=f"2026-01-{1 + i % 9:02d}",
                CreatedDate=f"2025-0{1 + i % 7}-01",
            )
        )
    accounts = accounts_frame(rows)
    reference, reference_counts = dedupe_frame(accounts, dedupe_defaults)
    result = run_dedupe(dd.from_pandas(accounts, npartitions=partitions), dedupe_defaults)
    assert_frame_equal(result.flagged, reference)
    assert result.counts == reference_counts
    assert len(reference) > 0
