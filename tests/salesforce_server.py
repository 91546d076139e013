"""A Salesforce-compatible HTTPS server for tests: SOAP login, SOQL query paging and describe.

Standard library only (`http.server` + `ssl`), with a trustme certificate for 127.0.0.1, so that
simple-salesforce talks to it unpatched:

    handle = salesforce_server({"Account": frame})
    session = requests.Session()
    session.verify = handle.ca_path
    sf = Salesforce(username=handle.username, password=handle.password,
                    security_token=handle.token, domain=handle.domain, version="59.0",
                    session=session)

simple-salesforce posts its SOAP login to `https://{domain}.salesforce.com/services/Soap/u/{v}`;
with `domain="127.0.0.1:PORT/sf"` that is `https://127.0.0.1:PORT/sf.salesforce.com/...`, which
this server answers with a `serverUrl` on `https://127.0.0.1:PORT/`, the instance of all the REST
calls that follow.

The SOQL understood is `SELECT f1, f2 FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS
FIRST|LAST], ...] [LIMIT n]`, where `cond` is comparisons `field op literal` (op one of = != <> <
<= > >=) or `field [NOT] IN (literal, ...)` joined by AND / OR / NOT with parentheses. Literals are
what `simple_salesforce.format_soql` writes: 'quoted strings', true/false, null, numbers, dates and
datetimes (`2026-01-01T00:00:00+00:00`, also `...Z`). Anything else is a 400 MALFORMED_QUERY.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import hmac
import io
import itertools
import json
import math
import operator
import re
import secrets
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pytest
import trustme

HOST = "127.0.0.1"
ORG_ID = "00D000000000001"
USER_ID = "005000000000001AAA"
PARTNER_NS = "urn:partner.soap.sforce.com"

FAULTS: dict[str, tuple[int, str, str]] = {
    "500": (
        500,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1234567890-12345 (-1234567890)",
    ),
    "REQUEST_LIMIT_EXCEEDED": (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    "INVALID_SESSION_ID": (401, "INVALID_SESSION_ID", "Session expired or invalid"),
}


class SoqlError(Exception):
    """A query the server refuses: answered 400 with this errorCode and message."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- SOQL parsing

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "order", "by", "limit"}


@dataclass
class Token:
    kind: str
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


@dataclass
class Literal:
    kind: str  # string | datetime | date | number | bool | null
    value: Any


@dataclass
class Query:
    obj: str
    fields: list[str]
    where: Any = None  # nested tuples: ("and"|"or", a, b) | ("not", a) | ("cmp", f, op, lits)
    order: list[tuple[str, bool, bool | None]] = field(default_factory=list)  # name, asc, nulls1st
    limit: int | None = None
    count: bool = False  # SELECT COUNT(): only totalSize is answered


def tokenize(soql: str) -> list[Token]:
    tokens, position, text = [], 0, soql.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SoqlError(f"unexpected token at: {text[position : position + 20]!r}")
        tokens.append(Token(match.lastgroup or "", match.group(match.lastgroup or 0)))
        position = match.end()
    return tokens


def _literal(token: Token) -> Literal:
    if token.kind == "string":
        body = re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), m.group(1)), token.text[1:-1])
        return Literal("string", body)
    if token.kind == "datetime":
        return Literal("datetime", pd.Timestamp(token.text).tz_convert("UTC"))
    if token.kind == "date":
        return Literal("date", pd.Timestamp(token.text))
    if token.kind == "number":
        number = float(token.text) if "." in token.text else int(token.text)
        return Literal("number", number)
    if token.is_word("true", "false"):
        return Literal("bool", token.text.lower() == "true")
    if token.is_word("null"):
        return Literal("null", None)
    raise SoqlError(f"expected a literal, got {token.text!r}")


class _Parser:
    def __init__(self, soql: str) -> None:
        self.tokens = tokenize(soql)
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise SoqlError("unexpected end of query")
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.is_word(*words):
            self.at += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            raise SoqlError(f"expected {word.upper()}")

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.at += 1
            return True
        return False

    def name(self) -> str:
        token = self.take()
        if token.kind != "word" or token.text.lower() in _KEYWORDS:
            raise SoqlError(f"expected a name, got {token.text!r}")
        return token.text

    def query(self) -> Query:
        self.expect("select")
        count, fields = False, []
        ahead = self.tokens[self.at + 1] if self.at + 1 < len(self.tokens) else None
        if self.peek() is not None and self.peek().is_word("count") and ahead and ahead.text == "(":
            self.at += 2
            if not self.punct(")"):
                raise SoqlError("only COUNT() is supported")
            count = True
        else:
            fields.append(self.name())
            while self.punct(","):
                fields.append(self.name())
        self.expect("from")
        query = Query(obj=self.name(), fields=fields, count=count)
        if self.keyword("where"):
            query.where = self.disjunction()
        if self.keyword("order"):
            self.expect("by")
            while True:
                name, ascending, nulls_first = self.name(), True, None
                if self.keyword("desc"):
                    ascending = False
                else:
                    self.keyword("asc")
                if self.keyword("nulls"):
                    nulls_first = self.keyword("first")
                    if not nulls_first:
                        self.expect("last")
                query.order.append((name, ascending, nulls_first))
                if not self.punct(","):
                    break
        if self.keyword("limit"):
            token = self.take()
            if token.kind != "number" or not token.text.isdigit():
                raise SoqlError("LIMIT needs a whole number")
            query.limit = int(token.text)
        if self.peek() is not None:
            raise SoqlError(f"unexpected token: {self.peek().text!r}")
        return query

    def disjunction(self) -> Any:
        node = self.conjunction()
        while self.keyword("or"):
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Any:
        node = self.negation()
        while self.keyword("and"):
            node = ("and", node, self.negation())
        return node

    def negation(self) -> Any:
        if self.keyword("not"):
            return ("not", self.negation())
        if self.punct("("):
            node = self.disjunction()
            if not self.punct(")"):
                raise SoqlError("expected )")
            return node
        name = self.name()
        negated = self.keyword("not")
        if self.keyword("in"):
            if not self.punct("("):
                raise SoqlError("expected ( after IN")
            values = [_literal(self.take())]
            while self.punct(","):
                values.append(_literal(self.take()))
            if not self.punct(")"):
                raise SoqlError("expected )")
            node = ("cmp", name, "in", values)
            return ("not", node) if negated else node
        if negated:
            raise SoqlError("expected IN after NOT")
        token = self.take()
        if token.kind != "op":
            raise SoqlError(f"expected an operator after {name}, got {token.text!r}")
        return ("cmp", name, token.text, [_literal(self.take())])


def parse_soql(soql: str) -> Query:
    """Parse the SOQL subset this server understands (see the module docstring)."""
    return _Parser(soql).query()


# --------------------------------------------------------------------------- evaluation


def field_type(name: str, series: pd.Series) -> str:
    """Infer a describe() type: id, datetime, boolean, phone, reference, int, double or string."""
    if name == "Id":
        return "id"
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        return "datetime"
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "int"
    if pd.api.types.is_float_dtype(series.dtype):
        return "double"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred in ("datetime", "datetime64"):
        return "datetime"
    if inferred == "boolean":
        return "boolean"
    if "phone" in name.lower():
        return "phone"
    if name.endswith("Id"):
        return "reference"
    return "string"


def _coerce(literal: Literal, kind: str, name: str) -> Any:
    if literal.kind == "null":
        return None
    expected = {
        "datetime": ("datetime",),
        "boolean": ("bool",),
        "int": ("number",),
        "double": ("number",),
    }.get(kind, ("string",))
    if literal.kind not in expected:
        raise SoqlError(
            f"value of filter criterion for field '{name}' must be of type {kind} "
            "and should not be enclosed in quotes",
            "INVALID_FIELD",
        )
    return literal.value


def _compare(series: pd.Series, kind: str, op: str, values: list[Any]) -> np.ndarray:
    present = series.notna().to_numpy(dtype=bool)
    if kind == "datetime":
        series = pd.to_datetime(series, utc=True)
    if op == "in":
        wanted = [v for v in values if v is not None]
        mask = np.zeros(len(series), dtype=bool)
        mask[present] = series[present].isin(wanted).to_numpy(dtype=bool)
        return mask | (~present if None in values else False)
    (value,) = values
    if value is None:
        if op == "=":
            return ~present
        if op in ("!=", "<>"):
            return present
        raise SoqlError(f"operator {op} cannot compare with null")
    mask = np.zeros(len(series), dtype=bool)
    mask[present] = np.asarray(_OPS[op](series[present], value), dtype=bool)
    return mask


class Table:
    """One object: a frame plus describe() types, with case-insensitive field lookup.

    Writes (Bulk ingest) swap in a new frame rather than mutate the old one, so a reader that
    took `table.frame` once sees one consistent snapshot (pandas copy-on-write keeps it cheap).
    """

    def __init__(self, name: str, frame: pd.DataFrame, types: dict[str, str] | None) -> None:
        self.name = name
        self.frame = frame.reset_index(drop=True)
        self.types = {column: field_type(column, frame[column]) for column in frame.columns}
        self.types.update(types or {})
        self.by_lower = {column.lower(): column for column in frame.columns}
        self._ids: tuple[pd.Index, np.ndarray] | None = None

    def column(self, name: str) -> str:
        try:
            return self.by_lower[name.lower()]
        except KeyError:
            raise SoqlError(
                f"No such column '{name}' on entity '{self.name}'.", "INVALID_FIELD"
            ) from None

    def replace(self, frame: pd.DataFrame) -> None:
        """Publish a written frame (same columns); row labels stay positions."""
        self.frame = frame.reset_index(drop=True)
        self._ids = None

    def positions_of(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of these Ids, -1 where absent; the Id index is kept until a write."""
        if "Id" not in self.frame.columns:
            return np.full(len(ids), -1, dtype=np.int64)
        if self._ids is None:
            keys = pd.Index(self.frame["Id"].astype(object))
            first = ~keys.duplicated()
            self._ids = (keys[first], np.flatnonzero(first))
        keys, rows = self._ids
        found = keys.get_indexer(pd.Index(ids, dtype=object))
        return np.where(found >= 0, rows[found], -1)

    def mask(self, node: Any, frame: pd.DataFrame | None = None) -> np.ndarray:
        frame = self.frame if frame is None else frame
        if node is None:
            return np.ones(len(frame), dtype=bool)
        if node[0] == "and":
            return self.mask(node[1], frame) & self.mask(node[2], frame)
        if node[0] == "or":
            return self.mask(node[1], frame) | self.mask(node[2], frame)
        if node[0] == "not":
            return ~self.mask(node[1], frame)
        _, name, op, literals = node
        column = self.column(name)
        kind = self.types[column]
        values = [_coerce(literal, kind, column) for literal in literals]
        return _compare(frame[column], kind, op, values)

    def select_positions(self, query: Query, frame: pd.DataFrame) -> np.ndarray:
        """The matching rows' positions in `frame`, ordered and limited; only key columns move."""
        positions = np.flatnonzero(self.mask(query.where, frame))
        for name, ascending, nulls_first in reversed(query.order):  # stable: last key first
            first = ascending if nulls_first is None else nulls_first
            key = frame[self.column(name)].take(positions).reset_index(drop=True)
            order = key.sort_values(
                ascending=ascending, kind="stable", na_position="first" if first else "last"
            ).index.to_numpy()
            positions = positions[order]
        if query.limit is not None:
            positions = positions[: query.limit]
        return positions

    def selected_columns(self, query: Query) -> list[str]:
        return list(dict.fromkeys(self.column(name) for name in query.fields))

    def select(self, query: Query, frame: pd.DataFrame | None = None) -> pd.DataFrame:
        """The selected rows and columns; the index holds the rows' positions in `frame`."""
        frame = self.frame if frame is None else frame
        columns = self.selected_columns(query)
        return frame[columns].take(self.select_positions(query, frame))


def json_value(value: Any) -> Any:
    """Render a cell the way Salesforce's REST API does."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- Bulk API 2.0 CSV

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^"}
DELIMITERS["BACKQUOTE"] = "`"
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
BULK_NULL = "#N/A"  # an ingest value that sets the field to null ("" leaves it unchanged)
_NULL_MARK = "\ue000null\ue000"  # na_rep while writing, then unquoted to an empty field
KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "Case": "500",
    "Campaign": "701",
}


def _utc(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(series):
        return series.dt.tz_localize("UTC")
    return pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")


def _csv_cells(series: pd.Series, kind: str) -> np.ndarray:
    """One column's cells as Bulk API 2.0 writes them (object array, None for null).

    Datetimes 2024-01-02T03:04:05.000Z, dates 2024-01-02, booleans true/false, numbers plain.
    """
    present = series.notna().to_numpy(dtype=bool)
    cells = np.full(len(series), None, dtype=object)
    if not present.any():
        return cells
    values = series[present]
    if kind in ("datetime", "date"):
        naive = _utc(values).dt.tz_localize(None).to_numpy(dtype="datetime64[ms]")
        text = np.datetime_as_string(naive, unit="ms" if kind == "datetime" else "D")
        text = np.char.add(text, "Z") if kind == "datetime" else text
        cells[present] = np.where(np.isnat(naive), None, text.astype(object))
    elif kind == "boolean":
        flags = values.astype(bool).to_numpy(dtype=bool)
        cells[present] = np.where(flags, "true", "false").astype(object)
    elif kind in ("int", "double"):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        whole = kind == "int" and bool(np.all(np.mod(numbers[~np.isnan(numbers)], 1) == 0))
        if whole:
            text = np.where(np.isnan(numbers), 0, numbers).astype(np.int64).astype(str)
        else:
            text = numbers.astype(str)
        cells[present] = np.where(np.isnan(numbers), None, text.astype(object))
    else:
        cells[present] = values.to_numpy(dtype=object)
    return cells


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def bulk_csv(
    frame: pd.DataFrame, kinds: list[str], delimiter: str = ",", line_ending: str = "\n"
) -> bytes:
    """A CSV like Salesforce's Bulk API 2.0: a header row, every value double-quoted, null as an
    empty unquoted field. Built column-wise with pandas: pages hold tens of thousands of rows."""
    header = delimiter.join(_quote(str(name)) for name in frame.columns) + line_ending
    if frame.empty:
        return header.encode()
    cells = pd.DataFrame({i: _csv_cells(frame.iloc[:, i], kind) for i, kind in enumerate(kinds)})
    body = cells.to_csv(
        index=False,
        header=False,
        sep=delimiter,
        lineterminator=line_ending,
        quoting=csv.QUOTE_ALL,
        na_rep=_NULL_MARK,
    )
    return (header + body.replace(_quote(_NULL_MARK), "")).encode()


def _text_csv(frame: pd.DataFrame, delimiter: str, line_ending: str) -> bytes:
    """Ingest results: every cell is text as uploaded (or sf__ values), all quoted."""
    return bulk_csv(frame, ["string"] * len(frame.columns), delimiter, line_ending)


def _parse_values(raw: np.ndarray, kind: str, dtype: Any) -> tuple[pd.Series, np.ndarray]:
    """Uploaded text to a column's type: (values in `dtype` where possible, unparseable mask).
    Both "" and #N/A read as null here; the caller decides what "" means."""
    null = (raw == "") | (raw == BULK_NULL)
    text = pd.Series(np.where(null, None, raw), dtype=object)
    if kind in ("datetime", "date"):
        parsed: pd.Series = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    elif kind == "boolean":
        truth = {"true": True, "1": True, "false": False, "0": False}
        parsed = text.str.lower().map(truth).astype("boolean")
    elif kind in ("int", "double"):
        parsed = pd.to_numeric(text, errors="coerce")
    else:
        parsed = text
    bad = ~null & parsed.isna().to_numpy(dtype=bool)
    for target in (dtype, _nullable(dtype)):
        try:
            return parsed.astype(target), bad
        except (TypeError, ValueError):
            continue
    return parsed, bad


def _nullable(dtype: Any) -> Any:
    """A dtype that can hold null for this numpy one (bool -> boolean, int -> Int64)."""
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(
        dtype, pd.api.extensions.ExtensionDtype
    ):
        return "Int64"
    return dtype


def _assign(series: pd.Series, positions: np.ndarray, values: pd.Series) -> pd.Series:
    """series with the values written at these positions, keeping its dtype when it can."""
    series = series.copy()
    try:
        series.iloc[positions] = values.array
        return series
    except (TypeError, ValueError):
        pass
    widened = series.astype(_nullable(series.dtype))
    try:
        widened.iloc[positions] = values.array
        return widened
    except (TypeError, ValueError):
        loose = series.astype(object)
        loose.iloc[positions] = values.to_numpy(dtype=object)
        return loose


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Id: prefix + 12 digits + the case-safety suffix Salesforce computes."""
    base = f"{prefix}{number:012d}"[:15]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = sum(
            1 << i for i, char in enumerate(base[chunk * 5 : chunk * 5 + 5]) if char.isupper()
        )
        suffix += alphabet[bits]
    return base + suffix


def _stamp(when: pd.Timestamp | None = None) -> str:
    when = pd.Timestamp.now(tz="UTC") if when is None else when
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


# --------------------------------------------------------------------------- Bulk API 2.0 jobs


@dataclass
class BulkJob:
    """What query and ingest jobs share; `info()` is the job info JSON Salesforce answers."""

    id: str
    operation: str
    object: str
    version: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "UploadComplete"
    final_state: str = "JobComplete"  # shown once `polls_left` InProgress GETs are answered
    polls_left: int = 0
    created: str = field(default_factory=_stamp)
    processed: int = 0
    error_message: str = ""

    @property
    def delimiter(self) -> str:
        return DELIMITERS[self.column_delimiter]

    @property
    def newline(self) -> str:
        return LINE_ENDINGS[self.line_ending]

    def poll(self) -> None:
        """One GET of the job: InProgress for `polls_left` GETs once uploaded, then final."""
        if self.state in ("UploadComplete", "InProgress"):
            if self.polls_left > 0:
                self.polls_left -= 1
                self.state = "InProgress"
            else:
                self.state = self.final_state

    def info(self, detail: bool = True) -> dict[str, Any]:
        info = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": USER_ID,
            "createdDate": self.created,
            "systemModstamp": _stamp(),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version[1:]),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        return info


@dataclass
class QueryJob(BulkJob):
    """A Bulk API 2.0 query job: its SOQL, the table snapshot and the selected rows' positions,
    computed once at creation; result pages are cut from them on demand."""

    soql: str = ""
    frame: pd.DataFrame | None = None
    rows: np.ndarray | None = None
    columns: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def info(self, detail: bool = True) -> dict[str, Any]:
        info = super().info(detail)
        if detail:
            done = self.state == "JobComplete"
            info.update(
                jobType="V2Query",
                numberRecordsProcessed=len(self.rows) if done and self.rows is not None else 0,
                retries=0,
                totalProcessingTime=0,
            )
            if self.error_message:
                info["errorMessage"] = self.error_message
        return info

    def page(self, start: int, size: int) -> pd.DataFrame:
        assert self.frame is not None and self.rows is not None
        return self.frame[self.columns].take(self.rows[start : start + size])


@dataclass
class IngestJob(BulkJob):
    """A Bulk API 2.0 ingest job: the uploaded CSV and, once processed, its result rows."""

    state: str = "Open"
    upload: bytes | None = None
    failed_count: int = 0
    successful: pd.DataFrame | None = None  # sf__Id, sf__Created, uploaded columns (text)
    failed: pd.DataFrame | None = None  # sf__Id, sf__Error, uploaded columns (text)
    unprocessed: pd.DataFrame | None = None  # uploaded columns (text)

    def info(self, detail: bool = True) -> dict[str, Any]:
        info = super().info(detail)
        info["contentUrl"] = f"services/data/{self.version}/jobs/ingest/{self.id}/batches"
        if detail:
            shown = self.state in ("JobComplete", "Failed", "Aborted")
            info.update(
                jobType="V2Ingest",
                numberRecordsProcessed=self.processed if shown else 0,
                numberRecordsFailed=self.failed_count if shown else 0,
                retries=0,
                totalProcessingTime=0,
                apiActiveProcessingTime=0,
                apexProcessingTime=0,
            )
            if self.state == "Failed" and self.error_message:
                info["errorMessage"] = self.error_message
        return info


def _read_upload(body: bytes, delimiter: str) -> pd.DataFrame:
    """The uploaded CSV, every cell as the exact text sent (no NA guessing: #N/A stays)."""
    if not body.strip():
        return pd.DataFrame()
    frame = pd.read_csv(
        io.BytesIO(body), sep=delimiter, dtype=str, keep_default_na=False, na_filter=False
    )
    return frame.astype(object)


# --------------------------------------------------------------------------- the server


class Reply(NamedTuple):
    """One HTTP answer from a route."""

    status: int
    body: bytes
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = {}


def _json(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode())


def _error(status: int, code: str, message: str) -> Reply:
    return _json(status, [{"message": message, "errorCode": code}])


def _not_found() -> Reply:
    return _error(404, "NOT_FOUND", "The requested resource does not exist")


def _oauth_error(error: str, description: str) -> Reply:
    return _json(400, {"error": error, "error_description": description})


@dataclass
class Request:
    """What a route sees of a REST call."""

    method: str
    version: str
    params: dict[str, list[str]]
    body: bytes
    content_type: str

    def json(self) -> dict[str, Any]:
        try:
            payload = json.loads(self.body or b"{}")
        except ValueError as error:
            raise _Refused(_error(400, "JSON_PARSER_ERROR", str(error))) from None
        if not isinstance(payload, dict):
            raise _Refused(_error(400, "JSON_PARSER_ERROR", "expected a JSON object"))
        return payload


class _Refused(Exception):
    """Raised inside a route to answer this reply instead."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


@functools.cache
def _jwt_key_pair() -> tuple[bytes, bytes]:
    """One RSA key pair per process (private PEM, public PEM): generating one takes a while and
    tests start many servers."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
Route = Callable[..., Reply]


class SalesforceServer:
    """A running fake org. Attributes tests may read or change while it runs:

    domain      "127.0.0.1:PORT/sf", for Salesforce(domain=...)
    url         "https://127.0.0.1:PORT";  instance: "127.0.0.1:PORT"
    ca_path     PEM of the CA that signed the server's certificate (REQUESTS_CA_BUNDLE / verify)
    username, password, token   the only credentials the SOAP login accepts
    consumer_key, consumer_secret   the connected app's, for the OAuth 2.0 token endpoint
    private_key_path    PEM of the private key whose public half verifies JWT bearer assertions
    tables      {object name: Table}; set_table() replaces one
    requests    REST/Bulk API calls answered so far (the `used` of Sforce-Limit-Info)
    logins      SOAP logins and OAuth token requests answered (good or bad); not in `requests`
    api_limit   the `limit` of Sforce-Limit-Info; past it every call is REQUEST_LIMIT_EXCEEDED
    page_size   records per REST query page (default 2000)
    bulk_page_size  records per Bulk API 2.0 result page when maxRecords is not given (50,000)
    bulk_polls_in_progress  job-info GETs answered "InProgress" before a job shows its end
    latency     seconds slept before answering each request
    faults      answered instead of the next REST/Bulk calls, first first: "500",
                "REQUEST_LIMIT_EXCEEDED" or "INVALID_SESSION_ID"; None lets one call through
                (logins never take a fault)
    record_errors   {Id: "CODE:message:--"}: an ingest row for that Id fails with this error
    queries     every SOQL string received (REST and Bulk), in order
    bulk_jobs   every Bulk API 2.0 query job created (QueryJob), in order
    ingest_jobs every Bulk API 2.0 ingest job created (IngestJob), in order
    sessions    the valid session ids and OAuth access tokens; expire_sessions() empties it
    """

    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        ca_dir: Path,
        *,
        field_types: dict[str, dict[str, str]] | None = None,
        page_size: int = 2000,
        bulk_page_size: int = 50_000,
        bulk_polls_in_progress: int = 0,
        latency: float = 0.0,
        api_limit: int = 100_000,
        username: str = "dialer@example.com",
        password: str = "pw-Sales-f0rce",
        token: str = "TOKEN123abc",
        consumer_key: str = "3MVG9fake.Consumer.Key",
        consumer_secret: str = "C0nsumer-Secret-42",
    ) -> None:
        field_types = field_types or {}
        self.tables = {
            name: Table(name, frame, field_types.get(name)) for name, frame in tables.items()
        }
        self.page_size = page_size
        self.bulk_page_size = bulk_page_size
        self.bulk_polls_in_progress = bulk_polls_in_progress
        self.latency = latency
        self.api_limit = api_limit
        self.username, self.password, self.token = username, password, token
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.faults: list[str | None] = []
        self.record_errors: dict[str, str] = {}
        self.queries: list[str] = []
        self.bulk_jobs: list[QueryJob] = []
        self.ingest_jobs: list[IngestJob] = []
        self.sessions: set[str] = set()
        self.requests = 0
        self.logins = 0
        self._cursors: dict[str, list[dict]] = {}
        self._jobs: dict[str, BulkJob] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one ingest job writes the tables at a time
        self._locators = itertools.count(1)
        self._ids = itertools.count(1)

        ca = trustme.CA()
        ca_dir.mkdir(parents=True, exist_ok=True)
        self.ca_path = str(ca_dir / "salesforce-ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        private_pem, self._public_pem = _jwt_key_pair()
        self.private_key_path = str(ca_dir / "salesforce-jwt-key.pem")
        Path(self.private_key_path).write_bytes(private_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(HOST).configure_cert(context)

        self._httpd = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        # Handshake in the handler thread, not in accept() on the serving thread.
        self._httpd.socket = context.wrap_socket(
            self._httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port = self._httpd.server_address[1]
        self.instance = f"{HOST}:{self.port}"
        self.url = f"https://{self.instance}"
        self.domain = f"{self.instance}/sf"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="salesforce-server",
            daemon=True,
        )
        self._routes: list[tuple[re.Pattern[str], dict[str, Route]]] = [
            (re.compile(pattern, re.IGNORECASE), methods)
            for pattern, methods in [
                (r"query|queryAll", {"GET": self._rest_query}),
                (r"(?:query|queryAll)/(01g\w+)-(\d+)", {"GET": self._rest_query_more}),
                (r"sobjects", {"GET": self._sobjects}),
                (r"sobjects/(\w+)/describe", {"GET": self._describe}),
                (r"jobs/query", {"POST": self._create_query_job, "GET": self._list_jobs}),
                (
                    r"jobs/query/(750\w+)",
                    {"GET": self._job_info, "PATCH": self._patch_job, "DELETE": self._delete_job},
                ),
                (r"jobs/query/(750\w+)/results", {"GET": self._query_results}),
                (r"jobs/ingest", {"POST": self._create_ingest_job, "GET": self._list_jobs}),
                (
                    r"jobs/ingest/(750\w+)",
                    {"GET": self._job_info, "PATCH": self._patch_job, "DELETE": self._delete_job},
                ),
                (r"jobs/ingest/(750\w+)/batches", {"PUT": self._upload}),
                (
                    r"jobs/ingest/(750\w+)/(successfulResults|failedResults|unprocessedRecords)",
                    {"GET": self._ingest_results},
                ),
            ]
        ]

    def start(self) -> SalesforceServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def set_table(self, name: str, frame: pd.DataFrame, types: dict[str, str] | None = None):
        self.tables[name] = Table(name, frame, types)

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def session(self):  # noqa: ANN201 - a requests.Session
        """A requests.Session that trusts this server's CA.

        trust_env is off: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment
        override Session.verify (psf/requests#3829), and proxies have no business on loopback.
        """
        import requests

        session = requests.Session()
        session.verify = self.ca_path
        session.trust_env = False
        return session

    def salesforce(self, **options: Any):  # noqa: ANN201 - a simple_salesforce.Salesforce
        """Log in with simple-salesforce (unpatched) as the configured user."""
        from simple_salesforce import Salesforce

        options.setdefault("version", "59.0")
        options.setdefault("session", self.session())
        return Salesforce(
            username=self.username,
            password=self.password,
            security_token=self.token,
            domain=self.domain,
            **options,
        )

    # ----- logins (called from handler threads)

    def limit_info(self) -> str:
        return f"api-usage={self.requests}/{self.api_limit}"

    def _new_session(self) -> str:
        session_id = f"{ORG_ID}!{secrets.token_urlsafe(24)}"
        with self._lock:
            self.sessions.add(session_id)
        return session_id

    def login(self, body: bytes, version: str) -> tuple[int, str]:
        with self._lock:
            self.logins += 1
        try:
            root = ET.fromstring(body)
            username = root.findtext(f".//{{{PARTNER_NS}}}username")
            password = root.findtext(f".//{{{PARTNER_NS}}}password")
        except ET.ParseError:
            username = password = None
        if username != self.username or password != self.password + self.token:
            return 500, _login_fault()
        return 200, _login_response(self.url, version, self._new_session())

    def oauth_token(self, body: bytes, authorization: str) -> Reply:
        """POST /services/oauth2/token: client_credentials, password or JWT bearer grants."""
        import jwt

        with self._lock:
            self.logins += 1
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials).decode()
            except ValueError:
                decoded = ""
            client_id, _, client_secret = decoded.partition(":")
        grant = form.get("grant_type", "")
        if grant in ("client_credentials", "password"):
            if client_id != self.consumer_key or client_secret != self.consumer_secret:
                return _oauth_error("invalid_client", "invalid client credentials")
            if grant == "password" and (
                form.get("username") != self.username
                or form.get("password") not in (self.password, self.password + self.token)
            ):
                return _oauth_error("invalid_grant", "authentication failure")
        elif grant == JWT_GRANT:
            try:
                claims = jwt.decode(
                    form.get("assertion", ""),
                    self._public_pem,
                    algorithms=["RS256"],
                    options={"verify_aud": False, "require": ["iss", "sub", "aud", "exp"]},
                )
            except jwt.PyJWTError:
                return _oauth_error("invalid_grant", "invalid assertion")
            if claims["iss"] != self.consumer_key:
                return _oauth_error("invalid_client", "client identifier invalid")
            audiences = {
                f"https://{self.domain}.salesforce.com",
                "https://login.salesforce.com",
                "https://test.salesforce.com",
                self.url,
            }
            if claims["aud"] not in audiences:
                return _oauth_error("invalid_grant", "audience is invalid")
            if claims["sub"] != self.username:
                return _oauth_error("invalid_grant", "invalid assertion")
        else:
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        issued = str(int(time.time() * 1000))
        identity = f"{self.url}/id/{ORG_ID}/{USER_ID}"
        digest = hmac.new(
            self.consumer_secret.encode(), (identity + issued).encode(), hashlib.sha256
        ).digest()
        return _json(
            200,
            {
                "access_token": self._new_session(),
                "instance_url": self.url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": base64.b64encode(digest).decode(),
            },
        )

    # ----- REST and Bulk API 2.0 (called from handler threads)

    def api(
        self,
        method: str,
        target: str,
        authorization: str,
        body: bytes = b"",
        content_type: str = "",
    ) -> Reply:
        """Answer one call under /services/data: faults and the limit first, then the session,
        then the route (404 unknown, 405 a method the route does not take)."""
        with self._lock:
            self.requests += 1
            fault = self.faults.pop(0) if self.faults else None
            over_limit = self.requests > self.api_limit
        if fault is not None:
            status, code, message = FAULTS[str(fault)]
            return _error(status, code, message)
        if over_limit:
            return _error(*FAULTS["REQUEST_LIMIT_EXCEEDED"])
        scheme, _, session_id = authorization.partition(" ")
        if scheme not in ("Bearer", "OAuth") or session_id not in self.sessions:
            return _error(*FAULTS["INVALID_SESSION_ID"])
        parts = urlsplit(target)
        route = re.fullmatch(r"/services/data/(v\d+\.\d)/(.*?)/?", parts.path)
        if route is None:
            return _not_found()
        version, rest = route.groups()
        for pattern, methods in self._routes:
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            handler = methods.get(method)
            if handler is None:
                return _error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are " + ",".join(methods),
                )
            request = Request(method, version, parse_qs(parts.query), body, content_type)
            try:
                return handler(request, *match.groups())
            except SoqlError as error:
                return _error(400, error.code, str(error))
            except _Refused as refused:
                return refused.reply
        return _not_found()

    def _rest_query(self, request: Request) -> Reply:
        (soql,) = request.params.get("q", [""])
        return _json(200, self.query(request.version, soql))

    def _rest_query_more(self, request: Request, locator: str, offset: str) -> Reply:
        status, payload = self.query_more(request.version, locator, int(offset))
        return _json(status, payload)

    def _sobjects(self, request: Request) -> Reply:
        return _json(
            200,
            {
                "sobjects": [
                    {"name": name, "keyPrefix": self._key_prefix(table)}
                    for name, table in self.tables.items()
                ]
            },
        )

    def _describe(self, request: Request, name: str) -> Reply:
        return _json(*self.describe(name))

    def query(self, version: str, soql: str) -> dict:
        self.queries.append(soql)
        query = parse_soql(soql)
        table = self._table(query.obj)
        frame = table.frame
        if query.count:
            total = int(table.mask(query.where, frame).sum())
            total = total if query.limit is None else min(total, query.limit)
            return {"totalSize": total, "done": True, "records": []}
        rows = table.select(query, frame)
        records = []
        for index, *values in rows.itertuples(index=True, name=None):
            record: dict[str, Any] = {"attributes": {"type": table.name}}
            if "Id" in frame.columns:
                row_id = json_value(frame.at[index, "Id"])
                record["attributes"]["url"] = (
                    f"/services/data/{version}/sobjects/{table.name}/{row_id}"
                )
            record.update({c: json_value(v) for c, v in zip(rows.columns, values, strict=True)})
            records.append(record)
        locator = f"01g{next(self._locators):015d}"
        with self._lock:
            self._cursors[locator] = records
        return self._page(version, locator, 0)

    def query_more(self, version: str, locator: str, offset: int) -> tuple[int, Any]:
        if locator not in self._cursors or offset > len(self._cursors[locator]):
            return 400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
        return 200, self._page(version, locator, offset)

    def _page(self, version: str, locator: str, offset: int) -> dict:
        records = self._cursors[locator]
        end = offset + max(1, int(self.page_size))
        page = {"totalSize": len(records), "done": end >= len(records)}
        if not page["done"]:
            page["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        page["records"] = records[offset:end]
        return page

    def describe(self, name: str) -> tuple[int, Any]:
        try:
            table = self._table(name)
        except SoqlError:
            return 404, [
                {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
            ]
        fields = [
            {"name": column, "label": column, "type": kind, "nillable": kind != "id"}
            for column, kind in table.types.items()
        ]
        return 200, {
            "name": table.name,
            "label": table.name,
            "keyPrefix": self._key_prefix(table),
            "fields": fields,
        }

    def _table(self, name: str) -> Table:
        for table_name, table in self.tables.items():
            if table_name.lower() == name.lower():
                return table
        raise SoqlError(f"sObject type '{name}' is not supported.", "INVALID_TYPE")

    def _key_prefix(self, table: Table) -> str:
        """The object's 3-character Id prefix: its rows', else the standard one, else a0 + the
        name's first letter (Research_Request__c -> a0R)."""
        if "Id" in table.frame.columns and len(table.frame):
            first = table.frame["Id"].iloc[0]
            if isinstance(first, str) and len(first) >= 3:
                return first[:3]
        return KEY_PREFIXES.get(table.name, "a0" + table.name[:1].upper())

    # ----- Bulk API 2.0 jobs

    def _new_job_id(self) -> str:
        return salesforce_id("750", next(self._ids))

    def _job(self, job_id: str, kind: type[BulkJob]) -> BulkJob:
        job = self._jobs.get(job_id)
        if not isinstance(job, kind):
            raise _Refused(_not_found())
        return job

    def _job_options(self, payload: dict[str, Any]) -> dict[str, str]:
        options = {
            "column_delimiter": payload.get("columnDelimiter") or "COMMA",
            "line_ending": payload.get("lineEnding") or "LF",
        }
        if options["column_delimiter"] not in DELIMITERS:
            raise _Refused(_error(400, "INVALIDJOB", "Invalid column delimiter"))
        if options["line_ending"] not in LINE_ENDINGS:
            raise _Refused(_error(400, "INVALIDJOB", "Invalid line ending"))
        return options

    def _create_query_job(self, request: Request) -> Reply:
        payload = request.json()
        operation, soql = payload.get("operation"), payload.get("query")
        if operation not in ("query", "queryAll"):
            return _error(400, "INVALIDJOB", f"Invalid operation: {operation}")
        if not isinstance(soql, str) or not soql.strip():
            return _error(400, "INVALIDJOB", "A query is required")
        options = self._job_options(payload)
        self.queries.append(soql)
        query = parse_soql(soql)
        if query.count:
            return _error(400, "INVALIDJOB", "Aggregate queries are not supported")
        table = self._table(query.obj)
        frame = table.frame
        columns = table.selected_columns(query)
        job = QueryJob(
            id=self._new_job_id(),
            operation=operation,
            object=table.name,
            version=request.version,
            polls_left=self.bulk_polls_in_progress,
            soql=soql,
            frame=frame,
            rows=table.select_positions(query, frame),
            columns=columns,
            kinds=[table.types[column] for column in columns],
            **options,
        )
        with self._lock:
            self._jobs[job.id] = job
            self.bulk_jobs.append(job)
        return _json(200, job.info(detail=False))

    def _list_jobs(self, request: Request) -> Reply:
        with self._lock:
            jobs = [job.info(detail=False) for job in self._jobs.values()]
        return _json(200, {"done": True, "records": jobs, "nextRecordsUrl": None})

    def _job_info(self, request: Request, job_id: str) -> Reply:
        job = self._job(job_id, BulkJob)
        with self._lock:
            job.poll()
            return _json(200, job.info())

    def _delete_job(self, request: Request, job_id: str) -> Reply:
        job = self._job(job_id, BulkJob)
        with self._lock:
            self._jobs.pop(job.id, None)
        return Reply(204, b"", "text/plain")

    def _patch_job(self, request: Request, job_id: str) -> Reply:
        job = self._job(job_id, BulkJob)
        state = request.json().get("state")
        if state == "Aborted":
            with self._lock:
                if job.state in ("JobComplete", "Failed", "Aborted"):
                    return _error(409, "INVALIDJOBSTATE", f"Job is already {job.state}")
                job.state = job.final_state = "Aborted"
                return _json(200, job.info(detail=False))
        if state == "UploadComplete" and isinstance(job, IngestJob):
            with self._lock:
                if job.state != "Open":
                    return _error(409, "INVALIDJOBSTATE", f"Job is {job.state}, not Open")
                job.state = "UploadComplete"
                job.final_state = "InProgress"  # until processed, even for a concurrent GET
                job.polls_left = self.bulk_polls_in_progress
            try:
                self._run_ingest(job)
            except Exception as error:  # noqa: BLE001 - a job fails, the server stays up
                self._fail_job(job, pd.DataFrame(), f"InvalidBatch : {error}")
            return _json(200, job.info(detail=False))
        return _error(400, "INVALIDJOBSTATE", f"Cannot change the job's state to {state}")

    def _query_results(self, request: Request, job_id: str) -> Reply:
        job = self._job(job_id, QueryJob)
        assert isinstance(job, QueryJob)
        if job.final_state != "JobComplete" or job.polls_left > 0:
            return _error(409, "INVALIDJOBSTATE", f"Job is {job.state}, not JobComplete")
        (locator,) = request.params.get("locator", [""])
        (max_records,) = request.params.get("maxRecords", [str(self.bulk_page_size)])
        try:
            start = int(base64.b64decode(locator + "=" * (-len(locator) % 4))) if locator else 0
            size = int(max_records)
        except ValueError:
            return _error(400, "INVALID_QUERY_LOCATOR", "Invalid locator or maxRecords")
        total = len(job.rows) if job.rows is not None else 0
        if start < 0 or start > total or size < 1:
            return _error(400, "INVALID_QUERY_LOCATOR", "Invalid locator or maxRecords")
        page = job.page(start, size)
        end = start + len(page)
        next_locator = base64.b64encode(str(end).encode()).decode().rstrip("=")
        return Reply(
            200,
            bulk_csv(page, job.kinds, job.delimiter, job.newline),
            "text/csv",
            {
                "Sforce-Locator": next_locator if end < total else "null",
                "Sforce-NumberOfRecords": str(len(page)),
            },
        )

    def _create_ingest_job(self, request: Request) -> Reply:
        payload = request.json()
        operation = payload.get("operation")
        if operation not in ("insert", "update", "delete"):
            return _error(400, "INVALIDJOB", f"Unsupported operation: {operation}")
        if payload.get("contentType", "CSV") != "CSV":
            return _error(400, "INVALIDJOB", "Only CSV content is supported")
        try:
            table = self._table(str(payload.get("object")))
        except SoqlError:
            return _error(400, "INVALIDJOB", f"Unable to find object: {payload.get('object')}")
        job = IngestJob(
            id=self._new_job_id(),
            operation=operation,
            object=table.name,
            version=request.version,
            **self._job_options(payload),
        )
        with self._lock:
            self._jobs[job.id] = job
            self.ingest_jobs.append(job)
        return _json(200, job.info(detail=False))

    def _upload(self, request: Request, job_id: str) -> Reply:
        job = self._job(job_id, IngestJob)
        assert isinstance(job, IngestJob)
        with self._lock:
            if job.state != "Open":
                return _error(409, "INVALIDJOBSTATE", f"Job is {job.state}, not Open")
            if job.upload is not None:
                return _error(
                    400,
                    "BULK_API_ERROR",
                    f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / "
                    "'Delete' the current Job then create a new Job and make sure you only do "
                    "'PUT' once on a given Job.",
                )
            job.upload = request.body
        return Reply(201, b"", "text/plain")

    def _ingest_results(self, request: Request, job_id: str, which: str) -> Reply:
        job = self._job(job_id, IngestJob)
        assert isinstance(job, IngestJob)
        frames = {
            "successfulresults": job.successful,
            "failedresults": job.failed,
            "unprocessedrecords": job.unprocessed,
        }
        default = {
            "successfulresults": ["sf__Id", "sf__Created"],
            "failedresults": ["sf__Id", "sf__Error"],
            "unprocessedrecords": [],
        }
        frame = frames[which.lower()]
        if frame is None:
            frame = pd.DataFrame(columns=default[which.lower()])
        return Reply(200, _text_csv(frame, job.delimiter, job.newline), "text/csv")

    def _run_ingest(self, job: IngestJob) -> None:
        """Apply an uploaded CSV to its table as Salesforce would, row by row in effect but
        column-wise in pandas; the job ends JobComplete (some rows may fail) or Failed."""
        table = self._table(job.object)
        try:
            upload = _read_upload(job.upload or b"", job.delimiter)
        except (ValueError, pd.errors.ParserError) as error:
            self._fail_job(job, pd.DataFrame(), f"InvalidBatch : Failed to parse CSV : {error}")
            return
        unknown = [name for name in upload.columns if str(name).lower() not in table.by_lower]
        if unknown:
            self._fail_job(job, upload, f"InvalidBatch : Field name not found : {unknown[0]}")
            return
        fields = {name: table.column(str(name)) for name in upload.columns}
        count = len(upload)
        errors = np.full(count, None, dtype=object)
        ok = np.ones(count, dtype=bool)

        def fail(rows: np.ndarray, message: Any) -> None:
            rows = rows & ok
            errors[rows] = message[rows] if isinstance(message, np.ndarray) else message
            ok[rows] = False

        raw = {fields[name]: upload[name].to_numpy(dtype=object) for name in upload.columns}
        empty = np.full(count, "", dtype=object)
        with self._write_lock:
            frame = table.frame
            ids = raw.get("Id", empty)
            if job.operation == "insert":
                fail(
                    ids != "",
                    "INVALID_FIELD_FOR_INSERT_UPDATE:cannot specify Id in an insert call:[Id]",
                )
                positions = np.full(count, -1, dtype=np.int64)
            else:
                positions = table.positions_of(ids)
                fail(ids == "", f"MISSING_ARGUMENT:Id not specified in an {job.operation} call:--")
                fail(positions < 0, "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--")
            if self.record_errors:
                injected = pd.Series(ids).map(self.record_errors).to_numpy(dtype=object)
                fail(pd.notna(injected), injected)
            parsed: dict[str, tuple[pd.Series, np.ndarray]] = {}
            if job.operation != "delete":
                for column, values in raw.items():
                    if column == "Id":
                        continue
                    kind = table.types.get(column, "string")
                    parsed[column] = _parse_values(values, kind, frame[column].dtype)
                    bad = parsed[column][1]
                    if bad.any():
                        messages = np.array(
                            [
                                f"INVALID_TYPE_ON_FIELD_IN_RECORD:{column}: value not of "
                                f"required type: {value}:[{column}]"
                                for value in values
                            ],
                            dtype=object,
                        )
                        fail(bad, messages)
            new_ids = ids.copy()
            if job.operation == "update":
                changed = {}
                for column, (values, _) in parsed.items():
                    write = ok & (raw[column] != "")
                    if write.any():
                        changed[column] = _assign(frame[column], positions[write], values[write])
                if changed:
                    table.replace(frame.assign(**changed))
            elif job.operation == "delete":
                table.replace(frame.drop(index=frame.index[positions[ok]]))
            else:
                new_ids = self._insert(table, frame, parsed, ok, empty)
        successful = upload[ok].copy()
        successful.insert(0, "sf__Created", "true" if job.operation == "insert" else "false")
        successful.insert(0, "sf__Id", new_ids[ok])
        failed = upload[~ok].copy()
        failed.insert(0, "sf__Error", errors[~ok])
        failed.insert(0, "sf__Id", ids[~ok] if job.operation != "insert" else "")
        with self._lock:
            job.successful, job.failed = successful, failed
            job.unprocessed = upload.iloc[:0]
            job.processed, job.failed_count = count, int((~ok).sum())
            job.final_state = "Aborted" if job.state == "Aborted" else "JobComplete"

    def _insert(
        self,
        table: Table,
        frame: pd.DataFrame,
        parsed: dict[str, tuple[pd.Series, np.ndarray]],
        ok: np.ndarray,
        empty: np.ndarray,
    ) -> np.ndarray:
        """Append the good rows with new Ids; unsent columns are null, CreatedDate (and
        LastModifiedDate) now unless sent. Returns every row's new Id ("" for failed rows)."""
        prefix = self._key_prefix(table)
        existing = set(frame["Id"].dropna()) if "Id" in frame.columns else set()
        new_ids = empty.copy()
        for row in np.flatnonzero(ok):
            new_id = salesforce_id(prefix, next(self._ids))
            while new_id in existing:
                new_id = salesforce_id(prefix, next(self._ids))
            new_ids[row] = new_id
        added = int(ok.sum())
        now = pd.Timestamp.now(tz="UTC").floor("ms")
        columns: dict[str, Any] = {}
        for column in frame.columns:
            dtype = frame[column].dtype
            if column in parsed:
                values = parsed[column][0][ok].reset_index(drop=True)
            elif column == "Id":
                values = pd.Series(new_ids[ok], dtype=object)
            else:
                values = pd.Series([None] * added, dtype=object)
            if column in ("CreatedDate", "LastModifiedDate") and table.types[column] == "datetime":
                values = pd.Series(values, dtype=object).where(pd.notna(values), now)
            for target in (dtype, _nullable(dtype), object):
                try:
                    columns[column] = pd.Series(values, dtype=object).astype(target)
                    break
                except (TypeError, ValueError):
                    continue
        if added:
            table.replace(pd.concat([frame, pd.DataFrame(columns)], ignore_index=True))
        return new_ids

    def _fail_job(self, job: IngestJob, upload: pd.DataFrame, message: str) -> None:
        with self._lock:
            job.final_state = "Failed"
            job.error_message = message
            job.unprocessed = upload
            job.processed = job.failed_count = 0


def _login_response(url: str, version: str, session_id: str) -> str:
    server_url = f"{url}/services/Soap/u/{version}/{ORG_ID}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{PARTNER_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{url}/services/Soap/m/{version}/{ORG_ID}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{escape(server_url)}</serverUrl>"
        f"<sessionId>{escape(session_id)}</sessionId><userId>{USER_ID}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def _login_fault() -> str:
    message = "Invalid username, password, security token; or user locked out."
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>"
        f"<faultstring>INVALID_LOGIN: {message}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


def _handler_for(server: SalesforceServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            pass

        def _answer(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Sforce-Limit-Info", server.limit_info())
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self, method: str) -> None:
            body = self._body()
            if server.latency:
                time.sleep(server.latency)
            path = urlsplit(self.path).path
            login = re.fullmatch(r".*/services/Soap/u/(\d+\.\d)/?", path)
            if method == "POST" and login:
                status, xml = server.login(body, login.group(1))
                self._answer(Reply(status, xml.encode(), "text/xml; charset=utf-8"))
                return
            authorization = self.headers.get("Authorization", "")
            if method == "POST" and re.fullmatch(r".*/services/oauth2/token/?", path):
                self._answer(server.oauth_token(body, authorization))
                return
            content_type = self.headers.get("Content-Type", "")
            self._answer(server.api(method, self.path, authorization, body, content_type))

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._handle("PUT")

        def do_PATCH(self) -> None:  # noqa: N802
            self._handle("PATCH")

        def do_DELETE(self) -> None:  # noqa: N802
            self._handle("DELETE")

    return Handler


@contextmanager
def running_salesforce_server(
    tables: dict[str, pd.DataFrame], ca_dir: Path, **options: Any
) -> Iterator[SalesforceServer]:
    """Run a SalesforceServer for the `with` block (outside pytest too)."""
    server = SalesforceServer(tables, ca_dir, **options).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def salesforce_server(tmp_path_factory: pytest.TempPathFactory):
    """Start fake Salesforce orgs: salesforce_server(tables, **options) -> SalesforceServer.

    options: field_types={obj: {field: type}}, page_size, bulk_page_size,
    bulk_polls_in_progress, latency, api_limit, username, password, token, consumer_key,
    consumer_secret. Every server started is stopped at teardown.
    """
    servers: list[SalesforceServer] = []

    def start(tables: dict[str, pd.DataFrame], **options: Any) -> SalesforceServer:
        server = SalesforceServer(tables, tmp_path_factory.mktemp("salesforce-ca"), **options)
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


# --------------------------------------------------------------------------- own process


def load_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Every `*.parquet` file or folder of parquet parts in `folder`, named by its stem."""
    tables = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")):
            continue
        if path.suffix == ".parquet" or (path.is_dir() and any(path.rglob("*.parquet"))):
            tables[path.stem] = pd.read_parquet(path)
    return tables


def main(argv: list[str] | None = None) -> None:
    """Serve a folder of parquet tables until killed (for benchmarks); print how to connect as
    one JSON line on stdout."""
    import argparse
    import signal
    import tempfile

    parser = argparse.ArgumentParser(
        prog="python -m tests.salesforce_server", description=main.__doc__
    )
    parser.add_argument("--data", type=Path, required=True, help="folder of *.parquet tables")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--page-size", type=int, default=2000, help="REST query page")
    parser.add_argument("--bulk-page-size", type=int, default=50_000, help="Bulk result page")
    parser.add_argument("--bulk-polls", type=int, default=0, help="InProgress job GETs")
    parser.add_argument("--api-limit", type=int, default=100_000)
    parser.add_argument("--ca-dir", type=Path, default=None, help="where the CA PEM goes")
    args = parser.parse_args(argv)
    ca_dir = args.ca_dir or Path(tempfile.mkdtemp(prefix="salesforce-server-"))
    server = SalesforceServer(
        load_tables(args.data),
        ca_dir,
        latency=args.latency,
        page_size=args.page_size,
        bulk_page_size=args.bulk_page_size,
        bulk_polls_in_progress=args.bulk_polls,
        api_limit=args.api_limit,
    ).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    connection = {
        "url": server.url,
        "domain": server.domain,
        "ca_path": server.ca_path,
        "username": server.username,
        "password": server.password,
        "token": server.token,
        "consumer_key": server.consumer_key,
        "consumer_secret": server.consumer_secret,
        "private_key_path": server.private_key_path,
    }
    print(json.dumps(connection), flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()


if __name__ == "__main__":
    main()
