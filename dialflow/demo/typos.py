"""Typing errors on many strings at once: letter edits and split words inside one word.

The strings (ASCII) become a padded byte matrix, one row per string; an edit is an index shift
along the rows, so every string is edited in a few numpy operations whatever their number.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

SUBSTITUTE, DELETE, INSERT, TRANSPOSE = range(4)
SPACE = ord(" ")
# Room for the insertions of two edits.
SLACK = 2


def to_matrix(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return the strings as a (n, width) uint8 matrix padded with spaces, and their lengths."""
    strings = strings.cast(pa.large_string())
    n = len(strings)
    offsets = np.frombuffer(strings.buffers()[1], np.int64)[strings.offset : strings.offset + n + 1]
    data = np.frombuffer(strings.buffers()[2], np.uint8) if n else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    width = int(lengths.max(initial=0)) + SLACK
    column = np.arange(width)
    inside = column[None, :] < lengths[:, None]
    index = np.minimum(offsets[:-1, None] + column[None, :], max(data.size - 1, 0))
    chars = np.where(inside, data[index] if data.size else SPACE, SPACE).astype(np.uint8)
    return chars, lengths


def from_matrix(chars: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Return the rows of a byte matrix, each cut to its length, as a large_string array."""
    n, width = chars.shape
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.ascontiguousarray(chars[np.arange(width)[None, :] < lengths[:, None]])
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _is_letter(chars: np.ndarray) -> np.ndarray:
    lower = chars | 0x20
    return (lower >= ord("a")) & (lower <= ord("z"))


def word_eligible(strings: pa.Array, min_letters: int) -> np.ndarray:
    """Return which strings hold a run of at least `min_letters` letters (a word to edit)."""
    return (_letter_runs(*to_matrix(strings)) >= min_letters).any(axis=1)


def _letter_runs(chars: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Return per row and column the length of the letter run starting there (0 elsewhere)."""
    width = chars.shape[1]
    column = np.arange(width)[None, :]
    letter = _is_letter(chars) & (column < lengths[:, None])
    before = np.zeros_like(letter)
    before[:, 1:] = letter[:, :-1]
    # The first non-letter at or after each column, by a running minimum from the right.
    stop = np.where(letter, width, column)
    stop = np.minimum.accumulate(stop[:, ::-1], axis=1)[:, ::-1]
    return np.where(letter & ~before, stop - column, 0)


def pick_word(
    rng: np.random.Generator, chars: np.ndarray, lengths: np.ndarray, min_letters: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return per row the start and length of a uniformly drawn run of >= min_letters letters."""
    size = _letter_runs(chars, lengths)
    row, column = np.nonzero(size >= min_letters)
    count = np.bincount(row, minlength=chars.shape[0])
    if (count == 0).any():
        raise ValueError(f"a string without a word of {min_letters} letters cannot get a typo")
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    chosen = first + (rng.random(count.size) * count).astype(np.int64)
    return column[chosen], size[row[chosen], column[chosen]]


def _shift(chars: np.ndarray, position: np.ndarray, op: np.ndarray) -> np.ndarray:
    """Return the matrix with each row's characters moved for its edit at `position`."""
    width = chars.shape[1]
    column = np.arange(width)[None, :]
    at = position[:, None]
    op = op[:, None]
    source = np.select(
        [
            (op == DELETE) & (column >= at),
            (op == INSERT) & (column > at),
            (op == TRANSPOSE) & (column == at),
            (op == TRANSPOSE) & (column == at + 1),
        ],
        [column + 1, column - 1, column + 1, column - 1],
        column,
    )
    return np.take_along_axis(chars, np.clip(source, 0, width - 1), axis=1)


def edit_word(
    rng: np.random.Generator,
    chars: np.ndarray,
    lengths: np.ndarray,
    start: np.ndarray,
    size: np.ndarray,
    op: np.ndarray,
    avoid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Apply one letter edit per row inside the word at (start, size); words need 4+ letters.

    Edits leave the word's first letter alone (typists rarely miss the initial). A transposition of
    two equal letters would change nothing, so it becomes a substitution. A substituted letter
    differs from the old one whatever the case. `avoid`: a column a substitution must not hit
    (the earlier edit's, so that two substitutions never undo each other), -1 for none.

    Returns the new matrix, lengths, word sizes and the edited columns.
    """
    n = chars.shape[0]
    rows = np.arange(n)
    span = np.select([op == INSERT, op == TRANSPOSE], [size, size - 2], size - 1)
    avoid = np.full(n, -1) if avoid is None else avoid
    skip = (op == SUBSTITUTE) & (avoid >= 0)
    position = start + 1 + (rng.random(n) * (span - skip)).astype(np.int64)
    position = np.where(skip & (position >= avoid), position + 1, position)
    pair = chars[rows, np.minimum(position + 1, chars.shape[1] - 1)]
    same = (chars[rows, position] | 0x20) == (pair | 0x20)
    op = np.where((op == TRANSPOSE) & same, SUBSTITUTE, op)
    letter = rng.integers(0, 26, n)
    shift = rng.integers(1, 26, n)
    old = chars[rows, np.where(op == INSERT, position - 1, position)]
    # An insertion after the initial capital stays lower case; otherwise follow the neighbour.
    upper = (old >= ord("A")) & (old <= ord("Z")) & ((op != INSERT) | (position - 1 > start))
    lower = np.where(op == SUBSTITUTE, ((old | 0x20) - ord("a") + shift) % 26, letter)
    new = (ord("a") + lower - np.where(upper, 0x20, 0)).astype(np.uint8)
    out = _shift(chars, position, op)
    put = (op == SUBSTITUTE) | (op == INSERT)
    out[rows[put], position[put]] = new[put]
    change = (op == INSERT).astype(np.int64) - (op == DELETE)
    return out, lengths + change, size + change, position


def typos(rng: np.random.Generator, strings: pa.Array, edits: np.ndarray) -> pa.Array:
    """Return the strings with 1 or 2 (per row, `edits`) letter edits inside one word.

    The first edit is a substitution, deletion, insertion or adjacent transposition; a second
    edit is a substitution elsewhere in the same word, so that the result is never the original
    and stays within two Levenshtein edits of it (a transposition alone counts two).
    """
    chars, lengths = to_matrix(strings)
    n = chars.shape[0]
    start, size = pick_word(rng, chars, lengths, 4)
    op = rng.integers(0, 4, n)
    # Two edits: no transposition first, which would already count two Levenshtein edits.
    op = np.where((edits == 2) & (op == TRANSPOSE), SUBSTITUTE, op)
    chars, lengths, size, position = edit_word(rng, chars, lengths, start, size, op)
    second = np.flatnonzero(edits == 2)
    again, again_lengths, _, _ = edit_word(
        rng,
        chars[second],
        lengths[second],
        start[second],
        size[second],
        np.full(second.size, SUBSTITUTE),
        avoid=np.where(op[second] == SUBSTITUTE, position[second], -1),
    )
    chars[second], lengths[second] = again, again_lengths
    return from_matrix(chars, lengths)


def split_words(rng: np.random.Generator, strings: pa.Array) -> pa.Array:
    """Return the strings with a space typed inside one word of 4+ letters ("ja ck")."""
    chars, lengths = to_matrix(strings)
    n = chars.shape[0]
    start, size = pick_word(rng, chars, lengths, 4)
    position = start + 1 + (rng.random(n) * (size - 1)).astype(np.int64)
    out = _shift(chars, position, np.full(n, INSERT))
    out[np.arange(n), position] = SPACE
    return from_matrix(out, lengths + 1)
