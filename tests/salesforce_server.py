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
from typing import Any
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
        fields = [self.name()]
        while self.punct(","):
            fields.append(self.name())
        self.expect("from")
        query = Query(obj=self.name(), fields=fields)
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
    """One object: a frame plus describe() types, with case-insensitive field lookup."""

    def __init__(self, name: str, frame: pd.DataFrame, types: dict[str, str] | None) -> None:
        self.name = name
        self.frame = frame.reset_index(drop=True)
        self.types = {column: field_type(column, frame[column]) for column in frame.columns}
        self.types.update(types or {})
        self.by_lower = {column.lower(): column for column in frame.columns}

    def column(self, name: str) -> str:
        try:
            return self.by_lower[name.lower()]
        except KeyError:
            raise SoqlError(
                f"No such column '{name}' on entity '{self.name}'.", "INVALID_FIELD"
            ) from None

    def mask(self, node: Any) -> np.ndarray:
        if node is None:
            return np.ones(len(self.frame), dtype=bool)
        if node[0] == "and":
            return self.mask(node[1]) & self.mask(node[2])
        if node[0] == "or":
            return self.mask(node[1]) | self.mask(node[2])
        if node[0] == "not":
            return ~self.mask(node[1])
        _, name, op, literals = node
        column = self.column(name)
        kind = self.types[column]
        values = [_coerce(literal, kind, column) for literal in literals]
        return _compare(self.frame[column], kind, op, values)

    def select(self, query: Query) -> pd.DataFrame:
        columns = [self.column(name) for name in query.fields]
        rows = self.frame[self.mask(query.where)]
        for name, ascending, nulls_first in reversed(query.order):  # stable: last key first
            first = ascending if nulls_first is None else nulls_first
            rows = rows.sort_values(
                self.column(name),
                ascending=ascending,
                kind="stable",
                na_position="first" if first else "last",
            )
        if query.limit is not None:
            rows = rows.head(query.limit)
        return rows[list(dict.fromkeys(columns))]


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


# --------------------------------------------------------------------------- the server


class SalesforceServer:
    """A running fake org. Attributes tests may read or change while it runs:

    domain      "127.0.0.1:PORT/sf", for Salesforce(domain=...)
    url         "https://127.0.0.1:PORT";  instance: "127.0.0.1:PORT"
    ca_path     PEM of the CA that signed the server's certificate (REQUESTS_CA_BUNDLE / verify)
    username, password, token   the only credentials the SOAP login accepts
    tables      {object name: Table}; set_table() replaces one
    requests    REST API calls answered so far (the `used` of Sforce-Limit-Info)
    logins      SOAP logins answered (good or bad); not counted in `requests`
    api_limit   the `limit` of Sforce-Limit-Info; past it every call is REQUEST_LIMIT_EXCEEDED
    page_size   records per query page (default 2000)
    latency     seconds slept before answering each request
    faults      answered instead of the next REST calls, first first: "500",
                "REQUEST_LIMIT_EXCEEDED" or "INVALID_SESSION_ID" (logins never take a fault)
    queries     every SOQL string received, in order
    sessions    the valid session ids; expire_sessions() empties it
    """

    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        ca_dir: Path,
        *,
        field_types: dict[str, dict[str, str]] | None = None,
        page_size: int = 2000,
        latency: float = 0.0,
        api_limit: int = 100_000,
        username: str = "dialer@example.com",
        password: str = "pw-Sales-f0rce",
        token: str = "TOKEN123abc",
    ) -> None:
        field_types = field_types or {}
        self.tables = {
            name: Table(name, frame, field_types.get(name)) for name, frame in tables.items()
        }
        self.page_size = page_size
        self.latency = latency
        self.api_limit = api_limit
        self.username, self.password, self.token = username, password, token
        self.faults: list[str] = []
        self.queries: list[str] = []
        self.sessions: set[str] = set()
        self.requests = 0
        self.logins = 0
        self._cursors: dict[str, list[dict]] = {}
        self._lock = threading.Lock()
        self._locators = itertools.count(1)

        ca = trustme.CA()
        ca_dir.mkdir(parents=True, exist_ok=True)
        self.ca_path = str(ca_dir / "salesforce-ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
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

    # ----- request handling (called from handler threads)

    def limit_info(self) -> str:
        return f"api-usage={self.requests}/{self.api_limit}"

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
        session_id = f"{ORG_ID}!{secrets.token_urlsafe(24)}"
        with self._lock:
            self.sessions.add(session_id)
        return 200, _login_response(self.url, version, session_id)

    def api(self, method: str, target: str, authorization: str) -> tuple[int, Any]:
        with self._lock:
            self.requests += 1
            fault = self.faults.pop(0) if self.faults else None
            over_limit = self.requests > self.api_limit
        if fault is not None:
            status, code, message = FAULTS[str(fault)]
            return status, [{"message": message, "errorCode": code}]
        if over_limit:
            status, code, message = FAULTS["REQUEST_LIMIT_EXCEEDED"]
            return status, [{"message": message, "errorCode": code}]
        scheme, _, session_id = authorization.partition(" ")
        if scheme not in ("Bearer", "OAuth") or session_id not in self.sessions:
            status, code, message = FAULTS["INVALID_SESSION_ID"]
            return status, [{"message": message, "errorCode": code}]
        if method != "GET":
            return 405, [
                {
                    "message": f"HTTP Method '{method}' not allowed",
                    "errorCode": "METHOD_NOT_ALLOWED",
                }
            ]
        parts = urlsplit(target)
        route = re.fullmatch(r"/services/data/(v\d+\.\d)/(.*?)/?", parts.path)
        if route is None:
            return _not_found()
        version, rest = route.groups()
        try:
            if rest in ("query", "queryAll"):
                (soql,) = parse_qs(parts.query).get("q", [""])
                return 200, self.query(version, soql)
            more = re.fullmatch(r"(?:query|queryAll)/(01g\w+)-(\d+)", rest)
            if more:
                return self.query_more(version, more.group(1), int(more.group(2)))
            if rest == "sobjects":
                return 200, {"sobjects": [{"name": name} for name in self.tables]}
            describe = re.fullmatch(r"sobjects/(\w+)/describe", rest)
            if describe:
                return self.describe(describe.group(1))
        except SoqlError as error:
            return 400, [{"message": str(error), "errorCode": error.code}]
        return _not_found()

    def query(self, version: str, soql: str) -> dict:
        self.queries.append(soql)
        query = parse_soql(soql)
        table = self._table(query.obj)
        rows = table.select(query)
        records = []
        for index, *values in rows.itertuples(index=True, name=None):
            record: dict[str, Any] = {"attributes": {"type": table.name}}
            if "Id" in table.frame.columns:
                row_id = json_value(table.frame.at[index, "Id"])
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
            return _not_found()
        fields = [
            {"name": column, "label": column, "type": kind, "nillable": kind != "id"}
            for column, kind in table.types.items()
        ]
        return 200, {"name": table.name, "label": table.name, "fields": fields}

    def _table(self, name: str) -> Table:
        for table_name, table in self.tables.items():
            if table_name.lower() == name.lower():
                return table
        raise SoqlError(f"sObject type '{name}' is not supported.", "INVALID_TYPE")


def _not_found() -> tuple[int, Any]:
    return 404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


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

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Sforce-Limit-Info", server.limit_info())
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self, method: str) -> None:
            body = self._body()
            if server.latency:
                time.sleep(server.latency)
            login = re.fullmatch(r".*/services/Soap/u/(\d+\.\d)/?", urlsplit(self.path).path)
            if method == "POST" and login:
                status, xml = server.login(body, login.group(1))
                self._answer(status, xml.encode(), "text/xml; charset=utf-8")
                return
            status, payload = server.api(method, self.path, self.headers.get("Authorization", ""))
            self._answer(status, json.dumps(payload).encode(), "application/json;charset=UTF-8")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

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

    options: field_types={obj: {field: type}}, page_size, latency, api_limit, username,
    password, token. Every server started is stopped at teardown.
    """
    servers: list[SalesforceServer] = []

    def start(tables: dict[str, pd.DataFrame], **options: Any) -> SalesforceServer:
        server = SalesforceServer(tables, tmp_path_factory.mktemp("salesforce-ca"), **options)
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()
