"""Vectorised Arrow columns: strings from templates and word lists, Salesforce Ids, timestamps,
and tables with the canonical schema.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dialflow.schema import PANDAS_DTYPES, table_columns

KEY_PREFIXES = {
    "Account": "001",
    "Task": "00T",
    "User": "005",
    "Research_Request__c": "a0R",
    "Address_History__c": "a0S",
}

# Id layout after the key prefix: creation second, chunk, rank inside the second (base 62).
SECOND_DIGITS, CHUNK_DIGITS, RANK_DIGITS = 6, 3, 3

_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_CHECKSUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", np.uint8)

HOLE = ord("#")  # a template character filled from the row's fills


def fixed_width_strings(chars: np.ndarray) -> pa.Array:
    """Return a large_string array whose rows are the rows of a 2-D uint8 ASCII matrix."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    data = np.ascontiguousarray(chars).reshape(-1)
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def digits(values: np.ndarray, width: int, alphabet: np.ndarray = _B62[:10]) -> np.ndarray:
    """Return zero-padded digits of non-negative ints in base len(alphabet), as a uint8 matrix.

    The default alphabet gives decimal digits; `_B62` gives base 62 in ASCII order.
    """
    out = np.empty((values.size, width), dtype=np.uint8)
    rest = values.astype(np.int64)
    for column in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, alphabet.size)
        out[:, column] = alphabet[digit]
    if (rest != 0).any() or (values < 0).any():
        raise ValueError(f"value out of range for {width} base-{alphabet.size} digits")
    return out


def rank_in_second(seconds: np.ndarray) -> np.ndarray:
    """Return each row's rank among the rows of the same second (input sorted ascending)."""
    n = seconds.size
    position = np.arange(n)
    new_second = np.ones(n, dtype=bool)
    new_second[1:] = seconds[1:] != seconds[:-1]
    return position - np.maximum.accumulate(np.where(new_second, position, 0))


def salesforce_ids(
    prefix: str, seconds: np.ndarray, chunk_index: int, rank: np.ndarray | None = None
) -> pa.Array:
    """Return 18-character Ids for rows sorted by creation second, unique within the table.

    Args:
        prefix: the object's key prefix.
        seconds: creation times, sorted ascending.
        chunk_index: the chunk the rows belong to.
        rank: each row's rank inside its second, when `seconds` is a slice of the chunk's rows.
    """
    n = seconds.size
    rank = rank_in_second(seconds) if rank is None else rank
    head = np.empty((n, 15), dtype=np.uint8)
    head[:, :3] = np.frombuffer(prefix.encode(), np.uint8)
    head[:, 3:9] = digits(seconds, SECOND_DIGITS, _B62)
    head[:, 9:12] = digits(np.full(n, chunk_index), CHUNK_DIGITS, _B62)
    head[:, 12:15] = digits(rank, RANK_DIGITS, _B62)
    # Salesforce's suffix: per 5-character block, a bit per upper-case letter, as one character.
    upper = ((head >= ord("A")) & (head <= ord("Z"))).reshape(n, 3, 5)
    suffix = _CHECKSUM[np.packbits(upper, axis=2, bitorder="little")[:, :, 0]]
    return fixed_width_strings(np.concatenate([head, suffix], axis=1))


def render(
    templates: Sequence[str],
    choice: np.ndarray,
    fills: np.ndarray | None = None,
    null: np.ndarray | None = None,
) -> pa.Array:
    """Return a large_string array: row i is templates[choice[i]], holes filled from fills[i].

    Args:
        templates: ASCII strings whose '#' characters are holes.
        choice: template index per row.
        fills: uint8 ASCII matrix; row i fills the holes of its template left to right.
        null: rows that are null.
    """
    encoded = [t.encode("ascii") for t in templates]
    n = choice.size
    lengths = np.array([len(t) for t in encoded], dtype=np.int64)[choice]
    if null is not None:
        lengths[null] = 0
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    # Group rows by template once, rather than one mask over all rows per template.
    order = np.argsort(choice, kind="stable")
    bounds = np.searchsorted(choice[order], np.arange(len(encoded) + 1))
    for k, template in enumerate(encoded):
        rows = order[bounds[k] : bounds[k + 1]]
        if null is not None:
            rows = rows[~null[rows]]
        if rows.size == 0 or not template:
            continue
        start = offsets[rows]
        hole = 0
        # Column by column keeps temporaries at one int per row, not one per character.
        for position, char in enumerate(template):
            if char == HOLE:
                assert fills is not None
                data[start + position] = fills[rows, hole]
                hole += 1
            else:
                data[start + position] = char
    validity = None if null is None else pa.py_buffer(np.packbits(~null, bitorder="little"))
    return pa.Array.from_buffers(
        pa.large_string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def take_words(
    words: Sequence[str] | pa.Array, index: np.ndarray, null: np.ndarray | None = None
) -> pa.Array:
    """Return words[index] as a large_string array, null where `null` is set."""
    table = words if isinstance(words, pa.Array) else pa.array(words, pa.large_string())
    return table.take(pa.array(index, mask=null))


def join(parts: Sequence[pa.Array | str], sep: str) -> pa.Array:
    """Join string arrays (and constant strings) element-wise with `sep`, skipping nulls."""
    # The kernel wants one string type throughout: large_string, like every array built here.
    scalars = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(
        *scalars, pa.scalar(sep, pa.large_string()), null_handling="skip"
    )


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Return epoch seconds as a timestamp[s, UTC] array (`canonical_table` casts the unit)."""
    return pa.array(seconds.astype(np.int64), pa.int64()).view(pa.timestamp("s", "UTC"))


@functools.cache
def arrow_schema(table: str) -> pa.Schema:
    """Return the Arrow schema, with pandas metadata, that reads back as the canonical dtypes."""
    empty = pd.DataFrame(
        {
            column: pd.Series([], dtype=PANDAS_DTYPES[kind])
            for column, kind in table_columns(table).items()
        }
    )
    return pa.Schema.from_pandas(empty, preserve_index=False)


def canonical_table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """Return the columns as a table with the canonical schema of `name`."""
    schema = arrow_schema(name)
    # Whole seconds cast losslessly to whatever timestamp unit the canonical dtype uses.
    arrays = [columns[f.name].cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)
