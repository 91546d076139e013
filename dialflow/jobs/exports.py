"""listiq's dialer-ready exports: the day's call list in the files two dialers import.

- `vicidial`: VICIdial's lead loader file in its standard format (the 25 fields in the order its
  admin help lists under "LIST LOADER FUNCTIONALITY"), tab-delimited, no header.
- `genesys`: a Genesys Cloud contact list CSV: E.164 phone, one IANA time zone, the window in UTC.

Both are pure functions of the finished call list; VICIdial also needs each listed account's
billing address and second usable phone (`account_details`, one extra pass over Account that only
keeps the listed accounts). The call list CSV itself is never changed here.

Dialer zone (decision): a row whose area code spans several zones (`America/Boise|America/
Los_Angeles`) keeps all of them in `TimeZones`; the one zone a dialer gets (`TimeZone`) is the
first zone the area code lists, the zone the call list's local times are already written in, so
every file reads the same wall clock. The window is the intersection over all the zones, so each
of its instants is legal in every zone, whichever zone names it: naming another zone changes how
the window reads, never when calls may happen. No single zone makes a dialer's own fixed hours
(8:00-21:00 in that zone) legal for such a row, so a dialer must import the row's window.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..phones import normalize_e164
from ..schema import STRING, empty_frame
from ..sinks.csv import neutralise_formulas
from .usable_phone import _key

if TYPE_CHECKING:
    import dask.dataframe as dd

    from . import Compute
    from .listiq import ListiqParams

BILLING = {"Street": "BillingStreet", "City": "BillingCity", "PostalCode": "BillingPostalCode"}
DETAILS_META = empty_frame({column: STRING for column in ("AccountId", *BILLING, "AltPhone")})
# VICIdial's standard lead file, in its documented order; widths are vicidial_list's columns.
VICIDIAL_COLUMNS = [
    "vendor_lead_code", "source_code", "list_id", "phone_code", "phone_number", "title",
    "first_name", "middle_initial", "last_name", "address1", "address2", "address3", "city",
    "state", "province", "postal_code", "country_code", "gender", "date_of_birth", "alt_phone",
    "email", "security_phrase", "comments", "rank", "owner",
]  # fmt: skip
VICIDIAL_WIDTHS = {
    "vendor_lead_code": 20, "source_code": 50, "first_name": 30, "address1": 100, "city": 50,
    "state": 2, "postal_code": 10,
}  # fmt: skip
GENESYS_COLUMNS = [
    "AccountId", "AccountName", "Phone", "State", "TimeZone", "TimeZones",
    "WindowStartUTC", "WindowEndUTC",
]  # fmt: skip


def export_files(profiles: tuple[str, ...], day: date) -> dict[str, str]:
    """Return the file name of each dialer profile asked for (the CSV is the run's own)."""
    names = {"vicidial": f"vicidial_leads_{day}.txt", "genesys": f"genesys_contacts_{day}.csv"}
    return {profile: names[profile] for profile in profiles if profile in names}


def needs_details(profiles: tuple[str, ...]) -> bool:
    """Return whether an export needs the accounts' addresses and second phones."""
    return "vicidial" in profiles


def detail_columns(params: ListiqParams) -> list[str]:
    """Return the Account columns `account_details` reads."""
    return ["Id", *BILLING.values(), *params.phone_fields]


def account_details(
    accounts: pd.DataFrame,
    listed: pd.DataFrame,
    cleared: pd.Index,
    area_codes: pd.DataFrame,
    params: ListiqParams,
) -> pd.DataFrame:
    """Return the billing address and the second usable phone of the listed accounts.

    Args:
        accounts: Account rows with `detail_columns(params)` (any partition).
        listed: the call list's AccountId, Phone, TimeZone and State.
        cleared: (account, field, number) keys the latest autoflush run cleared.
        area_codes: the reference table (area_code, state, time_zone).
        params: resolved listiq parameters.

    Returns:
        One row per listed account of the partition (DETAILS_META). AltPhone is the first field,
        in `phones.fields` order, holding a valid number other than the listed one that autoflush
        has not cleared and whose area code has the listed number's zones and state: a dialer
        rings it under the listed number's window, which is only legal if the two places match.
    """
    mine = accounts[accounts["Id"].isin(set(listed["AccountId"]))]
    positions = pd.RangeIndex(len(mine))  # a partition's own index may repeat labels
    ids = mine["Id"].astype(STRING).set_axis(positions)
    place = listed.set_index("AccountId").reindex(ids).set_axis(positions).astype(STRING)
    by_code = area_codes.set_index("area_code")
    alt = pd.Series(pd.NA, index=positions, dtype=STRING)
    for field in params.phone_fields:  # a handful of fields, each one vectorised
        e164 = normalize_e164(mine[field], params.region).astype(STRING).set_axis(positions)
        code = e164.str.slice(2, 5).where(_is(e164.str.startswith("+1")))
        usable = (
            alt.isna().to_numpy()
            & _is(e164.ne(place["Phone"]))
            & _is(code.map(by_code["time_zone"]).astype(STRING).eq(place["TimeZone"]))
            & _is(code.map(by_code["state"]).astype(STRING).eq(place["State"]))
        )
        if len(cleared):
            usable &= cleared.get_indexer(_key(ids, field, e164)) < 0
        alt[usable] = e164[usable]
    frame = pd.DataFrame(
        {
            "AccountId": mine["Id"].to_numpy(),
            **{name: mine[column].to_numpy() for name, column in BILLING.items()},
            "AltPhone": alt.to_numpy(),
        }
    )
    return frame.astype(DETAILS_META.dtypes.to_dict())


def _is(flags: pd.Series) -> np.ndarray:
    """Return a nullable boolean Series as a numpy mask, missing as False."""
    return flags.fillna(False).to_numpy(dtype=bool)


def fetch_details(
    accounts: dd.DataFrame,
    call_list: pd.DataFrame,
    cleared: pd.Index,
    area_codes: pd.DataFrame,
    params: ListiqParams,
    compute: Compute,
) -> pd.DataFrame:
    """Wire `account_details` on Dask: each partition keeps only the listed accounts, so at
    most the call list's length in rows comes back to the client."""
    import dask

    listed = call_list[["AccountId", "Phone", "TimeZone", "State"]]
    details = accounts[detail_columns(params)].map_partitions(
        account_details,
        dask.delayed(listed, pure=True),
        dask.delayed(cleared, pure=True),
        area_codes,
        params,
        meta=DETAILS_META,
        token="listiq-export-details",
    )
    (frame,) = compute(details, stage="export details")
    return frame.reset_index(drop=True)


def _with_window(call_list: pd.DataFrame) -> pd.DataFrame:
    """Return the rows a dialer may call: those with a window (an empty one would read as
    "any time" to a dialer)."""
    return call_list[call_list["WindowStartLocal"].notna() & call_list["WindowEndLocal"].notna()]


def dialer_zone(zones: pd.Series) -> pd.Series:
    """Return the one zone a dialer gets: the first the area code lists (see the decision)."""
    return zones.str.split("|").str[0].astype(STRING)


def utc_text(local: pd.Series) -> pd.Series:
    """Return ISO-8601 local times with offsets as UTC text (`2026-11-26T13:00:00Z`)."""
    stamps = pd.to_datetime(local, utc=True, format="ISO8601")
    return stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(STRING)


def genesys_contacts(call_list: pd.DataFrame) -> pd.DataFrame:
    """Return the Genesys Cloud contact list: one row per callable number, in list order."""
    rows = _with_window(call_list)
    frame = pd.DataFrame(
        {
            "AccountId": rows["AccountId"],
            "AccountName": rows["AccountName"],
            "Phone": rows["Phone"],
            "State": rows["State"],
            "TimeZone": dialer_zone(rows["TimeZone"]),
            "TimeZones": rows["TimeZone"],
            "WindowStartUTC": utc_text(rows["WindowStartLocal"]),
            "WindowEndUTC": utc_text(rows["WindowEndLocal"]),
        }
    )
    return frame[GENESYS_COLUMNS].astype(STRING).reset_index(drop=True)


def _nanp_digits(e164: pd.Series) -> pd.Series:
    """Return the ten digits of a +1 number (VICIdial's phone_number without phone_code)."""
    return e164.where(e164.str.match(r"^\+1[0-9]{10}$").fillna(False)).str.slice(2)


def vicidial_frame(call_list: pd.DataFrame, details: pd.DataFrame, day: date) -> pd.DataFrame:
    """Return VICIdial's standard lead fields for the callable rows, in list order, as text.

    An alternate phone that is another row's listed number is left out: the dialer would ring
    that line twice.
    """
    rows = _with_window(call_list)
    found = details.set_index("AccountId").reindex(rows["AccountId"])
    alt = found["AltPhone"].astype(STRING)
    alt = alt.where(~alt.isin(set(call_list["Phone"])).fillna(False).to_numpy())
    values: dict[str, Any] = {column: "" for column in VICIDIAL_COLUMNS}
    values.update(
        vendor_lead_code=rows["AccountId"].to_numpy(),
        source_code=f"dialflow-listiq-{day}",
        phone_code="1",
        phone_number=_nanp_digits(rows["Phone"]).to_numpy(),
        first_name=rows["AccountName"].to_numpy(),
        address1=found["Street"].to_numpy(),
        city=found["City"].to_numpy(),
        state=rows["State"].to_numpy(),
        postal_code=found["PostalCode"].to_numpy(),
        country_code="USA",
        gender="U",  # vicidial_list's own defaults: a blank is refused by a strict MySQL
        alt_phone=_nanp_digits(alt).to_numpy(),
        rank="0",
    )
    frame = pd.DataFrame(values, index=pd.RangeIndex(len(rows)))[VICIDIAL_COLUMNS]
    frame = frame.astype(STRING).fillna("")
    for column, width in VICIDIAL_WIDTHS.items():
        frame[column] = frame[column].str.slice(0, width).str.rstrip()
    return frame


def vicidial_text(frame: pd.DataFrame) -> str:
    """Return the lead file: tab-delimited, no header, one lead per line.

    The loader strips every `"` and splits on the delimiter (it does not parse quoting), so no
    value may hold a tab or a line break: the CSV guard turns control characters into spaces
    and puts `'` before a formula, as in every CSV the suite writes.
    """
    cells = {column: neutralise_formulas(frame[column]).fillna("") for column in frame.columns}
    lines = pd.DataFrame(cells).agg("\t".join, axis=1) if len(frame) else pd.Series([], dtype=str)
    return "".join(line + "\n" for line in lines)


def build_exports(
    call_list: pd.DataFrame, details: pd.DataFrame | None, params: ListiqParams
) -> tuple[dict[str, pd.DataFrame | str], dict[str, Any]]:
    """Return the export files by name and summary.json's `exports` counts."""
    files: dict[str, pd.DataFrame | str] = {}
    counts: dict[str, Any] = {}
    for profile, name in export_files(params.exports, params.call_date).items():
        if profile == "vicidial":
            frame = vicidial_frame(call_list, details, params.call_date)
            files[name] = vicidial_text(frame)
            counts[profile] = {
                "file": name,
                "rows": len(frame),
                "alt_phone": int((frame["alt_phone"] != "").sum()),
                # VICIdial applies the campaign's hours in one GMT offset per lead, which it
                # looks up itself: these rows need hours legal in each of their zones.
                "multi_zone_rows": int(
                    _with_window(call_list)["TimeZone"].str.contains("|", regex=False).sum()
                ),
            }
        else:
            files[name] = genesys_contacts(call_list)
            counts[profile] = {"file": name, "rows": len(files[name])}
    if counts:
        counts["rows_without_window"] = int(len(call_list) - len(_with_window(call_list)))
    return files, counts
