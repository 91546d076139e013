import pandas as pd
import pytest

from dialflow.errors import InputError
from dialflow.schema import DEFAULT_PHONE_FIELDS, PANDAS_DTYPES, table_columns
from dialflow.sources import FileSource

CSV = """Id,Name,OwnerId,BillingStreet,BillingCity,BillingState,BillingPostalCode,CreatedDate,\
LastModifiedDate,Do_Not_Call__c,Phone,Phone_2__c,Phone_3__c,Mobile_Phone__c,Home_Phone__c,\
Other_Phone__c,Extra
001A,"Acme, Inc.",005A,1 Main St,Boston,MA,02139,2026-01-02T03:04:05Z,2026-01-02 03:04:05,true,\
(617) 253-1000,,,,,,x
001B,Bolt,005A,,,,,2025-06-01,2025-06-01T00:00:00-05:00,0,,,,,,,y
001C,Cedar,005A,,,,,2025-06-01,2025-06-01,,,,,,,,z
"""


def test_csv_is_read_with_canonical_dtypes_and_values(tmp_path):
    (tmp_path / "Account.csv").write_text(CSV, encoding="utf-8")
    frame = FileSource(tmp_path, {}, DEFAULT_PHONE_FIELDS).read("Account").compute()
    kinds = table_columns("Account")
    assert list(frame.columns) == list(kinds)  # projection drops the extra column
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(pd.Series(dtype=PANDAS_DTYPES[k]).dtype) for c, k in kinds.items()
    }
    assert frame["Do_Not_Call__c"].tolist() == [True, False, pd.NA]
    assert frame["BillingPostalCode"].tolist()[0] == "02139"  # leading zero kept
    assert frame["LastModifiedDate"].tolist() == [
        pd.Timestamp("2026-01-02T03:04:05Z"),  # naive text is UTC
        pd.Timestamp("2025-06-01T05:00:00Z"),
        pd.Timestamp("2025-06-01T00:00:00Z"),
    ]
    assert frame["Phone_2__c"].isna().all()


def test_parquet_and_csv_give_the_same_frame(tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "Account.csv").write_text(CSV, encoding="utf-8")
    from_csv = FileSource(tmp_path / "csv", {}, DEFAULT_PHONE_FIELDS).read("Account").compute()
    (tmp_path / "pq" / "Account").mkdir(parents=True)
    from_csv.to_parquet(tmp_path / "pq" / "Account" / "part-0.parquet")
    from_parquet = FileSource(tmp_path / "pq", {}, DEFAULT_PHONE_FIELDS).read("Account")
    pd.testing.assert_frame_equal(from_parquet.compute().reset_index(drop=True), from_csv)


def test_bad_boolean_names_file_and_column(tmp_path):
    (tmp_path / "Account.csv").write_text(CSV.replace(",true,", ",perhaps,"), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        FileSource(tmp_path, {}, DEFAULT_PHONE_FIELDS).read("Account")
    assert str(caught.value).startswith(
        f"{tmp_path / 'Account.csv'}: column Do_Not_Call__c holds a value that is not a boolean"
    )


def test_table_override_must_exist(tmp_path):
    source = FileSource(tmp_path, {"Account": tmp_path / "nope.csv"}, DEFAULT_PHONE_FIELDS)
    with pytest.raises(InputError, match="table Account not found; fix source.tables.Account"):
        source.read("Account")


def test_a_bad_byte_deep_in_a_csv_names_the_line_inside_a_dask_task(tmp_path):
    body = "".join(f"001{i:05d},Name {i}\n" for i in range(20_000))
    data = ("Id,Name\n" + body).encode().replace(b"Name 14999\n", b"Nam\xff 14999\n")
    (tmp_path / "Account.csv").write_bytes(data)
    source = FileSource(tmp_path, {}, DEFAULT_PHONE_FIELDS, csv_blocksize="64KiB")
    frame = source.read("Account", ["Id", "Name"])
    assert frame.npartitions > 3
    with pytest.raises(InputError) as caught:
        frame.compute(scheduler="sync")
    assert str(caught.value) == (
        f"{tmp_path / 'Account.csv'}: line 15001: byte 0xff is not UTF-8; "
        f"re-export the file as UTF-8"
    )


def test_csv_blocks_read_back_every_row_once(tmp_path):
    (tmp_path / "Account.csv").write_text(CSV * 1, encoding="utf-8")
    whole = FileSource(tmp_path, {}, DEFAULT_PHONE_FIELDS).read("Account").compute()
    tiny = FileSource(tmp_path, {}, DEFAULT_PHONE_FIELDS, csv_blocksize="100B").read("Account")
    assert tiny.npartitions > 1
    pd.testing.assert_frame_equal(tiny.compute().reset_index(drop=True), whole)


def test_empty_table_folder_says_so(tmp_path):
    (tmp_path / "Account").mkdir()
    with pytest.raises(InputError, match="the Account table folder holds no data files"):
        FileSource(tmp_path, {}, DEFAULT_PHONE_FIELDS).read("Account")


def test_input_error_survives_pickling_with_its_exit_code():
    import pickle

    error = pickle.loads(pickle.dumps(InputError("Account.csv: line 3: fix it")))
    assert type(error) is InputError and error.exit_code == 2
    assert str(error) == "Account.csv: line 3: fix it"
