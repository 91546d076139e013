"""Generate deterministic demo data for the canonical tables, vectorised and chunk by chunk.

The output is one folder of Parquet directories, `<out_dir>/<Table>/part-NNNNN.parquet`, with
exactly the columns and dtypes of `dialflow.schema`, plus `<out_dir>/_demo.json` (parameters and
counts) and the planted duplicate pairs, `<out_dir>/_truth/duplicate_pairs/part-NNNNN.parquet`
(one part per chunk; no table of the file source).

How the data is built, so that the jobs have something to decide:
- Accounts are generated chunk by chunk; the calls, research requests and address history of a
  chunk reference only that chunk's accounts, so memory depends on `chunk_accounts`, not on the
  totals. Chunk `i` draws everything from `np.random.default_rng([seed, i])`.
- Ids are 18 characters: key prefix, 6 base-62 digits of the creation second, 3 of the chunk, 3 of
  the rank inside that second and chunk, and Salesforce's 3-character case checksum. Base-62 digits
  are in ASCII order, so within a table string order is creation order.
- Duplicates are planted inside a chunk between accounts that take part in no other plant: a later
  account copies an earlier one's Phone in another format (`phone`), or its name in a spelling
  variant with the same city and ZIP (`name_postal`), or both in a chain A~B by phone, B~C by name
  (`chain`, written as its three pairs).
- Fuzzy duplicates, which the exact keys cannot find, are planted on other accounts (`fuzzy`): a
  copy takes a source's name and address (same street, city, state and mostly ZIP) but keeps its
  own phone numbers (or none), and differs as its kind says: `fuzzy_typo` (1-2 letter edits in
  one word of the name), `fuzzy_swapped` (first part and modifier exchanged: company names only,
  no person names), `fuzzy_missing_word` (the first word left out), `fuzzy_space` (a space inside
  a word, doubled spaces in some), `fuzzy_suffix` (another legal suffix, or none, plus a one-edit
  typo or a wrong ZIP digit), `fuzzy_zip_transposed` (two adjacent ZIP digits swapped),
  `fuzzy_zip_digit` (one ZIP digit wrong). A pair's kind names its change that defeats the exact
  keys; about 30% of the copies of every kind but `fuzzy_suffix` also write the street
  differently (St/Street, Ave/Avenue, Rd/Road, or a typo in the street name; counted as
  `street_variants`). About 2,100 pairs per 100,000 accounts. They draw from their own random
  stream, so every other value stays what it was before they existed (only a copy's address
  history follows its new state).
- The truth has columns IdL, IdR (IdL < IdR) and Kind (`phone`, `name_postal`, `chain` or a fuzzy
  kind); `_demo.json` counts the pairs per kind under `duplicates`.
- Bad numbers are planted as call series on a forced-valid phone field (see `plants.SCENARIOS`).
  Background calls to any planted number get neutral dispositions only, and background keeps at
  most one disconnected-type call per number and one wrong-number-type call per (account, number),
  so the planted counts are what the autoflush rules find inside a chunk (random numbers can still
  collide across chunks, which is rare).

The modules, from the top down (internal: only the names exported here are public):
- `writer`: `generate_demo_data`, chunk by chunk into Parquet part files, the counts, `_demo.json`.
- `chunk`: one chunk's accounts, calls, research requests and address history, and its counts.
- `plants`: planted duplicates, bad-number series and near misses, the autoflush rows they imply.
- `fuzzy`: planted fuzzy duplicates; `typos`: letter edits and split words on many strings at once.
- `calls`: dispositions, background calls and the Task table; `users`: the User table.
- `names`, `places`, `phones`: company names, addresses (with the states, area codes and cities
  they are drawn from), phone values in valid, malformed and junk formats.
- `reachability`: the dialer simulator (planted answer propensities, a Task history drawn from
  them, the expected contact rate of a call list and its two oracles); not part of the demo
  files, so every demo data set stays what it was.
- `dnc`: a synthetic Do Not Call Registry in the registry's file format (`--dnc N`), from its
  own random stream after the tables.
- `words`: the word lists and cities, read from `dialflow/data/demo/`.
- `columns`, `arrays`, `timeline`: Arrow columns and Ids, numpy draws, the time scale.

The same arguments always give byte-identical files: the order of the random draws is part of the
output, so reordering draws (or lines of the word lists) changes every demo data set.
"""

from .columns import KEY_PREFIXES
from .dnc import generate_demo_registry
from .writer import TABLE_NAMES, generate_demo_data

__all__ = ["KEY_PREFIXES", "TABLE_NAMES", "generate_demo_data", "generate_demo_registry"]
