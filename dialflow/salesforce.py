"""One connection to a Salesforce org, shared by the source, the write-back and `salesforce check`.

Login is simple-salesforce's, with one of three flows: username + password + security token
(SOAP), OAuth 2.0 client credentials (consumer key + secret, needs a My Domain) or the OAuth 2.0
JWT bearer flow (consumer key + private key file + username). Secrets come from the environment
(config.yaml reads them from DIALFLOW_SF_*) and never reach a log line, an error or a task's repr.

Every API call goes through `Connection.call`: 5xx answers, REQUEST_LIMIT_EXCEEDED, timeouts and
dropped connections are retried with exponential backoff and full jitter; an expired session
(INVALID_SESSION_ID) is logged in again once; anything else is one line with Salesforce's code.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import DialflowError, InputError

if TYPE_CHECKING:
    import requests
    from simple_salesforce import Salesforce

    from .config import SalesforceSettings

T = TypeVar("T")

# The environment variables config.yaml reads each secret from, for error messages.
SECRET_VARIABLES = {
    "username": "DIALFLOW_SF_USERNAME",
    "password": "DIALFLOW_SF_PASSWORD",
    "security_token": "DIALFLOW_SF_TOKEN",
    "consumer_key": "DIALFLOW_SF_CONSUMER_KEY",
    "consumer_secret": "DIALFLOW_SF_CONSUMER_SECRET",
    "private_key_path": "DIALFLOW_SF_PRIVATE_KEY",
}
NEEDED_FOR_AUTH = {
    "password": ("username", "password", "security_token"),
    "client_credentials": ("consumer_key", "consumer_secret"),
    "jwt": ("username", "consumer_key", "private_key_path"),
}


def http_session(ca_bundle: str | None) -> requests.Session:
    """Return an HTTP session that trusts `ca_bundle` when given (requests would otherwise let
    REQUESTS_CA_BUNDLE from the environment override it)."""
    import requests

    session = requests.Session()
    if ca_bundle:
        session.verify = ca_bundle
        session.trust_env = False
    return session


@dataclass(frozen=True)
class Credentials:
    """What a login needs. Travels to the workers so they can log in again when a session
    expires; its repr names only the flow and the domain."""

    auth: str
    domain: str
    version: str
    ca_bundle: str | None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    private_key_path: str | None = None

    @classmethod
    def from_settings(cls, config: SalesforceSettings) -> Credentials:
        """Return the credentials of `config`, or stop naming the missing settings."""
        missing = [name for name in NEEDED_FOR_AUTH[config.auth] if not getattr(config, name)]
        if missing:
            raise InputError(
                f"salesforce.auth {config.auth} needs "
                + ", ".join(f"salesforce.{name}" for name in missing)
                + "; set "
                + ", ".join(SECRET_VARIABLES[name] for name in missing)
                + " in the environment"
            )
        return cls(
            auth=config.auth,
            domain=config.domain,
            version=config.api_version,
            ca_bundle=str(config.ca_bundle) if config.ca_bundle else None,
            **{name: _text(getattr(config, name)) for name in NEEDED_FOR_AUTH[config.auth]},
        )

    def __repr__(self) -> str:
        return f"Credentials({self.auth} at {self.domain})"

    def who(self) -> str:
        return self.username or f"consumer key …{(self.consumer_key or '')[-4:]}"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def login(
    credentials: Credentials, retries: int = 3, retry_base_seconds: float = 1.0
) -> Connection:
    """Log in with the configured flow; stop with Salesforce's reason in one line."""
    import requests
    from simple_salesforce import Salesforce
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    options: dict[str, Any] = {
        "password": {
            "username": credentials.username,
            "password": credentials.password,
            "security_token": credentials.security_token,
        },
        "client_credentials": {
            "consumer_key": credentials.consumer_key,
            "consumer_secret": credentials.consumer_secret,
        },
        "jwt": {
            "username": credentials.username,
            "consumer_key": credentials.consumer_key,
            "privatekey_file": credentials.private_key_path,
        },
    }[credentials.auth]
    try:
        client = Salesforce(
            domain=credentials.domain,
            version=credentials.version,
            session=http_session(credentials.ca_bundle),
            **options,
        )
    except SalesforceAuthenticationFailed as exc:
        raise DialflowError(
            f"Salesforce login ({credentials.auth}) as {credentials.who()} at "
            f"{credentials.domain} failed ({exc.code}: {exc.message}); check the credentials "
            f"and salesforce.domain"
        ) from None
    except requests.RequestException as exc:
        raise DialflowError(
            f"Salesforce login at {credentials.domain} failed ({type(exc).__name__}); "
            f"check salesforce.domain and the network"
        ) from None
    except OSError as exc:  # the JWT flow reads the private key file
        raise InputError(
            f"salesforce.private_key_path {credentials.private_key_path}: {exc.strerror}; "
            f"point DIALFLOW_SF_PRIVATE_KEY at the connected app's PEM key"
        ) from None
    return Connection(
        f"https://{client.sf_instance}",
        client.session_id,
        credentials,
        retries,
        retry_base_seconds,
    )


@dataclass(frozen=True)
class Connection:
    """A logged-in session: the instance, the session id and how to log in again."""

    instance_url: str
    session_id: str
    credentials: Credentials
    retries: int = 3
    retry_base_seconds: float = 1.0

    @classmethod
    def from_settings(cls, config: SalesforceSettings) -> Connection:
        return login(Credentials.from_settings(config), config.retries, config.retry_base_seconds)

    def client(self) -> Salesforce:
        from simple_salesforce import Salesforce

        return Salesforce(
            instance_url=self.instance_url,
            session_id=self.session_id,
            version=self.credentials.version,
            session=http_session(self.credentials.ca_bundle),
        )

    def call(self, request: Callable[[Any], T], what: str) -> T:
        """Run `request(client)`; retry transient faults with backoff and full jitter, log in
        again once when the session has expired, and fail any other error in one line."""
        import requests
        from simple_salesforce.exceptions import (
            SalesforceError,
            SalesforceExpiredSession,
            SalesforceGeneralError,
            SalesforceRefusedRequest,
        )

        connection, logged_in_again = self, False
        client = connection.client()
        attempt = 0
        while True:
            try:
                return request(client)
            except SalesforceExpiredSession as exc:
                if logged_in_again:
                    code, message = error_code_and_message(exc)
                    raise DialflowError(
                        f"Salesforce {what} failed: the session expired again right after a "
                        f"new login ({code}: {message})"
                    ) from None
                connection, logged_in_again = connection.renewed(), True
                client = connection.client()
            except (SalesforceGeneralError, SalesforceRefusedRequest, requests.Timeout,
                    requests.ConnectionError) as exc:  # fmt: skip
                code, message = error_code_and_message(exc)
                transient = not isinstance(exc, SalesforceRefusedRequest) or (
                    code == "REQUEST_LIMIT_EXCEEDED"
                )
                if not transient or attempt == self.retries:
                    raise DialflowError(
                        f"Salesforce {what} failed after {attempt + 1} attempt(s) "
                        f"({code}: {message}); see salesforce.retries"
                    ) from None
                time.sleep(random.uniform(0, self.retry_base_seconds * 2**attempt))
                attempt += 1
            except SalesforceError as exc:
                code, message = error_code_and_message(exc)
                raise DialflowError(f"Salesforce {what} failed ({code}: {message})") from None

    def renewed(self) -> Connection:
        """Log in again with the same credentials (the session expired)."""
        fresh = login(self.credentials, self.retries, self.retry_base_seconds)
        return replace(self, instance_url=fresh.instance_url, session_id=fresh.session_id)

    def __repr__(self) -> str:  # the session id is a credential: never in logs or task reprs
        return f"Connection({self.instance_url}, version={self.credentials.version})"


def error_code_and_message(exc: Exception) -> tuple[str, str]:
    """Return Salesforce's errorCode and message from an error response, or the error's type."""
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode", type(exc).__name__)), str(first.get("message", ""))
    return type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""


def api_usage(client: Salesforce) -> dict[str, int]:
    """Return the org's daily API calls used and allowed from the last Sforce-Limit-Info seen."""
    usage = client.api_usage.get("api-usage")
    return {} if usage is None else {"used": usage.used, "limit": usage.total}


# Salesforce field types (describe()) each canonical column kind can be read from.
FITTING_TYPES = {
    "string": {
        "id", "reference", "string", "phone", "picklist", "textarea", "email", "url",
        "combobox", "encryptedstring",
    },
    "datetime": {"datetime", "date"},
    "bool": {"boolean"},
    "int": {"int", "long"},
}  # fmt: skip


def mapping_problems(connection: Connection, mapping: dict[str, tuple[str, dict[str, str]]],
                     kinds: dict[str, dict[str, str]]) -> list[dict[str, str]]:  # fmt: skip
    """Describe each mapped object; return one problem per missing object or field or per
    field whose type does not fit the canonical column (an empty list: the mapping is good).

    mapping: canonical table -> (the org's object, {canonical column: the org's field}).
    kinds: canonical table -> {canonical column: kind}."""
    problems = []
    for table, (obj, names) in mapping.items():
        try:
            described = connection.call(
                lambda client, obj=obj: getattr(client, obj).describe(), f"describe of {obj}"
            )
        except DialflowError as exc:
            if "NOT_FOUND" not in str(exc) and "INVALID_TYPE" not in str(exc):
                raise
            described = None
        if described is None:
            problems.append(
                {
                    "table": table,
                    "column": "",
                    "object": obj,
                    "field": "",
                    "problem": f"object {obj} not found; set salesforce.objects.{table}",
                }  # fmt: skip
            )
            continue
        types = {field["name"].lower(): field["type"] for field in described["fields"]}
        for column, name in names.items():
            kind = kinds[table][column]
            found = types.get(name.lower())
            if found is None:
                problem = f"field {obj}.{name} not found; set salesforce.fields.{table}.{column}"
            elif found not in FITTING_TYPES[kind]:
                problem = (
                    f"field {obj}.{name} is {found}, the column needs {kind} "
                    f"({', '.join(sorted(FITTING_TYPES[kind]))})"
                )
            else:
                continue
            problems.append(
                {
                    "table": table,
                    "column": column,
                    "object": obj,
                    "field": name,
                    "problem": problem,
                }  # fmt: skip
            )
    return problems
