"""Importing random full lists and change lists, in any command order, equals applying them by
hand in date order: each change list's additions, then its deletions."""

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialflow.dnc import area_dates, current_version, import_registry, read_manifest

CODES = (201, 202, 989)
START = date(2026, 10, 1)
number = st.tuples(st.sampled_from(CODES), st.integers(0, 15)).map(
    lambda t: t[0] * 10_000_000 + 2_000_000 + t[1]
)


@st.composite
def registries(draw):
    """Full lists (one per area code, days 0-3, not empty: an empty one names no area code)
    and change lists (distinct days 4-30)."""
    fulls = {
        code: (
            draw(st.integers(0, 3)),
            draw(
                st.sets(
                    number.filter(lambda n, c=code: n // 10_000_000 == c), min_size=1, max_size=8
                )
            ),
        )
        for code in CODES
    }
    days = draw(st.lists(st.integers(4, 30), unique=True, max_size=5))
    changes = [
        (day, draw(st.lists(st.tuples(number, st.booleans()), max_size=12))) for day in days
    ]
    order = draw(st.permutations(range(len(CODES) + len(changes))))
    return fulls, changes, order


def expected(fulls, changes):
    state = {code: set(numbers) for code, (_, numbers) in fulls.items()}
    for _, records in sorted(changes):
        for code in CODES:
            added = {n for n, deleted in records if not deleted and n // 10_000_000 == code}
            gone = {n for n, deleted in records if deleted and n // 10_000_000 == code}
            state[code] = (state[code] | added) - gone
    return state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registries())
def test_import_equals_changes_applied_by_hand_in_date_order(registry):
    fulls, changes, order = registry
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = []
        for code, (day, numbers) in fulls.items():
            path = root / f"full-{code}-{(START + timedelta(days=day)):%Y%m%d}.txt"
            path.write_text("".join(f"{n // 10**7},{n % 10**7:07d}\n" for n in numbers))
            files.append(path)
        for day, records in changes:
            path = root / f"change-{(START + timedelta(days=day)):%Y%m%d}.txt"
            path.write_text(
                "".join(f"{n // 10**7},{n % 10**7:07d},{'D' if d else 'A'}\n" for n, d in records)
            )
            files.append(path)
        import_registry([files[i] for i in order], root / "dnc", today=date(2026, 12, 1))
        table = pq.read_table(current_version(root / "dnc") / "numbers").to_pandas()
        got = {code: set() for code in CODES}
        for code, n in zip(table["area_code"].astype(int), table["number"], strict=True):
            got[code].add(int(n))
        assert got == expected(fulls, changes)
        newest = START + timedelta(days=max((d for d, _ in changes), default=0))
        dates = area_dates(read_manifest(root / "dnc"))
        for code, (day, _) in fulls.items():
            assert dates[str(code)] == (newest if changes else START + timedelta(days=day))
