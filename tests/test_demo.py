"""Tests of the demo-data generator and the packaged reference data."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path

import pandas as pd
import phonenumbers
import pytest
from rapidfuzz.distance import OSA, Levenshtein

from dialflow.config import Settings
from dialflow.demo import KEY_PREFIXES, TABLE_NAMES, generate_demo_data
from dialflow.errors import ConfigError
from dialflow.jobs.dedupe import DedupeParams, dedupe_frame
from dialflow.phones import reference_e164
from dialflow.schema import DEFAULT_PHONE_FIELDS, PANDAS_DTYPES, table_columns

DATA = Path(__file__).resolve().parent.parent / "dialflow" / "data"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build_area_codes.py"
AS_OF = pd.Timestamp("2025-06-01", tz="UTC")
SMALL = {"accounts": 3_000, "calls": 8_000, "seed": 7, "as_of": AS_OF, "chunk_accounts": 1_500}
# Enough fuzzy pairs of every kind (about 40 to 110) to check what each kind says.
WIDE = {"accounts": 20_000, "calls": 20_000, "seed": 3, "as_of": AS_OF, "chunk_accounts": 10_000}
TRUTH = Path("_truth") / "duplicate_pairs"
EXACT_KINDS = ("phone", "name_postal", "chain")
FUZZY_KINDS = (
    "fuzzy_typo", "fuzzy_swapped", "fuzzy_missing_word", "fuzzy_space", "fuzzy_suffix",
    "fuzzy_zip_transposed", "fuzzy_zip_digit",
)  # fmt: skip

# An independent reading of the README's rules, with the categories the generator plants.
CATEGORIES = {
    "wrong number": "wrong",
    "wn": "wrong",
    "disconnected": "disconnected",
    "dc": "disconnected",
    "adc": "disconnected",
    "not in service": "disconnected",
    "contact": "contact",
    "connected": "contact",
    "appointment set": "contact",
    "not interested": "contact",
}
LEGAL_SUFFIXES = frozenset(
    ("inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company")
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Generate the small demo once: two chunks."""
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo_data(out, **SMALL)


@pytest.fixture(scope="module")
def frames(demo: tuple[Path, dict]) -> dict[str, pd.DataFrame]:
    """Read every table of the small demo."""
    out, _ = demo
    return {name: pd.read_parquet(out / name) for name in TABLE_NAMES}


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Generate a wider demo once: its Account table (by Id), its truth pairs and its counts."""
    out = tmp_path_factory.mktemp("wide")
    counts = generate_demo_data(out, **WIDE)
    return pd.read_parquet(out / "Account").set_index("Id"), pd.read_parquet(out / TRUTH), counts


# Phone values repeat across fields and calls: parse each distinct one once.
_e164 = functools.lru_cache(maxsize=None)(reference_e164)


def test_tables_columns_and_dtypes_are_canonical(demo: tuple[Path, dict], frames: dict) -> None:
    out, _ = demo
    for name in TABLE_NAMES:
        kinds = table_columns(name)
        frame = frames[name]
        assert list(frame.columns) == list(kinds), name
        for column, kind in kinds.items():
            assert frame[column].dtype == PANDAS_DTYPES[kind], (name, column)
        parts = sorted(p.name for p in (out / name).iterdir())
        chunks = 1 if name == "User" else 2
        assert parts == [f"part-{i:05d}.parquet" for i in range(chunks)], name


def test_same_arguments_give_same_data_and_another_seed_does_not(
    demo: tuple[Path, dict], frames: dict, tmp_path: Path
) -> None:
    out, counts = demo
    again = generate_demo_data(tmp_path / "again", **SMALL)
    assert again == counts
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again" / name), frames[name])
    assert (tmp_path / "again" / "_demo.json").read_bytes() == (out / "_demo.json").read_bytes()
    for part in ("part-00000.parquet", "part-00001.parquet"):
        again_truth = (tmp_path / "again" / TRUTH / part).read_bytes()
        assert again_truth == (out / TRUTH / part).read_bytes()

    generate_demo_data(tmp_path / "other", **{**SMALL, "seed": 8})
    other = pd.read_parquet(tmp_path / "other" / "Account")
    assert not other["Name"].equals(frames["Account"]["Name"])
    assert not other["Id"].equals(frames["Account"]["Id"])


def test_ids_are_salesforce_like_unique_and_in_creation_order(frames: dict) -> None:
    for name in TABLE_NAMES:
        ids = frames[name]["Id"]
        assert ids.str.len().eq(18).all(), name
        assert ids.str.startswith(KEY_PREFIXES[name]).all(), name
        assert ids.is_unique, name
        for value in ids.head(50):
            assert value[15:] == _checksum(value[:15]), value
        if "CreatedDate" in frames[name]:
            by_id = frames[name].sort_values("Id")["CreatedDate"]
            assert by_id.is_monotonic_increasing, name


def _checksum(id15: str) -> str:
    """Return Salesforce's 3-character case-safe suffix of a 15-character Id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    blocks = (id15[i : i + 5] for i in range(0, 15, 5))
    return "".join(alphabet[sum(1 << i for i, c in enumerate(b) if c.isupper())] for b in blocks)


def test_references_resolve(frames: dict) -> None:
    account_ids = set(frames["Account"]["Id"])
    assert set(frames["Task"]["AccountId"]) <= account_ids
    assert set(frames["Research_Request__c"]["Account__c"]) <= account_ids
    assert set(frames["Address_History__c"]["Account__c"]) <= account_ids
    assert set(frames["Account"]["OwnerId"]) <= set(frames["User"]["Id"])


def test_dates_lie_before_as_of_and_make_sense(frames: dict) -> None:
    account = frames["Account"]
    for name in ("Account", "Task", "Research_Request__c", "Address_History__c"):
        assert (frames[name]["CreatedDate"] < AS_OF).all(), name
    assert (account["LastModifiedDate"] >= account["CreatedDate"]).all()
    assert account["CreatedDate"].min() >= AS_OF - pd.Timedelta(days=5 * 365)
    recent = (account["CreatedDate"] > AS_OF - pd.Timedelta(hours=48)).mean()
    assert 0.01 < recent < 0.1
    task = frames["Task"]
    assert task["CreatedDate"].min() >= AS_OF - pd.Timedelta(days=730)
    created = account.set_index("Id")["CreatedDate"]
    assert (task["CreatedDate"].to_numpy() > created[task["AccountId"]].to_numpy()).all()
    history = frames["Address_History__c"]
    assert (history["CreatedDate"].to_numpy() >= created[history["Account__c"]].to_numpy()).all()
    research = frames["Research_Request__c"]
    assert (research["CreatedDate"] > AS_OF - pd.Timedelta(days=90)).any()
    assert (research["CreatedDate"] <= AS_OF - pd.Timedelta(days=90)).any()


def test_counts_match_the_files_and_the_manifest(demo: tuple[Path, dict], frames: dict) -> None:
    out, counts = demo
    assert counts["rows"] == {name: len(frames[name]) for name in TABLE_NAMES}
    assert counts["rows"]["Account"] == SMALL["accounts"]
    assert counts["rows"]["Task"] == SMALL["calls"]
    assert counts["rows"]["User"] == 5
    for kind in ("phone", "name_postal", "chain", "ties"):
        assert counts["duplicates"][kind] > 0, kind
    for key in ("disconnected_numbers", "disconnected_shared", "wrong_number_pairs"):
        assert counts[key] > 0, key
    assert all(v > 0 for v in counts["near_misses"].values()), counts["near_misses"]
    manifest = json.loads((out / "_demo.json").read_text())
    assert manifest["counts"] == counts
    assert manifest["parameters"]["chunks"] == 2
    assert manifest["parameters"]["as_of"] == AS_OF.isoformat()


def test_planted_bad_numbers_are_what_the_autoflush_rules_find(
    demo: tuple[Path, dict], frames: dict
) -> None:
    _, counts = demo
    task = frames["Task"].assign(
        number=lambda f: f["Dialed_Number__c"].map(_e164),
        category=lambda f: f["CallDisposition"].str.strip().str.casefold().map(CATEGORIES),
    )
    assert task["number"].notna().all()

    def bad(calls: pd.DataFrame, category: str, minimum: int) -> bool:
        hits = calls.loc[calls["category"] == category, "CreatedDate"]
        if len(hits) < minimum or hits.max() - hits.min() < pd.Timedelta(days=90):
            return False
        return not ((calls["category"] == "contact") & (calls["CreatedDate"] > hits.max())).any()

    disconnected = {n for n, g in task.groupby("number") if bad(g, "disconnected", 3)}
    wrong = {k for k, g in task.groupby(["AccountId", "number"]) if bad(g, "wrong", 2)}
    rows = {"disconnected": 0, "wrong_number": 0}
    account = frames["Account"]
    for field in DEFAULT_PHONE_FIELDS:
        for account_id, value in zip(account["Id"], account[field], strict=True):
            number = _e164(value)
            if number in disconnected:
                rows["disconnected"] += 1
            elif (account_id, number) in wrong:
                rows["wrong_number"] += 1
    assert len(disconnected) == counts["disconnected_numbers"]
    assert len({k for k in wrong if k[1] not in disconnected}) == counts["wrong_number_pairs"]
    assert rows == counts["autoflush_rows"]


def test_planted_duplicates_are_found_by_the_match_keys(
    demo: tuple[Path, dict], frames: dict
) -> None:
    _, counts = demo
    account = frames["Account"]
    parent = {i: i for i in account["Id"]}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    phone = account["Phone"].map(_e164)
    name = account["Name"].map(_normalized_name)
    name_postal = name + "|" + account["BillingPostalCode"].str[:5]
    for key in (phone, name_postal):
        for ids in account["Id"].groupby(key.to_numpy()).agg(list):
            for other in ids[1:]:
                parent[root(other)] = root(ids[0])
    flagged = len(parent) - len({root(i) for i in parent})
    # Random data may add a rare accidental duplicate on top of the planted ones.
    assert counts["duplicates"]["flagged"] <= flagged <= counts["duplicates"]["flagged"] + 3

    # Planted name duplicates differ in spelling and in ZIP form, not only in the Id.
    groups = account.groupby(name_postal.to_numpy())
    sizes = groups["Id"].transform("size")
    spellings = groups["Name"].transform("nunique")
    zip_forms = groups["BillingPostalCode"].transform("nunique")
    assert ((sizes > 1) & (spellings > 1)).sum() > 20
    assert ((sizes > 1) & (zip_forms > 1)).sum() > 10
    assert account["Name"].str.isupper().any()
    assert account["Name"].str.contains(r", (?:Inc|LLC|Corp)", regex=True).any()


def _normalized_name(name: str) -> str:
    """Return DESIGN's normalized Name: casefolded, no punctuation or legal suffixes."""
    words = re.sub(r"[^\w\s]", "", name.casefold()).split()
    return " ".join(w for w in words if w not in LEGAL_SUFFIXES)


def test_phone_values_are_valid_exactly_where_counted(
    demo: tuple[Path, dict], frames: dict
) -> None:
    _, counts = demo
    account = frames["Account"]
    values = pd.concat([account[f] for f in DEFAULT_PHONE_FIELDS], ignore_index=True)
    valid = values.map(_e164).notna()
    assert valid.sum() == counts["phones"]["valid"]
    assert values.isna().sum() == counts["phones"]["null"]
    assert (values == "").sum() == counts["phones"]["empty_string"]
    # Ten digits (after a leading 1, before an extension) look valid: phonenumbers agrees.
    looks_valid = (
        values.str.replace(r"\s*(x|ext\.)\s*\d+$", "", regex=True)
        .str.replace(r"\D", "", regex=True)
        .str.fullmatch(r"1?[2-9]\d{9}")
    )
    sample = values[looks_valid.fillna(False).astype(bool)].sample(500, random_state=1)
    passed = sample.map(lambda v: phonenumbers.is_valid_number(phonenumbers.parse(v, "US")))
    # Junk like 999-999-9999 looks valid too and is not: a handful in 500.
    assert passed.mean() > 0.98

    shapes = set(values.dropna().str.replace(r"\d", "9", regex=True))
    assert {
        "(999) 999-9999", "999-999-9999", "999.999.9999", "9999999999", "+9 999.999.9999",
        "+99999999999", "9-999-999-9999", "9999999999 x99", "999-9999", "999-99O-9999",
    } <= shapes  # fmt: skip
    assert {"N/A", "000-000-0000", ""} <= set(values.dropna())


def test_phone_area_codes_mostly_match_the_billing_state(frames: dict) -> None:
    account = frames["Account"]
    states = pd.read_csv(DATA / "area_codes.csv", dtype=str).set_index("area_code")["state"]
    digits = account["Phone"].str.replace(r"\s*(x|ext\.)\s*\d+$", "", regex=True)
    digits = digits.str.replace(r"\D", "", regex=True).str.replace(r"^1", "", regex=True)
    ten = digits.str.len().eq(10).fillna(False).astype(bool)
    match = digits[ten].str[:3].map(states) == account.loc[ten, "BillingState"]
    assert match.mean() > 0.85


def test_dialed_numbers_are_the_accounts_phones_sometimes_reformatted(frames: dict) -> None:
    account, task = frames["Account"], frames["Task"]
    stored = account.melt(id_vars="Id", value_vars=list(DEFAULT_PHONE_FIELDS)).dropna()
    stored["number"] = stored["value"].map(_e164)
    own_numbers = set(zip(stored["Id"], stored["number"], strict=True))
    own_strings = set(zip(stored["Id"], stored["value"], strict=True))
    dialed = task["Dialed_Number__c"].map(_e164)
    pairs = list(zip(task["AccountId"], dialed, strict=True))
    assert all(pair in own_numbers for pair in pairs)
    same_string = [
        p in own_strings for p in zip(task["AccountId"], task["Dialed_Number__c"], strict=True)
    ]
    assert 0.3 < sum(same_string) / len(task) < 0.9


def test_dispositions_are_raw_dialer_spellings(frames: dict) -> None:
    seen = set(frames["Task"]["CallDisposition"].dropna())
    assert {
        "No Answer", "Busy", "Voicemail", "Left Message", "Contact", "Connected",
        "Appointment Set", "Not Interested", "Wrong Number", "WN", "Disconnected", "DC", "ADC",
        "Not In Service",
    } <= seen  # fmt: skip
    assert {" wrong number ", "DISCONNECTED", "WRONG NUMBER", "disconnected "} & seen
    assert {"Call Back", "Fax Tone", "Hung Up"} & seen


def test_accounts_users_and_flags_look_right(demo: tuple[Path, dict], frames: dict) -> None:
    _, counts = demo
    account, user = frames["Account"], frames["User"]
    assert 0.01 < account["Do_Not_Call__c"].mean() < 0.06
    assert account["Do_Not_Call__c"].sum() == counts["do_not_call"]
    census = pd.read_csv(DATA / "census_population.csv", dtype={"state": str})
    assert set(account["BillingState"]) <= set(census["state"])
    assert account["BillingPostalCode"].str.fullmatch(r"\d{5}(-\d{4})?").all()
    assert account["BillingStreet"].str.match(r"\d+ \S").all()
    assert user["Email"].str.fullmatch(r"[a-z]+\.[a-z]+\d*@example\.com").all()
    assert user["Email"].is_unique
    assert user["IsActive"].sum() >= 1 and (~user["IsActive"]).sum() >= 1


def test_census_population_sums_to_the_2020_total() -> None:
    census = pd.read_csv(DATA / "census_population.csv", dtype={"state": str})
    assert list(census.columns) == ["state", "population"]
    assert len(census) == 51 and census["state"].is_unique
    assert census["population"].sum() == 331_449_281


def test_area_codes_cover_every_state_and_rebuild_identically() -> None:
    area = pd.read_csv(DATA / "area_codes.csv", dtype=str)
    census = pd.read_csv(DATA / "census_population.csv", dtype={"state": str})
    assert list(area.columns) == ["area_code", "state", "time_zone"]
    assert 330 <= len(area) <= 370 and area["area_code"].is_unique
    assert set(area["state"]) == set(census["state"])
    assert not {"500", "800", "833", "888", "900", "416", "876"} & set(area["area_code"])
    for zones in area["time_zone"].str.split("|"):
        assert zones == sorted(zones), zones
        assert all(zone.startswith(("America/", "Pacific/")) for zone in zones), zones

    spec = importlib.util.spec_from_file_location("build_area_codes", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.build_rows() == list(area.itertuples(index=False, name=None))


def test_bad_arguments_stop_with_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="accounts"):
        generate_demo_data(tmp_path, accounts=0)
    with pytest.raises(ConfigError, match="chunk_accounts"):
        generate_demo_data(tmp_path, accounts=10, chunk_accounts=0)
    assert not any(tmp_path.iterdir())


def test_rerun_replaces_earlier_parts(tmp_path: Path) -> None:
    generate_demo_data(tmp_path, accounts=300, calls=500, as_of=AS_OF, chunk_accounts=100)
    counts = generate_demo_data(tmp_path, accounts=200, calls=400, as_of=AS_OF)
    assert sorted(p.name for p in (tmp_path / "Account").iterdir()) == ["part-00000.parquet"]
    assert len(pd.read_parquet(tmp_path / "Account")) == counts["rows"]["Account"] == 200


def test_truth_lists_every_planted_pair_once_by_kind(demo: tuple[Path, dict], frames: dict) -> None:
    out, counts = demo
    truth = pd.read_parquet(out / TRUTH)
    assert list(truth.columns) == ["IdL", "IdR", "Kind"]
    assert sorted(p.name for p in (out / TRUTH).iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    duplicates = counts["duplicates"]
    expected = {kind: duplicates[kind] for kind in ("phone", "name_postal", *FUZZY_KINDS)}
    # A chain's three records are one customer: three pairs.
    expected["chain"] = 3 * duplicates["chain"]
    assert truth["Kind"].value_counts().to_dict() == expected
    assert len(truth) == duplicates["pairs"] == sum(expected.values())
    assert (truth["IdL"] < truth["IdR"]).all()
    assert not truth.duplicated(["IdL", "IdR"]).any()
    assert set(truth["IdL"]) | set(truth["IdR"]) <= set(frames["Account"]["Id"])
    # Plants live inside one chunk (Id characters 9-11), and a fuzzy record in one pair only.
    assert (truth["IdL"].str[9:12] == truth["IdR"].str[9:12]).all()
    fuzzy = truth[truth["Kind"].isin(FUZZY_KINDS)]
    ids = pd.concat([truth["IdL"], truth["IdR"]])
    assert ids.isin(set(fuzzy["IdL"]) | set(fuzzy["IdR"])).sum() == 2 * len(fuzzy)
    assert ids.value_counts().max() == 2  # the middle record of a chain


def test_exact_dedupe_links_the_exact_pairs_and_no_fuzzy_pair(wide: tuple) -> None:
    account, truth, counts = wide
    flagged, _ = dedupe_frame(account.reset_index(), DedupeParams.from_settings(Settings()))
    survivor = dict(zip(flagged["Id"], flagged["SurvivorId"], strict=True))
    linked = truth["IdL"].map(lambda i: survivor.get(i, i)) == truth["IdR"].map(
        lambda i: survivor.get(i, i)
    )
    assert linked[truth["Kind"].isin(EXACT_KINDS)].all()
    assert not linked[truth["Kind"].isin(FUZZY_KINDS)].any()
    # Random data may add a rare accidental duplicate on top of the planted ones.
    assert counts["duplicates"]["flagged"] <= len(flagged) <= counts["duplicates"]["flagged"] + 3
    # About 2,100 fuzzy pairs per 100,000 accounts.
    fuzzy = sum(counts["duplicates"][kind] for kind in FUZZY_KINDS)
    assert 0.015 * WIDE["accounts"] <= fuzzy <= 0.03 * WIDE["accounts"]


SUFFIX = re.compile(
    r"(?:,? (?:inc\.?|incorporated|llc|l\.l\.c\.|ltd\.?|limited|corp\.?|corporation|co\.?"
    r"|company))?$"
)
STREET_TYPES = {"street": "st", "avenue": "ave", "road": "rd"}


def _split_suffix(name: str) -> tuple[str, str]:
    """Return a casefolded name without its legal suffix, and the suffix as written."""
    name = name.casefold().strip()
    start = SUFFIX.search(name).start()
    return name[:start], name[start:]


def _zip_transposed(a: str, b: str) -> bool:
    return a != b and any(a[:i] + a[i + 1] + a[i] + a[i + 2 :] == b for i in range(4))


def _zip_one_digit(a: str, b: str) -> bool:
    return sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _short_street(street: str) -> str:
    words = street.casefold().split()
    return " ".join(STREET_TYPES.get(w, w) for w in words)


def test_fuzzy_pairs_differ_as_their_kind_says(wide: tuple) -> None:
    account, truth, counts = wide
    pairs = truth[truth["Kind"].isin(FUZZY_KINDS)]
    left, right = account.loc[pairs["IdL"]], account.loc[pairs["IdR"]]
    street_variants = 0
    for kind, a, b in zip(pairs["Kind"], left.itertuples(), right.itertuples(), strict=True):
        name_a, name_b = a.Name.casefold(), b.Name.casefold()
        words_a, words_b = name_a.split(), name_b.split()
        zip_a, zip_b = a.BillingPostalCode[:5], b.BillingPostalCode[:5]
        same_zip = zip_a == zip_b
        if kind == "fuzzy_typo":
            assert 0 < Levenshtein.distance(name_a, name_b) <= 2, (a.Name, b.Name)
            assert len(words_a) == len(words_b), (a.Name, b.Name)
            assert sum(x != y for x, y in zip(words_a, words_b, strict=True)) == 1
        elif kind == "fuzzy_swapped":
            assert sorted(words_a) == sorted(words_b) and words_a != words_b, (a.Name, b.Name)
        elif kind == "fuzzy_missing_word":
            assert words_a[1:] == words_b or words_b[1:] == words_a, (a.Name, b.Name)
        elif kind == "fuzzy_space":
            assert "".join(words_a) == "".join(words_b), (a.Name, b.Name)
            assert abs(len(words_a) - len(words_b)) == 1, (a.Name, b.Name)
        elif kind == "fuzzy_suffix":
            (core_a, suffix_a), (core_b, suffix_b) = _split_suffix(a.Name), _split_suffix(b.Name)
            assert suffix_a != suffix_b, (a.Name, b.Name)
            typo = OSA.distance(core_a, core_b) == 1 and same_zip
            wrong_digit = core_a == core_b and _zip_one_digit(zip_a, zip_b)
            assert typo or wrong_digit, (a.Name, b.Name, zip_a, zip_b)
        else:
            assert name_a == name_b, (a.Name, b.Name)
        if kind == "fuzzy_zip_transposed":
            assert _zip_transposed(zip_a, zip_b), (zip_a, zip_b)
        elif kind == "fuzzy_zip_digit":
            assert _zip_one_digit(zip_a, zip_b), (zip_a, zip_b)
        elif kind != "fuzzy_suffix":
            assert same_zip, (kind, zip_a, zip_b)
        # The same place; a street written differently in some (not with two changes already).
        assert (a.BillingCity, a.BillingState) == (b.BillingCity, b.BillingState)
        if a.BillingStreet != b.BillingStreet:
            assert kind != "fuzzy_suffix"
            street_a, street_b = _short_street(a.BillingStreet), _short_street(b.BillingStreet)
            assert street_a == street_b or Levenshtein.distance(street_a, street_b) <= 2
            street_variants += 1
        # A re-typed account has its own phone number, or none.
        assert _e164(a.Phone) is None or _e164(a.Phone) != _e164(b.Phone)
    assert street_variants == counts["duplicates"]["street_variants"] > 0


def test_a_chunks_data_and_truth_depend_on_that_chunk_only(
    demo: tuple[Path, dict], tmp_path: Path
) -> None:
    out, _ = demo
    # The first chunk of SMALL, alone: same seed, chunk index, accounts, calls and users.
    first = {**SMALL, "accounts": 1_500, "calls": 4_000}
    generate_demo_data(tmp_path, **first)
    for folder in (Path("Account"), Path("Task"), TRUTH):
        part = folder / "part-00000.parquet"
        assert (tmp_path / part).read_bytes() == (out / part).read_bytes(), folder
