"""The 31-day rule on a call date: the oldest area code decides, with one line to print."""

from datetime import date

import pytest

from dialflow.dnc import check_registry, import_registry, staleness_problem
from dialflow.errors import InputError

DATES = {"201": date(2026, 11, 1), "202": date(2026, 11, 20), "989": date(2026, 10, 30)}


def test_a_registry_exactly_31_days_old_may_be_used_and_32_may_not():
    assert staleness_problem(DATES, date(2026, 11, 30)) is None  # 989 is 31 days old
    assert staleness_problem(DATES, date(2026, 12, 1)) == (
        "the DNC registry is 32 days old on call date 2026-12-01: area code 989 was last "
        "updated 2026-10-30, and at most 31 days are allowed; download a change list (or the "
        "full lists) and run dialflow dnc import"
    )


def test_the_line_counts_every_area_code_behind():
    problem = staleness_problem(DATES, date(2026, 12, 3))
    assert problem.startswith(
        "the DNC registry is 34 days old on call date 2026-12-03: area code 989 (and 1 more "
        "area codes) was last updated 2026-10-30"
    )


def test_a_call_date_before_the_registry_date_is_fine_and_an_empty_registry_is_not():
    assert staleness_problem(DATES, date(2026, 10, 1)) is None
    assert staleness_problem({}, date(2026, 10, 1)).startswith("the DNC registry holds no area")
    assert staleness_problem(DATES, date(2026, 12, 10), max_age_days=45) is None


def test_check_registry_reads_the_store_and_stops_with_exit_code_2(tmp_path):
    store = tmp_path / "dnc"
    with pytest.raises(InputError, match=r"no DNC registry has been imported") as caught:
        check_registry(store, date(2026, 11, 2))
    assert caught.value.exit_code == 2
    (tmp_path / "full-20261101.txt").write_text("201,2000001\n")
    import_registry([tmp_path / "full-20261101.txt"], store, today=date(2026, 11, 2))
    assert check_registry(store, date(2026, 12, 2))["numbers"] == 1
    with pytest.raises(InputError, match=rf"^dnc.path {store}: the DNC registry is 32 days old"):
        check_registry(store, date(2026, 12, 3))
