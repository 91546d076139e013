"""Configuration: `config.yaml` -> nested pydantic settings, every value checked. Each job's
frozen parameters are built from them beside the job (`DedupeParams.from_settings`, ...)."""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .schema import DEFAULT_PHONE_FIELDS
from .times import as_utc, range_problem

DEFAULT_CONFIG_PATH = Path("config.yaml")
# listiq's export profiles: the call list CSV (always written), VICIdial's lead loader file and a
# Genesys Cloud contact list (dialflow/jobs/exports.py writes them).
EXPORT_PROFILES = ("csv", "vicidial", "genesys")

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SQL_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
MATCH_KEYS = ("phone", "name_postal")
# The probabilistic matcher's blocking rules (dialflow/jobs/linkage/blocking.py says what each is).
BLOCKING_RULES = (
    "phone", "name", "postal_word", "name_city", "words_state", "phonetic_city", "postal",
    "first_token", "last_token", "postal_sample", "name_sample", "postal_number", "city_number",
    "postal_street",
)  # fmt: skip
# blocking.py says why these four are left out by default.
DEFAULT_BLOCKING_RULES = tuple(
    rule
    for rule in BLOCKING_RULES
    if rule not in ("name", "postal", "phonetic_city", "words_state")
)


def _identifier(value: str) -> str:
    """Accept a SQL table or column name of letters, digits and underscores."""
    if not _SQL_IDENTIFIER.match(value):
        raise ValueError("must be a table name of letters, digits and underscores")
    return value


def _none_if_empty(value: Any) -> Any:
    """`${DIALFLOW_SMTP_PASSWORD:-}` gives "" when the variable is unset: that means none."""
    return value or None


# A table, object or field name that goes into SQL or SOQL text: letters, digits, underscores.
Identifier = Annotated[str, AfterValidator(_identifier)]
# An optional setting that an unset environment variable leaves empty.
EmptyIsNone = BeforeValidator(_none_if_empty)


# The password of a URL runs from "scheme://user:" to the last "@" of its word (a password with
# an unencoded "@" is masked whole, not half); "password=" and "PWD=" cover libpq and ODBC strings.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*:)"
    r"(?P<password>[^\n]*?)@(?=[^@'\"\s]*(?:['\"\s]|$))"
)
_KEY_PASSWORD = re.compile(r"(?i)\b(?P<head>password|pwd)=(?P<password>[^;&\s'\"]+)")
URL_ENCODING_FIX = "URL-encode the password: urllib.parse.quote(password, safe='') turns @ into %40"
# The Python package to install for a DBAPI module SQLAlchemy could not import.
_DBAPI_PACKAGES = {
    "psycopg": "'psycopg[binary]'",
    "psycopg2": "psycopg2-binary",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
    "mysql": "mysql-connector-python",
    "mariadb": "mariadb",
    "pyodbc": "pyodbc",
    "pymssql": "pymssql",
    "oracledb": "oracledb",
    "cx_Oracle": "cx-Oracle",
    "pg8000": "pg8000",
}


def mask_passwords(text: str) -> str:
    """Return text with the password of every URL (and every password=/PWD= value) as ***.

    The one place secrets of SQL URLs are hidden: config check, config errors and the SQL
    errors of sources all pass through it, so no message can quote a password.
    """
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}***@", text)
    return _KEY_PASSWORD.sub(lambda m: f"{m['head']}=***", text)


def _sqlalchemy_url(value: str) -> str:
    """Accept a SQLAlchemy URL whose driver is installed, so that a run does not fail at the end
    (when it writes its result) for what config check could have said at the start."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("must be a SQLAlchemy URL like sqlite:///path.sqlite") from None
    except ValueError:  # the port: a typo, or what follows an unencoded @ in the password
        raise ValueError(
            f"the port is not a number; write host:5432, and if the password holds @ or :, "
            f"{URL_ENCODING_FIX}"
        ) from None
    if url.username is not None and "@" in f"{url.host or ''}{url.database or ''}":
        # "u:p@ss@host": SQLAlchemy reads the password as "p" and the host as "ss@host".
        raise ValueError(f"the password (or user name) holds an unencoded @; {URL_ENCODING_FIX}")
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise ValueError(
            f"SQLAlchemy has no driver {url.drivername}; use one like sqlite, "
            f"postgresql+psycopg, mysql+pyodbc or mssql+pyodbc"
        ) from None
    if getattr(dialect, "is_async", False):
        raise ValueError(
            f"{url.drivername} is an asyncio driver; DIAL-Flow needs a synchronous one like "
            f"postgresql+psycopg or mysql+pyodbc"
        )
    try:
        dialect.import_dbapi()
    except ModuleNotFoundError as exc:
        package = _DBAPI_PACKAGES.get((exc.name or "").split(".")[0], exc.name)
        raise ValueError(
            f"driver {url.drivername} needs the Python package {package}, which is not "
            f"installed; pip install {package}"
        ) from None
    except ImportError as exc:  # pyodbc without unixODBC: "libodbc.so.2: cannot open ..."
        raise ValueError(
            f"driver {url.drivername} cannot load ({str(exc).splitlines()[0]}); install "
            f"unixODBC (Debian/Ubuntu: sudo apt-get install unixodbc) and the database's "
            f"ODBC driver"
        ) from None
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunSettings(_Section):
    output_dir: Path = Path("output")
    # Octal text, quoted in YAML: "027" (folders 0750, files 0640), "077" owner only, "022" all.
    umask: str = "027"

    @field_validator("umask", mode="before")
    @classmethod
    def _umask_is_octal_text(cls, value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"0?[0-7]{3}", value.strip()):
            raise ValueError(
                'give three octal digits in quotes, e.g. "027" (folders 0750, files 0640)'
            )
        return value.strip()


class ClusterSettings(_Section):
    scheduler: str | None = None
    n_workers: int = Field(2, ge=1, le=512)
    threads_per_worker: int = Field(1, ge=1, le=256)
    memory_limit: str = "4GiB"
    dashboard_address: str = ":8787"
    connect_timeout_seconds: float = Field(10.0, gt=0)
    # A LocalCluster's workers: processes (True), threads of the run's process (False), or with
    # auto threads for input files smaller than in_process_below (cluster.local_processes).
    processes: Literal["auto"] | bool = "auto"
    in_process_below: str = "128MiB"
    # Dask's allowed-failures stops a task whose workers die while running it, but not workers
    # that die before they get one (a limit below an idle worker's own memory) nor workers that
    # pause: these two bound a stage's restarts and no-progress pauses (progress.StageWatch).
    max_worker_restarts: int = Field(10, ge=0)
    max_paused_seconds: float = Field(120.0, gt=0)
    tls_ca_file: Annotated[Path | None, EmptyIsNone] = None
    tls_cert_file: Annotated[Path | None, EmptyIsNone] = None
    tls_key_file: Annotated[Path | None, EmptyIsNone] = None

    @field_validator("tls_ca_file", "tls_cert_file", "tls_key_file")
    @classmethod
    def _tls_file_exists(cls, value: Path | None) -> Path | None:
        """Check now: at connect time ssl says "No such file" without naming which one."""
        if value is not None and not value.is_file():
            raise ValueError(
                "no such file; give the path of a PEM file (relative to the config file's folder)"
            )
        return value

    @model_validator(mode="after")
    def _tls_files_match_the_scheduler(self) -> ClusterSettings:
        """All three TLS files or none; a tls:// scheduler needs them, any other address refuses
        them (rather than silently connecting without the encryption the config asks for)."""
        names = ("tls_ca_file", "tls_cert_file", "tls_key_file")
        missing = [name for name in names if getattr(self, name) is None]
        if 0 < len(missing) < len(names):
            verb = "is" if len(missing) == 1 else "are"
            raise ValueError(
                f"tls_ca_file, tls_cert_file and tls_key_file go together, but "
                f"{' and '.join(missing)} {verb} not set; set all three (PEM files of the "
                f"cluster's CA, this client's certificate and its key) or none"
            )
        tls = not missing
        if self.scheduler and self.scheduler.startswith("tls://") and not tls:
            raise ValueError(
                f"scheduler {self.scheduler} needs tls_ca_file, tls_cert_file and tls_key_file "
                f"(PEM files of the cluster's CA, this client's certificate and its key); "
                f"set them under cluster:"
            )
        if self.scheduler and not self.scheduler.startswith("tls://") and tls:
            raise ValueError(
                f"scheduler {self.scheduler} does not use TLS, but tls_ca_file, tls_cert_file "
                f"and tls_key_file are set; give the scheduler's tls:// address, or set the "
                f"three to null for an unencrypted cluster"
            )
        return self

    @property
    def tls(self) -> bool:
        """True when the TLS files are set: the client, and a LocalCluster, use tls://."""
        return self.tls_ca_file is not None

    @field_validator("scheduler")
    @classmethod
    def _scheduler_is_an_address(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.match(r"^(tcp|tls|inproc|ucx)://\S+$", value):
            raise ValueError("must be an address like tcp://HOST:8786 or tls://HOST:8786, or null")
        return value

    @field_validator("in_process_below")
    @classmethod
    def _size_parses(cls, value: str) -> str:
        from dask.utils import parse_bytes

        try:
            parse_bytes(value)
        except (ValueError, TypeError) as exc:
            raise ValueError("must be a size like 64MiB or 100MB") from exc
        return value

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit_parses(cls, value: str) -> str:
        from dask.utils import parse_bytes

        if value != "auto":
            try:
                parse_bytes(value)
            except (ValueError, TypeError) as exc:
                raise ValueError("must be a size like 4GiB or 2000MB, or auto") from exc
        return value


class SalesforceSettings(_Section):
    auth: Literal["password", "client_credentials", "jwt"] = "password"
    username: Annotated[str | None, EmptyIsNone] = None
    password: Annotated[str | None, EmptyIsNone] = Field(None, repr=False)
    security_token: Annotated[str | None, EmptyIsNone] = Field(None, repr=False)
    consumer_key: Annotated[str | None, EmptyIsNone] = None
    consumer_secret: Annotated[str | None, EmptyIsNone] = Field(None, repr=False)
    private_key_path: Annotated[Path | None, EmptyIsNone] = None
    domain: str = "login"
    api_version: str = Field("59.0", pattern=r"^\d+\.\d$")
    objects: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, dict[str, str]] = Field(default_factory=dict)
    partitions: int = Field(8, ge=1, le=1000)
    retries: int = Field(3, ge=0, le=20)
    retry_base_seconds: float = Field(1.0, ge=0)
    min_remaining_api_calls: int = Field(1000, ge=0)
    bulk_min_records: int = Field(100_000, ge=0)
    bulk_page_records: int = Field(100_000, ge=1, le=1_000_000)
    bulk_poll_seconds: float = Field(1.0, gt=0)
    snapshot: bool = True
    apply_batch_records: int = Field(10_000, ge=1, le=150_000_000)
    ca_bundle: Path | None = None

    @field_validator("objects")
    @classmethod
    def _objects_are_names(cls, value: dict[str, str]) -> dict[str, str]:
        from .schema import TABLES

        for table, name in value.items():
            if table not in TABLES:
                raise ValueError(f"unknown table {table!r}; known tables: {', '.join(TABLES)}")
            _identifier(name)
        return value

    @field_validator("fields")
    @classmethod
    def _fields_are_names(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for columns in value.values():
            for name in columns.values():
                _identifier(name)
        return value


class SourceSettings(_Section):
    kind: Literal["files", "sql", "salesforce"] = "files"
    path: Path = Path("data/demo")
    tables: dict[str, Path] = Field(default_factory=dict)
    csv_blocksize: str = "64MiB"
    parquet_blocksize: str = "16MiB"
    sql_url: str | None = None
    sql_partitions: int = Field(16, ge=1, le=10_000)

    @field_validator("sql_url")
    @classmethod
    def _source_url_parses(cls, value: str | None) -> str | None:
        return None if value in (None, "") else _sqlalchemy_url(value)

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, value: dict[str, Path]) -> dict[str, Path]:
        from .schema import TABLES

        unknown = sorted(set(value) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table {unknown[0]!r}; known tables: {', '.join(TABLES)}")
        return value


class DncSettings(_Section):
    # The National Do Not Call Registry's store (docs/dnc.md): not under source.path, which
    # holds the canonical tables and may be a database or Salesforce instead of a folder.
    path: Path = Path("data/dnc")
    # No registry imported at all: false runs listiq with a warning and `registry: none` in
    # summary.json; true stops it (exit 2), as a stale registry does.
    required: bool = False
    # The explicit override of the 31-day rule: a stale registry is used for call dates up to
    # and including this day, recorded in summary.json. It expires by itself.
    allow_stale_until: date | None = None
    # `dialflow dnc load-sql` writes the registry into this table of sql.url (and the version
    # it holds into `<sql_table>_version`); listiq never reads it (its scrub reads the store).
    sql_table: Identifier = "dnc_registry"


class PhoneSettings(_Section):
    region: str = Field("US", pattern=r"^[A-Z]{2}$")
    fields: tuple[str, ...] = DEFAULT_PHONE_FIELDS

    @field_validator("fields")
    @classmethod
    def _fields_are_identifiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must list at least one phone field")
        if len(set(value)) != len(value):
            raise ValueError("must not list a field twice")
        for field in value:
            if not _SQL_IDENTIFIER.match(field):
                raise ValueError(f"{field!r} is not a field name (letters, digits, underscore)")
        return value


class SqlSettings(_Section):
    enabled: bool = True
    url: str = "sqlite:///output/dialflow.sqlite"
    retention_runs: int | None = Field(None, ge=1)

    @field_validator("url")
    @classmethod
    def _url_parses(cls, value: str) -> str:
        return _sqlalchemy_url(value)


class DedupeSettings(_Section):
    # probabilistic: Fellegi-Sunter matching (blocking, comparison levels, a trained model);
    # exact: records sharing a match key (match_keys), as before it.
    method: Literal["probabilistic", "exact"] = "probabilistic"
    match_keys: tuple[Literal["phone", "name_postal"], ...] = MATCH_KEYS
    phone_field: str | None = None
    postal_digits: int = Field(5, ge=1, le=10)
    legal_suffixes: tuple[str, ...] = (
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "lp",
        "llp",
        "plc",
        "pc",
        "pllc",
    )
    sql_table: Identifier = "dedupe_flagged"
    # The probabilistic method's settings (README "The dedupe job" explains each).
    threshold: float = Field(0.95, gt=0, lt=1)
    review_threshold: float = Field(0.80, gt=0, lt=1)
    blocking_rules: tuple[Literal[BLOCKING_RULES], ...] = DEFAULT_BLOCKING_RULES
    max_block_size: int = Field(1000, ge=2)
    whole_block_size: int = Field(10, ge=2)
    block_window: int = Field(10, ge=2)
    street_block_size: int = Field(4, ge=2)
    max_cluster_size: int = Field(20, ge=2)
    model: Annotated[Path | None, EmptyIsNone] = None
    seed: int = Field(7, ge=0)
    u_pairs: int = Field(200_000, ge=1_000)
    u_sample_records: int = Field(20_000, ge=100)
    prior_recall: float = Field(0.7, gt=0, le=1)

    @field_validator("match_keys")
    @classmethod
    def _keys_nonempty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError(
                f"must list each of {', '.join(MATCH_KEYS)} at most once, at least one"
            )
        return value

    @field_validator("blocking_rules")
    @classmethod
    def _rules_nonempty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError(
                f"must list each of {', '.join(BLOCKING_RULES)} at most once, at least one"
            )
        return value

    @field_validator("model")
    @classmethod
    def _model_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(
                "no such file; give the model.json of an earlier dedupe run (relative to the "
                "config file's folder), or leave it empty to train the model in every run"
            )
        return value

    @model_validator(mode="after")
    def _review_below_merge(self) -> DedupeSettings:
        if self.review_threshold > self.threshold:
            raise ValueError(
                f"review_threshold {self.review_threshold} is above threshold {self.threshold}; "
                "pairs between the two go to review, so review_threshold must be the lower"
            )
        return self


class AutoflushSettings(_Section):
    dispositions: dict[
        Literal["wrong_number", "disconnected", "contact", "neutral"], tuple[str, ...]
    ] = {
        "wrong_number": ("wrong number", "wn", "wrong #", "wrong party", "wrong person"),
        "disconnected": (
            "disconnected",
            "dc",
            "adc",
            "not in service",
            "number not in service",
            "nis",
            "disconnected number",
            "invalid number",
        ),
        "contact": (
            "contact",
            "connected",
            "appointment set",
            "not interested",
            "call back",
            "callback",
            "hung up",
            "do not call request",
            "interested",
            "sale",
            "right party contact",
            "rpc",
        ),
        "neutral": (
            "no answer",
            "busy",
            "voicemail",
            "left message",
            "fax tone",
            "dropped",
            "answering machine",
            "machine",
        ),
    }
    wrong_number_threshold: int = Field(2, ge=1)
    disconnected_threshold: int = Field(3, ge=1)
    time_span_minimum_days: float = Field(90, ge=0)
    reset_on_later_contact: bool = True
    since: datetime | None = None
    sql_table: Identifier = "autoflush_cleanup"

    @field_validator("since", mode="before")
    @classmethod
    def _empty_since_is_none(cls, value: Any) -> Any:
        """`${DIALFLOW_SINCE:-}` gives "" when the variable is unset: that means no start."""
        return value or None

    @field_validator("since")
    @classmethod
    def _since_is_utc_and_sane(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        stamp = as_utc(value)
        problem = range_problem(stamp)
        if problem:
            raise ValueError(problem)
        return stamp.to_pydatetime()

    @field_validator("dispositions")
    @classmethod
    def _each_disposition_once(
        cls, value: dict[str, tuple[str, ...]]
    ) -> dict[str, tuple[str, ...]]:
        seen: dict[str, str] = {}
        for category, raw_values in value.items():
            for raw in raw_values:
                key = raw.strip().casefold()
                if key in seen and seen[key] != category:
                    raise ValueError(
                        f"{raw!r} is listed under both {seen[key]} and {category}; keep one"
                    )
                seen[key] = category
        return value


class CallingHours(_Section):
    """Local clock hours (0-24) inside which calling is allowed."""

    start: int = Field(8, ge=0, le=24)
    end: int = Field(21, ge=0, le=24)

    @model_validator(mode="after")
    def _start_before_end(self) -> CallingHours:
        if self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self


class EbrSettings(_Section):
    """The Telemarketing Sales Rule's established business relationship exemption: Account
    date fields whose recent value keeps a registry-listed number callable."""

    purchase_field: Identifier | None = None  # the last purchase (or transaction) date
    purchase_months: int = Field(18, ge=1, le=120)
    inquiry_field: Identifier | None = None  # the last inquiry (or application) date
    inquiry_months: int = Field(3, ge=1, le=120)

    @model_validator(mode="after")
    def _names_a_field(self) -> EbrSettings:
        if self.purchase_field is None and self.inquiry_field is None:
            raise ValueError(
                "names no Account date field; set purchase_field and/or inquiry_field, or "
                "leave listiq.ebr null (no exemption)"
            )
        if self.purchase_field is not None and self.purchase_field == self.inquiry_field:
            raise ValueError("purchase_field and inquiry_field name the same field")
        return self


class ListiqSettings(_Section):
    target_total_records: int = Field(10_000, ge=0)
    recent_share: float = Field(0.7, ge=0, le=1)
    recent_window_hours: float = Field(48, gt=0)
    contact_days_threshold: float = Field(30, ge=0)
    seed: int | None = Field(None, ge=0)
    calling_hours: CallingHours = CallingHours()
    # Operator's narrowing on top of the state_calling_rules reference table (which holds FL,
    # MD, OK, WA 8:00-20:00 and the other states' rules): never widens a state's window.
    state_calling_hours: dict[str, CallingHours] = {}
    sql_table: Identifier = "call_list"
    # Files written beside the call list CSV, which is always written (`csv`): see EXPORT_PROFILES.
    exports: tuple[str, ...] = ("csv",)
    # Established business relationship exemption from the DNC registry (off: null).
    ebr: EbrSettings | None = None
    # random: inside each state and bucket, the seeded sample; contact_rate: the records the
    # contact model (docs/contact-model.md) rates most likely to answer, each with its best hour.
    selection: Literal["random", "contact_rate"] = "random"
    # contact_rate only: a contact_model.json of an earlier listiq run, pinned; null = fit it
    # from the Task history in every run.
    contact_model: Annotated[Path | None, EmptyIsNone] = None
    # The DNC scrub's partition size: registry numbers plus 16 per candidate in one scrub task
    # (jobs/scrub.py PARTITION_WEIGHT; 8 million numbers are 64 MB). Smaller: more, lighter
    # tasks; an area code is never split.
    scrub_partition_numbers: int = Field(8_000_000, ge=1)
    # default: the seeded shuffle; best_hour (contact_rate only): by when each row's
    # BestHourLocal begins, earliest first, for a dialer working down the list.
    sort: Literal["default", "best_hour"] = "default"

    @model_validator(mode="after")
    def _best_hour_needs_contact_rate(self) -> ListiqSettings:
        if self.sort == "best_hour" and self.selection != "contact_rate":
            raise ValueError(
                "sort: best_hour needs selection: contact_rate (only it suggests an hour); set "
                "listiq.selection: contact_rate or listiq.sort: default"
            )
        return self

    @field_validator("exports", mode="before")
    @classmethod
    def _exports_are_known_profiles(cls, value: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(
                f"give a list of export profiles, e.g. [csv, vicidial]; known: "
                f"{', '.join(EXPORT_PROFILES)}"
            )
        seen = set()
        for profile in value:
            if profile not in EXPORT_PROFILES:
                raise ValueError(
                    f"{profile!r} is not an export profile; use one or more of "
                    f"{', '.join(EXPORT_PROFILES)}"
                )
            if profile in seen:
                raise ValueError(f"{profile!r} is listed twice; list each profile once")
            seen.add(profile)
        return tuple(value)

    @field_validator("contact_model")
    @classmethod
    def _contact_model_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(
                "no such file; give the contact_model.json of an earlier listiq run (relative "
                "to the config file's folder), or leave it empty to fit the model in every run"
            )
        return value

    @field_validator("state_calling_hours")
    @classmethod
    def _states_are_codes(cls, value: dict[str, CallingHours]) -> dict[str, CallingHours]:
        for state in value:
            if not re.match(r"^[A-Z]{2}$", state):
                raise ValueError(f"{state!r} is not a two-letter state code like FL")
        return value


JobName = Literal["dedupe", "autoflush", "infoflow", "listiq"]
INFOFLOW_SIGNALS = ("address_changed", "reached_before", "numbers_flushed", "new_account")


class InfoflowSettings(_Section):
    research_frequency_days: float = Field(90, ge=0)
    max_requests: int = Field(500, ge=0)
    address_change_days: float = Field(180, ge=0)
    contact_lookback_days: float = Field(365, ge=0)
    new_account_days: float = Field(365, ge=0)
    numbers_flushed_cap: int = Field(3, ge=1)
    weights: dict[Literal[INFOFLOW_SIGNALS], float] = {  # type: ignore[valid-type]
        "address_changed": 3.0,
        "reached_before": 2.0,
        "numbers_flushed": 1.0,
        "new_account": 1.0,
    }
    sql_table: Identifier = "research_requests"
    request_status: str = "New"


_EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


def _email_address(value: str) -> str:
    """Catch typos early with a deliberately simple check; the mail server has the last word."""
    if not _EMAIL_ADDRESS.match(value):
        raise ValueError("must be an email address like ops@example.com (one @, no spaces)")
    return value


EmailAddress = Annotated[str, AfterValidator(_email_address)]


class EmailSettings(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: Annotated[str | None, EmptyIsNone] = None
    # repr=False keeps it out of tracebacks and logs.
    password: Annotated[str | None, EmptyIsNone] = Field(None, repr=False)
    ca_file: Path | None = None
    timeout_seconds: float = Field(30, gt=0)
    sender: EmailAddress = "dialflow@localhost"
    recipients: tuple[EmailAddress, ...] = ()
    job_recipients: dict[JobName, tuple[EmailAddress, ...]] = Field(default_factory=dict)
    attach_csv: dict[JobName, bool] = Field(default_factory=lambda: {"infoflow": True})
    max_attachment_bytes: int = Field(10 * 1024 * 1024, ge=1)


class Settings(_Section):
    run: RunSettings = RunSettings()
    cluster: ClusterSettings = ClusterSettings()
    source: SourceSettings = SourceSettings()
    salesforce: SalesforceSettings = SalesforceSettings()
    phones: PhoneSettings = PhoneSettings()
    sql: SqlSettings = SqlSettings()
    dedupe: DedupeSettings = DedupeSettings()
    autoflush: AutoflushSettings = AutoflushSettings()
    listiq: ListiqSettings = ListiqSettings()
    infoflow: InfoflowSettings = InfoflowSettings()
    email: EmailSettings = EmailSettings()
    dnc: DncSettings = DncSettings()

    @model_validator(mode="after")
    def _dedupe_phone_field_is_a_phone_field(self) -> Settings:
        """Checked with the config, not when dedupe starts: `config check` must say it."""
        field = self.dedupe.phone_field
        if field is not None and field not in self.phones.fields:
            raise ValueError(
                f"dedupe.phone_field = {field!r} is not one of phones.fields "
                f"({', '.join(self.phones.fields)}); name one of them or leave it null"
            )
        return self


def interpolate(node: Any, where: str, path: str = "") -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in every string with the environment's value.

    Config files and job files both go through it; `where` (the file) and `path` (the key)
    name the place in the error when a variable is unset.
    """
    if isinstance(node, dict):
        return {
            k: interpolate(v, where, f"{path}.{k}" if path else str(k)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [interpolate(v, where, f"{path}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is None:
            if default is None:
                raise ConfigError(
                    f"{where}: {path} uses ${{{name}}}, which is not set in the environment; "
                    f"export {name} or write ${{{name}:-default}}"
                )
            return default
        return value

    return _ENV_REFERENCE.sub(substitute, node)


def _describe_validation_error(where: str, exc: ValidationError) -> str:
    """Return the one line of the first error, passwords masked (a bad sql.url is quoted)."""
    error = exc.errors()[0]
    path = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return (
            f"{where}: unknown setting {path}; remove it or check its spelling against config.yaml"
        )
    given = error.get("input")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "value_error" and isinstance(given, dict):
        # A check across settings: its message names them; the whole section (or the whole
        # config) repeated as "= {...}" would only hide it.
        return mask_passwords(f"{where}: {path}: {message}" if path else f"{where}: {message}")
    return mask_passwords(f"{where}: {path} = {given!r} is not allowed: {message}")


# The settings that name a file or folder: relative ones are relative to the config file's
# folder (`resolve_config_paths`). sql.url and source.sql_url are resolved too when they name a
# SQLite file; source.tables maps tables to paths.
PATH_SETTINGS = (
    "run.output_dir", "source.path", "dnc.path", "cluster.tls_ca_file", "cluster.tls_cert_file",
    "cluster.tls_key_file", "salesforce.private_key_path", "salesforce.ca_bundle",
    "email.ca_file", "dedupe.model", "listiq.contact_model",
)  # fmt: skip
SQLITE_URL_SETTINGS = ("sql.url", "source.sql_url")


def _absolute(value: Any, base: Path) -> Any:
    """Return a relative path (text) as an absolute one under `base`; anything else as it is."""
    if isinstance(value, (str, Path)) and str(value) and not Path(value).expanduser().is_absolute():
        return os.path.normpath(base / Path(value))
    return value


def _absolute_sqlite_url(value: Any, base: Path) -> Any:
    """Return a SQLite URL whose file is relative with the file made absolute under `base`."""
    if not isinstance(value, str) or not value.startswith("sqlite"):
        return value
    from sqlalchemy.engine import make_url

    try:
        url = make_url(value)
    except Exception:  # noqa: BLE001 - not a URL: validation says so, with the value as given
        return value
    database = url.database
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return value
    if Path(database).is_absolute():
        return value
    database = os.path.normpath(base / database)
    return url.set(database=database).render_as_string(hide_password=False)


def _default_of(dotted: str) -> Any:
    """Return a setting's built-in default (a dotted key of PATH_SETTINGS/SQLITE_URL_SETTINGS)."""
    section, key = dotted.split(".")
    return getattr(Settings.model_fields[section].default, key)


def resolve_config_paths(raw: dict[str, Any], base: Path) -> None:
    """Make the relative paths of a config file's raw settings absolute against `base` (its
    folder), in place, the defaults of the path settings it leaves out included: the folder of
    config.yaml, not the working directory, is what they are relative to."""
    for dotted in (*PATH_SETTINGS, *SQLITE_URL_SETTINGS):
        section, key = dotted.split(".")
        tree = raw.setdefault(section, {})
        if not isinstance(tree, dict):
            continue  # not a section: validation says so
        value = tree[key] if key in tree else _default_of(dotted)
        if value is None or value == "":
            continue
        resolved = (
            _absolute_sqlite_url(value, base) if dotted in SQLITE_URL_SETTINGS
            else _absolute(value, base)
        )  # fmt: skip
        if key in tree or resolved != value:
            tree[key] = resolved
    tables = raw.get("source", {}).get("tables") if isinstance(raw.get("source"), dict) else None
    if isinstance(tables, dict):
        raw["source"]["tables"] = {table: _absolute(path, base) for table, path in tables.items()}


def resolve_override_paths(overrides: dict[str, Any], base: Path) -> dict[str, Any]:
    """Return dotted overrides (a job file's) with their relative paths made absolute under
    `base` (the job file's folder)."""
    resolved = {}
    for dotted, value in overrides.items():
        if dotted in PATH_SETTINGS:
            value = _absolute(value, base)
        elif dotted in SQLITE_URL_SETTINGS:
            value = _absolute_sqlite_url(value, base)
        resolved[dotted] = value
    return resolved


def config_file(path: Path | None) -> Path | None:
    """Return the config file a command reads (absolute), or None for the built-in defaults."""
    chosen = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    return chosen.resolve() if chosen.exists() else None


def config_sha256(settings: Settings) -> str:
    """Return a hash of the resolved settings with every secret masked (`masked_settings`): two
    runs with the same hash ran with the same settings (secrets aside)."""
    import hashlib
    import json

    text = json.dumps(masked_settings(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_settings(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Load, interpolate and validate a config file; with no file at the default path, use defaults.

    Args:
        path: the YAML file; None means `config.yaml` in the working directory, if it exists.
        overrides: dotted keys applied over the file (from the command line or a job file);
            their relative paths stay relative to the working directory.

    Relative paths of a config file, and those of the defaults it leaves out, are made absolute
    against the file's folder (`resolve_config_paths`), so a run reads the same data from any
    working directory (cron, `submit`).
    """
    explicit = path is not None
    path = Path(path) if explicit else DEFAULT_CONFIG_PATH
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path}: cannot read the config file ({exc}); fix its permissions"
            ) from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}: not valid YAML{at}; fix the syntax") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(
                f"{path}: the top level must be a mapping of sections (run, cluster, ...)"
            )
        raw = loaded or {}
    elif explicit:
        raise ConfigError(f"{path}: config file not found; pass an existing file with --config")
    raw = interpolate(raw, str(path))
    if path.exists():
        resolve_config_paths(raw, path.resolve().parent)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value, str(path))
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        where = str(path)
        failed = ".".join(str(part) for part in exc.errors()[0]["loc"])
        overridden = [k for k in overrides or {} if failed == k or failed.startswith(k + ".")]
        if overridden:  # the command line's (or a job file's) value, not the file's
            where = f"{path} with the override {overridden[0]}"
        raise ConfigError(_describe_validation_error(where, exc)) from exc


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    *parents, leaf = dotted.split(".")
    for depth, part in enumerate(parents):
        tree = tree.setdefault(part, {})
        if not isinstance(tree, dict):
            section = ".".join(parents[: depth + 1])
            raise ConfigError(
                f"{where}: {section} is a single value, so {dotted} cannot be set below it; "
                f"make {section} a section or override {section} itself"
            )
    tree[leaf] = value


def setting_key_problem(dotted: str) -> str | None:
    """Return why a dotted key (a job file's override) names no setting, or None when it does.

    Sections are followed down to a single value; below a mapping setting (salesforce.objects,
    email.job_recipients, ...) any key is the mapping's own and is checked with the value.
    """
    model: type[BaseModel] = Settings
    parts = dotted.split(".")
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        if part not in model.model_fields:
            known = ", ".join(model.model_fields)
            return f"{here} is not a setting; known here: {known}"
        annotation = model.model_fields[part].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            continue
        if depth + 1 < len(parts) and getattr(annotation, "__origin__", None) is not dict:
            return (
                f"{here} is a single value, so {dotted} cannot be set below it; "
                f"override {here} itself"
            )
        return None
    return None


def masked_settings(settings: Settings) -> dict[str, Any]:
    """Return the effective settings as plain data with every secret hidden."""
    data = settings.model_dump(mode="json")
    data["sql"]["url"] = mask_passwords(settings.sql.url)
    if settings.email.password is not None:
        data["email"]["password"] = "***"
    for secret in ("password", "security_token", "consumer_secret"):
        if getattr(settings.salesforce, secret) is not None:
            data["salesforce"][secret] = "***"
    if settings.source.sql_url:
        data["source"]["sql_url"] = mask_passwords(settings.source.sql_url)
    return data
