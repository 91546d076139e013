"""The registry's flat files read in blocks: exact records, kinds, dates, and bad lines refused."""

import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from dialflow.dnc.files import describe_files, name_date, read_batches
from dialflow.errors import InputError

TODAY = date(2026, 11, 29)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_bytes(text.encode("ascii"))
    return path


def records(path: Path, block_bytes: int = 1 << 20):
    [file] = describe_files([path], today=TODAY)
    numbers, deleted = [], []
    for batch in read_batches(file, block_bytes):
        numbers += batch.numbers.tolist()
        deleted += [] if batch.deleted is None else batch.deleted.tolist()
    return file, numbers, deleted


def test_a_full_list_gives_ten_digit_numbers_in_both_layouts_blank_lines_skipped(tmp_path):
    text = "201,2345678\r\n\n 2012345679 \n201 , 0000001\n"
    path = write(tmp_path, "dnc-full-201-20261120.txt", text)
    file, numbers, deleted = records(path)
    assert (file.kind, file.date) == ("full", date(2026, 11, 20))
    assert numbers == [2012345678, 2012345679, 2010000001]
    assert deleted == []


def test_a_change_list_gives_additions_and_deletions(tmp_path):
    path = write(tmp_path, "changes_2026-11-21.txt", "201,2345678,A\n202,3334444,d\n2025556666,D\n")
    file, numbers, deleted = records(path)
    assert (file.kind, file.date) == ("change", date(2026, 11, 21))
    assert numbers == [2012345678, 2023334444, 2025556666]
    assert deleted == [False, True, True]


def test_small_blocks_give_the_same_records_as_one_block(tmp_path):
    lines = [f"{200 + i % 700 + 100},{i:07d}" for i in range(5000)]
    path = write(tmp_path, "full-20261120.txt", "\n".join(lines) + "\n")
    _, whole, _ = records(path)
    _, blocked, _ = records(path, block_bytes=4096)
    assert blocked == whole
    assert len(whole) == 5000


def test_a_zip_is_read_member_by_member_dated_by_member_name(tmp_path):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("201_20261120.txt", "201,2345678\n")
        out.writestr("change_20261121.txt", "201,2345678,D\n")
    files = describe_files([archive], today=TODAY)
    assert [(f.member, f.kind, f.date) for f in files] == [
        ("201_20261120.txt", "full", date(2026, 11, 20)),
        ("change_20261121.txt", "change", date(2026, 11, 21)),
    ]
    assert [b.numbers.tolist() for b in read_batches(files[1])] == [[2012345678]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("201,2345678\n201,234567\n", "line 2: field number '234567' is not seven digits"),
        ("201,2345678\n\n101,2345678\n", "line 3: field area code '101' is not an area code"),
        ("201,2345678\n201,2345678,X\n", "line 2: 3 field(s) '201,2345678,X', expected 2"),
        ("201,2345678\nAreaCode,Phone\n", "line 2: field area code 'AreaCode' is not an area code"),
        ("201,2345678\n201,23\xe95678\n", "line 2: byte 0xe9 is not ASCII text"),
    ],
)
def test_a_bad_full_list_line_is_named_with_its_field_and_fix(tmp_path, text, expected):
    path = tmp_path / "dnc-full-20261120.txt"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as caught:
        records(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {expected}")
    assert message.endswith("correct or remove the line, or download the file again")
    assert "\n" not in message


def test_a_bad_change_type_is_named(tmp_path):
    path = write(tmp_path, "change-20261121.txt", "201,2345678,A\n201,2345678,Q\n")
    with pytest.raises(InputError, match=r"line 2: field change type 'Q' is neither A"):
        records(path)


def test_a_bad_line_deep_in_a_later_block_has_its_true_line_number(tmp_path):
    lines = ["201,2345678"] * 3000 + ["", "201,234567x"]
    path = write(tmp_path, "full-20261120.txt", "\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r": line 3002: field number '234567x'"):
        records(path, block_bytes=4096)


def test_a_file_without_a_date_or_dated_ahead_is_refused(tmp_path):
    path = write(tmp_path, "registry.txt", "201,2345678\n")
    with pytest.raises(InputError, match=r"registry.txt: its name holds no registry date"):
        describe_files([path], today=TODAY)
    assert describe_files([path], date(2026, 11, 1), TODAY)[0].date == date(2026, 11, 1)
    ahead = write(tmp_path, "full-20261205.txt", "201,2345678\n")
    with pytest.raises(InputError, match=r"registry date 2026-12-05 lies ahead of today"):
        describe_files([ahead], today=TODAY)


def test_name_dates():
    assert name_date("dnc-full-201-20261120.txt") == date(2026, 11, 20)
    assert name_date("x_2026-11-20.zip") == date(2026, 11, 20)
    assert name_date("201-2345678.txt") is None
    assert name_date("20261340-then-20261120.txt") == date(2026, 11, 20)


def test_numbers_are_int64(tmp_path):
    path = write(tmp_path, "full-20261120.txt", "9892345678\n")
    [file] = describe_files([path], today=TODAY)
    [batch] = read_batches(file)
    assert batch.numbers.dtype == np.int64
    assert batch.area_codes.tolist() == [989]


def test_an_empty_file_takes_its_kind_from_its_name_or_is_refused(tmp_path):
    file, numbers, _ = records(write(tmp_path, "full-20261120.txt", ""))
    assert (file.kind, numbers) == ("full", [])
    file, numbers, _ = records(write(tmp_path, "dnc-change-20261121.txt", ""))
    assert (file.kind, numbers) == ("change", [])
    with pytest.raises(InputError, match=r"the file is empty, and its name does not say"):
        records(write(tmp_path, "registry-20261121.txt", "\n"))


def test_a_change_list_named_full_is_refused_on_its_first_line(tmp_path):
    with pytest.raises(InputError, match=r"line 1: 3 field\(s\) '201,2345678,A', expected 2"):
        records(write(tmp_path, "full-20261120.txt", "201,2345678,A\n"))


@pytest.mark.parametrize("kind", ["full", "change"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lines_of_one_width_read_at_fixed_places_equal_the_regex_reading(tmp_path, kind, seed):
    # Blocks whose lines all have one spaceless layout are read from their bytes at fixed
    # places; any other block by a regex. Both must give the same records, in any mix.
    rng = np.random.default_rng(seed)
    numbers = rng.integers(2_000_000_000, 9_999_999_999, 300)
    layouts = ["{a},{n}", "{a}{n}", "{a}{n} ", " {a} ,{n}", "{a},{n}\r"]
    lines, expected_deleted = [], []
    for i, number in enumerate(numbers):
        text = str(int(number))
        # Runs of one layout (fixed-width blocks) and mixed runs (the regex path).
        layout = layouts[(i // 50) % 2] if i < 200 else layouts[int(rng.integers(len(layouts)))]
        line = layout.format(a=text[:3], n=text[3:])
        if kind == "change":
            flag = "ADad"[int(rng.integers(4))]
            line = line.rstrip("\r") + f",{flag}"
            expected_deleted.append(flag in "Dd")
        lines.append(line)
    path = write(tmp_path, f"dnc-{kind}-201-20261120.txt", "\n".join(lines) + "\n")
    print(f"seed {seed}")
    _, got, deleted = records(path, block_bytes=600)
    assert got == numbers.tolist()
    assert deleted == expected_deleted
