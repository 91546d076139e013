"""A real cluster over TLS, and the cluster/ scripts: what an operator runs, run as they would.

Certificates come from `cluster/make-tls.py` run as a command; the TLS cluster is `dask scheduler`
and `dask worker` processes (tests/real_cluster.py); the script test starts and stops a cluster
with cluster/start-scheduler.sh, start-workers.sh and stop.sh.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from dialflow.config import load_settings
from dialflow.errors import ConfigError
from tests.conftest import make_demo, one_error_line, run_cli, run_folder, write_config
from tests.real_cluster import RealCluster, TlsFiles, running_cluster

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "cluster"
AS_OF = "2026-11-25"


def make_tls(folder: Path, *hosts: str) -> TlsFiles:
    """Run cluster/make-tls.py as a user would and return the files it wrote."""
    made = subprocess.run(
        [sys.executable, str(CLUSTER / "make-tls.py"), str(folder), *hosts],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    return TlsFiles(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")


def tls_config(files: TlsFiles, timeout: float = 3) -> str:
    """The `cluster:` lines that point a client at the TLS files (for write_config)."""
    return (
        f"  tls_ca_file: {files.ca_file}\n  tls_cert_file: {files.cert_file}\n"
        f"  tls_key_file: {files.key_file}\n  connect_timeout_seconds: {timeout}\n"
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), 3000, 100, 5, AS_OF)


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory, tls) -> Iterator[RealCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), workers=2, tls=tls) as cluster:
        yield cluster


def test_make_tls_writes_a_ca_and_a_certificate_it_signed(tls):
    ca = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
    cert = x509.load_pem_x509_certificate(tls.cert_file.read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert stat.S_IMODE(tls.key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in tls.ca_file.parent.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]


def test_dedupe_over_tls_gives_the_bytes_of_a_local_cluster(tmp_path, demo, tls, tls_cluster):
    assert tls_cluster.address.startswith("tls://127.0.0.1:")
    for name in ("local", "tls"):
        (tmp_path / name).mkdir()
    local = write_config(tmp_path / "local", demo)
    expected = run_folder(run_cli("run", "dedupe", "--config", str(local), "--as-of", AS_OF))

    remote = write_config(tmp_path / "tls", demo, cluster_extra=tls_config(tls))
    result = run_cli(
        "run", "dedupe", "--config", str(remote), "--as-of", AS_OF,
        "--scheduler", tls_cluster.address,
    )  # fmt: skip
    folder = run_folder(result)
    flagged = (folder / "dedupe_flagged.csv").read_bytes()
    assert flagged == (expected / "dedupe_flagged.csv").read_bytes()
    assert flagged.count(b"\n") > 10  # the demo data has duplicates to find
    workers = json.loads((folder / "summary.json").read_text())["memory"]["workers_peak_bytes"]
    assert len(workers) == 2 and all(a.startswith("tls://127.0.0.1:") for a in workers)


def test_a_local_cluster_with_the_tls_files_runs_on_tls(tls):
    from dialflow.cluster import open_client
    from dialflow.config import ClusterSettings

    settings = ClusterSettings(
        n_workers=1, memory_limit="1GiB", dashboard_address=":0", tls_ca_file=tls.ca_file,
        tls_cert_file=tls.cert_file, tls_key_file=tls.key_file,
    )  # fmt: skip
    with open_client(settings) as client:
        assert client.scheduler.address.startswith("tls://")
        assert all(a.startswith("tls://") for a in client.scheduler_info()["workers"])
        assert client.submit(sum, [1, 2, 3]).result() == 6


def test_tls_scheduler_without_the_tls_files_is_a_config_error(tmp_path, demo, tls_cluster):
    config = write_config(tmp_path, demo)
    result = run_cli("run", "dedupe", "--config", str(config), "--scheduler", tls_cluster.address)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config}: cluster: scheduler {tls_cluster.address} needs tls_ca_file, "
        "tls_cert_file and tls_key_file (PEM files of the cluster's CA, this client's "
        "certificate and its key); set them under cluster:"
    )


def _fails_fast(tmp_path: Path, demo: Path, cluster_extra: str, scheduler: str) -> str:
    """Run dedupe against `scheduler`; return its one error line, checking it came in seconds."""
    config = write_config(tmp_path, demo, cluster_extra=cluster_extra)
    started = time.monotonic()
    result = run_cli("run", "dedupe", "--config", str(config), "--scheduler", scheduler)
    took = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert took < 8, f"{took:.1f}s"
    return one_error_line(result.output)


def test_plain_tcp_client_against_the_tls_scheduler_fails_fast(tmp_path, demo, tls_cluster):
    plain = tls_cluster.address.replace("tls://", "tcp://")
    line = _fails_fast(tmp_path, demo, "  connect_timeout_seconds: 3\n", plain)
    assert line.startswith(f"Error: cannot reach the Dask scheduler at {plain} (")
    assert line.endswith(
        "; check that it runs (a scheduler started with TLS needs its tls:// address and the "
        "cluster.tls_* files), or drop --scheduler to use a local cluster"
    )


def test_certificates_of_another_ca_fail_fast_naming_the_cause(tmp_path, demo, tls_cluster):
    other = make_tls(tmp_path / "other-ca")
    line = _fails_fast(tmp_path, demo, tls_config(other), tls_cluster.address)
    assert re.fullmatch(
        re.escape(
            f"Error: cannot reach the Dask scheduler at {tls_cluster.address} (TLS: the "
            "scheduler's certificate failed verification against cluster.tls_ca_file: "
        )
        + r"[^;]+"
        + re.escape("); give the CA that signed the cluster's certificates"),
        line,
    ), line


def test_a_client_certificate_the_cluster_does_not_trust_fails_fast(
    tmp_path, demo, tls, tls_cluster
):
    other = make_tls(tmp_path / "other-ca")
    mixed = TlsFiles(tls.ca_file, other.cert_file, other.key_file)  # trusts the scheduler only
    line = _fails_fast(tmp_path, demo, tls_config(mixed), tls_cluster.address)
    assert line.startswith(
        f"Error: cannot reach the Dask scheduler at {tls_cluster.address} (TLS: the scheduler "
        "ended the handshake, "
    ), line
    assert line.endswith(
        "; check that cluster.tls_cert_file is signed by the CA the cluster trusts and matches "
        "cluster.tls_key_file"
    )


def test_unreachable_tls_scheduler_gives_up_after_the_timeout(tmp_path, demo, tls):
    line = _fails_fast(tmp_path, demo, tls_config(tls, timeout=1), "tls://127.0.0.1:9")
    assert line.startswith(
        "Error: cannot reach the Dask scheduler at tls://127.0.0.1:9 (OSError: Timed out trying "
        "to connect to tls://127.0.0.1:9 after 1"
    )
    assert line.endswith("; check that it runs, or drop --scheduler to use a local cluster")


@pytest.mark.parametrize(
    "cluster, message",
    [
        (
            {"tls_ca_file": "ca.pem"},
            "cluster: tls_ca_file, tls_cert_file and tls_key_file go together, but "
            "tls_cert_file and tls_key_file are not set; set all three (PEM files of the "
            "cluster's CA, this client's certificate and its key) or none",
        ),
        (
            {"tls_ca_file": "ca.pem", "tls_cert_file": "cert.pem", "tls_key_file": ""},
            "cluster: tls_ca_file, tls_cert_file and tls_key_file go together, but "
            "tls_key_file is not set; set all three (PEM files of the cluster's CA, this "
            "client's certificate and its key) or none",
        ),
        (
            {"scheduler": "tls://10.0.0.5:8786"},
            "cluster: scheduler tls://10.0.0.5:8786 needs tls_ca_file, tls_cert_file and "
            "tls_key_file (PEM files of the cluster's CA, this client's certificate and its "
            "key); set them under cluster:",
        ),
        (
            {
                "scheduler": "tcp://10.0.0.5:8786",
                "tls_ca_file": "ca.pem",
                "tls_cert_file": "cert.pem",
                "tls_key_file": "key.pem",
            },  # fmt: skip
            "cluster: scheduler tcp://10.0.0.5:8786 does not use TLS, but tls_ca_file, "
            "tls_cert_file and tls_key_file are set; give the scheduler's tls:// address, or "
            "set the three to null for an unencrypted cluster",
        ),
        (
            {"tls_ca_file": "nope.pem", "tls_cert_file": "cert.pem", "tls_key_file": "key.pem"},
            "cluster.tls_ca_file = '{folder}/nope.pem' is not allowed: no such file; give the path "
            "of a PEM file (relative to the config file's folder)",
        ),
    ],
)
def test_partial_or_mismatched_tls_settings_are_config_errors(
    tmp_path, monkeypatch, cluster, message
):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("PEM\n")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({"cluster": cluster}), encoding="utf-8")  # JSON is YAML
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = message.replace("{folder}", str(tmp_path.resolve()))
    assert str(caught.value) == f"{path}: {message}"


def test_all_three_tls_files_with_a_tls_scheduler_or_a_local_cluster_load(tmp_path, tls):
    files = {
        "tls_ca_file": str(tls.ca_file), "tls_cert_file": str(tls.cert_file),
        "tls_key_file": str(tls.key_file),
    }  # fmt: skip
    for scheduler in ("tls://10.0.0.5:8786", None):
        path = tmp_path / "config.yaml"
        path.write_text(json.dumps({"cluster": {**files, "scheduler": scheduler}}))
        settings = load_settings(path).cluster
        assert settings.tls and settings.tls_key_file == tls.key_file


def _run_script(name: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", str(CLUSTER / name), *args], capture_output=True, text=True, env=env, timeout=90
    )
    assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    return done.stdout


def test_cluster_scripts_start_a_cluster_that_runs_a_job_and_stop_it(tmp_path, demo):
    state = tmp_path / "state"
    env = {**os.environ, "DASK": str(Path(sys.executable).parent / "dask")}
    env.pop("DIALFLOW_SCHEDULER", None)
    started = _run_script(
        "start-scheduler.sh", "--port", "0", "--dashboard-address", "127.0.0.1:0",
        "--dir", str(state), env=env,
    )  # fmt: skip
    pids: list[int] = []
    try:
        address = re.match(r"scheduler (tcp://127\.0\.0\.1:\d+) \(PID \d+", started).group(1)
        workers = _run_script(
            "start-workers.sh", "--dir", str(state), "--workers", "2", "--nthreads", "1",
            "--memory-limit", "1GiB", "--spill-dir", str(tmp_path / "spill"),
            "--host", "127.0.0.1", "--", "--no-nanny", env=env,  # no nanny: starts in half the time
        )  # fmt: skip
        assert workers.count(" registered (PID ") == 2, workers
        pids = [int(p.read_text()) for p in sorted(state.glob("*.pid"))]
        assert len(pids) == 3  # the scheduler and two workers

        config = write_config(tmp_path, demo)
        result = run_cli(
            "run", "dedupe", "--config", str(config), "--as-of", AS_OF, "--scheduler", address
        )
        folder = run_folder(result)
        summary = json.loads((folder / "summary.json").read_text())
        assert len(summary["memory"]["workers_peak_bytes"]) == 2
        assert summary["counts"]["flagged"] > 0
        assert any((tmp_path / "spill").iterdir())  # the workers' local directory
    finally:
        stopped = subprocess.run(
            ["bash", str(CLUSTER / "stop.sh"), "--dir", str(state)],
            capture_output=True, text=True, env=env, timeout=90,
        )  # fmt: skip
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not list(state.glob("*.pid"))
    assert not [pid for pid in pids if _still_running(pid)]


def _still_running(pid: int, seconds: float = 5) -> bool:
    """True while the process lives; an exited one not yet reaped by init (a zombie) is gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":
            return False
        time.sleep(0.1)
    return True
