"""Run emails against a real SMTP server (aiosmtpd), plain, STARTTLS and implicit TLS."""

from __future__ import annotations

import io
import os
import re
import socket
import ssl
import time
import zipfile
from pathlib import Path

import pytest
import trustme
from typer.testing import CliRunner

from dialflow.cli import app
from dialflow.config import EmailSettings, load_settings
from dialflow.errors import ConfigError, DialflowError
from dialflow.sinks.email import notify_run
from tests.smtp_server import HOST, PASSWORD, accept_dial, free_port

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
CSV_BYTES = "Id,Name,Phone\r\n001A,Café Ünïcode,+14158675309\r\n001B,Bayside,\r\n".encode()
SUMMARY = {
    "job": "listiq",
    "run_id": "2026-11-25T060000Z-ab12cd",
    "as_of": "2026-11-25T06:00:00+00:00",
    "seconds": 12.5,
    "parameters": {"seed": 20261125},
    "inputs": {"Account": 120000, "Task": 450000},
    "stages": {"write": {"csv_rows": 10000, "sql_rows": 10000, "seconds": 1.2}},
    "counts": {
        "selected": 10000,
        "by_state": {"CA": 6000, "NY": 4000},
        "unmapped_dispositions": {"called (415) 867-5309": 2},
        "keys": {"phone": {"valid": 3}},
    },
    "outputs": {"csv": "call_list.csv", "sql_table": "call_list"},
    "memory": {"client_peak_bytes": 123},
}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def settings(port: int, **values) -> EmailSettings:
    defaults = dict(
        enabled=True,
        host=HOST,
        port=port,
        security="none",
        timeout_seconds=5,
        sender="dialflow@example.com",
        recipients=("ops@example.com",),
    )
    return EmailSettings(**{**defaults, **values})


def send_listiq(config: EmailSettings, tmp_path: Path, data: bytes = CSV_BYTES) -> list[str]:
    folder = tmp_path / "out" / "listiq" / SUMMARY["run_id"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "call_list.csv").write_bytes(data)
    return notify_run(config, "listiq", "succeeded", SUMMARY, folder, folder / "call_list.csv")


def test_success_message_reaches_job_recipients_with_counts_and_exact_csv(serve, tmp_path):
    inbox, port = serve()
    config = settings(
        port,
        recipients=("ops@example.com", "lead@example.com"),
        job_recipients={"listiq": ("dialer@example.com", "ops@example.com"), "dedupe": ("x@y",)},
        attach_csv={"listiq": True},
    )
    sent = send_listiq(config, tmp_path)

    wanted = ["ops@example.com", "lead@example.com", "dialer@example.com"]
    assert sent == wanted
    assert len(inbox.envelopes) == 1
    assert inbox.envelopes[0].mail_from == "dialflow@example.com"
    assert inbox.envelopes[0].rcpt_tos == wanted
    message = inbox.message()
    assert inbox.subject() == (
        "[DIAL-Flow] listiq succeeded: 10,000 rows (run 2026-11-25T060000Z-ab12cd)"
    )
    assert message["To"] == ", ".join(wanted)
    folder = tmp_path / "out" / "listiq" / SUMMARY["run_id"]
    assert message.get_body(("plain",)).get_content() == (
        "listiq succeeded.\n"
        "\n"
        "Run     2026-11-25T060000Z-ab12cd\n"
        "As of   2026-11-25T06:00:00+00:00\n"
        "Took    12.5 s\n"
        f"Folder  {folder}\n"
        "\n"
        "Inputs\n"
        "  Account  120,000\n"
        "  Task     450,000\n"
        "\n"
        "Outputs\n"
        "  csv        call_list.csv (10,000 rows)\n"
        "  sql_table  call_list (10,000 rows)\n"
        "\n"
        "Counts\n"
        "  selected               10,000\n"
        "  by_state               CA: 6,000, NY: 4,000\n"
        "  unmapped_dispositions  called (***) ***-**09: 2\n"
        "\n"
        f"Attached: call_list.csv ({len(CSV_BYTES)} bytes)\n"
        "\n"
        f"Details: {folder / 'summary.json'}\n"
    )
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename() == "call_list.csv"
    assert attachment.get_payload(decode=True) == CSV_BYTES


def test_csv_is_attached_only_for_jobs_that_ask_for_it(serve, tmp_path):
    inbox, port = serve()
    csv_path = tmp_path / "dedupe_flagged.csv"
    csv_path.write_bytes(CSV_BYTES)
    sent = notify_run(settings(port), "dedupe", "succeeded", SUMMARY, tmp_path, csv_path)
    assert sent == ["ops@example.com"]
    assert list(inbox.message().iter_attachments()) == []
    assert "dedupe_flagged.csv" not in inbox.message().get_body(("plain",)).get_content()


def test_csv_above_the_limit_is_zipped(serve, tmp_path):
    inbox, port = serve()
    data = b"Id,Phone\n" + b"".join(b"%06d,+1415555%04d\n" % (i, i) for i in range(2000))
    config = settings(port, attach_csv={"listiq": True}, max_attachment_bytes=len(data) // 2)
    send_listiq(config, tmp_path, data)

    message = inbox.message()
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/zip"
    assert attachment.get_filename() == "call_list.csv.zip"
    archive = zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True)))
    assert archive.namelist() == ["call_list.csv"]
    assert archive.read("call_list.csv") == data
    assert re.search(
        r"^Attached: call_list\.csv\.zip \([\d.]+ KiB; 39\.1 KiB unzipped\)$",
        message.get_body(("plain",)).get_content(),
        re.MULTILINE,
    )


def test_csv_too_large_even_zipped_is_replaced_by_its_path(serve, tmp_path):
    inbox, port = serve()
    data = os.urandom(30_000)  # random bytes do not compress
    config = settings(port, attach_csv={"listiq": True}, max_attachment_bytes=20_000)
    send_listiq(config, tmp_path, data)

    message = inbox.message()
    assert not message.is_multipart()
    csv_path = tmp_path / "out" / "listiq" / SUMMARY["run_id"] / "call_list.csv"
    assert (
        f"\nNot attached: call_list.csv is 29.3 KiB, over the 19.5 KiB limit even zipped; "
        f"it is at {csv_path}\n"
    ) in message.get_content()


def test_failure_message_carries_the_masked_cause(serve):
    inbox, port = serve()
    cause = "SQL table call_list: writing 12 rows failed (IntegrityError: row +1 415 867 5309)"
    sent = notify_run(settings(port), "listiq", "failed", None, None, None, cause=cause)
    assert sent == ["ops@example.com"]
    message = inbox.message()
    masked = "SQL table call_list: writing 12 rows failed (IntegrityError: row +* *** *** **09)"
    assert inbox.subject() == f"[DIAL-Flow] listiq FAILED: {masked}"
    assert message.get_content() == f"listiq FAILED: {masked}\n\nFolder  none was kept\n"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_over_plain_smtp(serve, tmp_path):
    inbox, port = serve(authenticator=accept_dial, auth_require_tls=False, auth_required=True)
    send_listiq(settings(port, username="dial", password=PASSWORD), tmp_path)
    assert inbox.authenticated == [True]
    assert inbox.tls == [False]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_refused_login_is_one_clear_line_without_the_password(serve, tmp_path):
    inbox, port = serve(authenticator=accept_dial, auth_require_tls=False, auth_required=True)
    wrong = "wrong-" + PASSWORD
    with pytest.raises(DialflowError) as caught:
        send_listiq(settings(port, username="dial", password=wrong), tmp_path)
    assert str(caught.value) == (
        f"email via 127.0.0.1:{port} failed: login as dial refused "
        "(535 5.7.8 Authentication credentials invalid); check email.username and "
        "DIALFLOW_SMTP_PASSWORD; the run's outputs were kept"
    )
    assert PASSWORD not in str(caught.value)
    assert inbox.envelopes == []


def test_starttls_verifies_the_server_against_ca_file(serve, server_tls, ca_file, tmp_path):
    inbox, port = serve(
        tls_context=server_tls, require_starttls=True, authenticator=accept_dial
    )  # aiosmtpd offers AUTH only after STARTTLS here
    config = settings(
        port, security="starttls", ca_file=ca_file, username="dial", password=PASSWORD
    )
    assert send_listiq(config, tmp_path) == ["ops@example.com"]
    assert inbox.tls == [True]
    assert inbox.authenticated == [True]


def test_starttls_refuses_a_server_the_system_cas_do_not_trust(serve, server_tls, tmp_path):
    inbox, port = serve(tls_context=server_tls, require_starttls=True)
    with pytest.raises(DialflowError) as caught:
        send_listiq(settings(port, security="starttls"), tmp_path)
    assert re.fullmatch(
        rf"email via 127\.0\.0\.1:{port} failed: TLS certificate not trusted \(.+\); "
        r"set email\.ca_file to the CA that signed it; the run's outputs were kept",
        str(caught.value),
    )
    assert inbox.envelopes == []


def test_implicit_tls(serve, server_tls, ca_file, tmp_path):
    inbox, port = serve(ssl_context=server_tls)
    assert send_listiq(settings(port, security="ssl", ca_file=ca_file), tmp_path) == [
        "ops@example.com"
    ]
    assert inbox.tls == [True]


def test_missing_ca_file_names_the_setting(tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(DialflowError) as caught:
        send_listiq(settings(free_port(), security="ssl", ca_file=missing), tmp_path)
    assert str(caught.value) == (
        f"email.ca_file = {missing}: cannot load it as a PEM CA bundle "
        "(No such file or directory); the run's outputs were kept"
    )


def test_refused_recipient_is_named_and_the_others_still_get_the_mail(serve, tmp_path):
    inbox, port = serve()
    config = settings(port, recipients=("ops@example.com", "nobody@example.com"))
    with pytest.raises(DialflowError) as caught:
        send_listiq(config, tmp_path)
    assert str(caught.value) == (
        f"email via 127.0.0.1:{port} failed: recipients refused: nobody@example.com "
        "(550 5.1.1 no such user); the run's outputs were kept"
    )
    assert inbox.envelopes[0].rcpt_tos == ["ops@example.com"]


def test_unreachable_server_fails_fast_naming_host_and_port(tmp_path):
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(DialflowError) as caught:
        send_listiq(settings(port, timeout_seconds=10), tmp_path)
    assert time.monotonic() - started < 2
    assert re.fullmatch(
        rf"email via 127\.0\.0\.1:{port} failed: ConnectionRefusedError: .+; "
        r"the run's outputs were kept",
        str(caught.value),
    )


def test_silent_server_times_out(tmp_path):
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind((HOST, 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(DialflowError) as caught:
            send_listiq(settings(port, timeout_seconds=0.5), tmp_path)
    assert 0.4 < time.monotonic() - started < 3
    assert str(caught.value) == (
        f"email via 127.0.0.1:{port} failed: no answer within 0.5 s; the run's outputs were kept"
    )


@pytest.mark.parametrize(
    "values",
    [
        {"enabled": False},
        {"recipients": ()},
        {"recipients": (), "job_recipients": {"dedupe": ("dedupe@example.com",)}},
    ],
)
def test_disabled_or_without_recipients_sends_nothing(serve, tmp_path, values):
    inbox, port = serve()
    assert send_listiq(settings(port, **values), tmp_path) == []
    assert inbox.envelopes == []


def test_config_check_never_shows_the_password(monkeypatch):
    monkeypatch.setenv("DIALFLOW_SMTP_PASSWORD", PASSWORD)
    monkeypatch.delenv("DIALFLOW_SQL_URL", raising=False)
    assert load_settings(REPO_CONFIG).email.password == PASSWORD
    result = CliRunner().invoke(app, ["config", "check", "--config", str(REPO_CONFIG)])
    assert result.exit_code == 0, result.output
    assert "  password: '***'\n" in result.stdout
    assert PASSWORD not in result.output


def test_unset_password_variable_means_no_password(monkeypatch):
    monkeypatch.delenv("DIALFLOW_SMTP_PASSWORD", raising=False)
    assert load_settings(REPO_CONFIG).email.password is None
    assert PASSWORD not in repr(EmailSettings(password=PASSWORD))


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "email:\n  recipients: [ops@example.com, 'ops at example.com']\n",
            "email.recipients.1 = 'ops at example.com' is not allowed: "
            "must be an email address like ops@example.com (one @, no spaces)",
        ),
        (
            "email:\n  sender: dialflow\n",
            "email.sender = 'dialflow' is not allowed: "
            "must be an email address like ops@example.com (one @, no spaces)",
        ),
        (
            "email:\n  job_recipients: {listiq: ['a@b@c']}\n",
            "email.job_recipients.listiq.0 = 'a@b@c' is not allowed: "
            "must be an email address like ops@example.com (one @, no spaces)",
        ),
        (
            "email:\n  attach_csv: {lisitq: true}\n",
            "email.attach_csv.lisitq.[key] = 'lisitq' is not allowed: "
            "Input should be 'dedupe', 'autoflush', 'infoflow' or 'listiq'",
        ),
        (
            "email:\n  security: tls\n",
            "email.security = 'tls' is not allowed: Input should be 'starttls', 'ssl' or 'none'",
        ),
    ],
)
def test_bad_email_settings_name_the_key_and_the_rule(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path}: {message}"
