"""The one way DIAL-Flow gets a Dask client: a remote scheduler, or a LocalCluster from config."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

from .config import ClusterSettings
from .errors import DialflowError

if TYPE_CHECKING:
    from distributed import Client, Security


def security(settings: ClusterSettings, local: bool = False) -> Security | None:
    """Build the Dask Security of the configured TLS files, or None without them.

    The client presents the one certificate; a LocalCluster (`local`) also gives it to its
    scheduler and workers, since they too must present one signed by the CA.
    """
    from distributed import Security

    if not settings.tls:
        return None
    ca, cert, key = (
        str(settings.tls_ca_file), str(settings.tls_cert_file), str(settings.tls_key_file)
    )  # fmt: skip
    roles = ("client", "scheduler", "worker") if local else ("client",)
    files = {}
    for role in roles:
        files[f"tls_{role}_cert"] = cert
        files[f"tls_{role}_key"] = key
    return Security(tls_ca_file=ca, require_encryption=True, **files)


def _connect_failure(address: str, exc: BaseException) -> str:
    """Say in one line why the scheduler could not be reached, with the fix for each cause."""
    # The ssl error hides behind Dask's and tornado's wrappers: follow causes, contexts and
    # tornado's `real_error` to find it.
    chain: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(chain) < 20:
        cause = pending.pop(0)
        if cause in chain:
            continue
        chain.append(cause)
        for nxt in (cause.__cause__, cause.__context__, getattr(cause, "real_error", None)):
            if isinstance(nxt, BaseException):
                pending.append(nxt)
    verify = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if verify is not None:
        reason = verify.verify_message or verify.reason or str(verify)
        return (
            f"cannot reach the Dask scheduler at {address} (TLS: the scheduler's certificate "
            f"failed verification against cluster.tls_ca_file: {reason}); give the CA that "
            f"signed the cluster's certificates"
        )
    tls_error = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    # Dask re-raises some ssl errors as text only ("...: SSLError: [SSL: ...] ... unknown ca").
    in_text = re.search(r"\bSSL\w*Error: .*", str(exc))
    if address.startswith("tls://") and (tls_error is not None or in_text):
        detail = f"{type(tls_error).__name__}: {tls_error}" if tls_error else in_text.group(0)
        return (
            f"cannot reach the Dask scheduler at {address} (TLS: the scheduler ended the "
            f"handshake, {detail}); check that cluster.tls_cert_file is signed by the CA the "
            f"cluster trusts and matches cluster.tls_key_file"
        )
    tls_hint = (
        ""
        if address.startswith("tls://")
        else " (a scheduler started with TLS needs its tls:// address and the cluster.tls_* files)"
    )
    return (
        f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}); "
        f"check that it runs{tls_hint}, or drop --scheduler to use a local cluster"
    )


# How much longer than cluster.connect_timeout_seconds the probe waits in all: Dask's own connect
# gives up on the TCP (and TLS) connection at the timeout, so anything still pending after it is
# a peer that accepted the connection but sent no handshake.
HANDSHAKE_GRACE_SECONDS = 1.0


def _not_a_scheduler(address: str, what: str) -> str:
    return (
        f"cannot reach the Dask scheduler at {address}: it answered, but not as a Dask scheduler "
        f"({what}); check the address and port (a scheduler listens on 8786 by default, 8787 is "
        f"its dashboard)"
    )


async def _dask_handshake(address: str, timeout: float, connection_args: dict) -> None:
    from distributed.comm import connect

    comm = await connect(address, timeout=timeout, **connection_args)
    await comm.close()


def _probe_scheduler(address: str, settings: ClusterSettings) -> None:
    """Connect once and exchange Dask's handshake within the timeout, before Client() does.

    `Client(address, timeout=...)` bounds only the TCP (and TLS) connection: Dask's `connect`
    then awaits the peer's handshake without a timeout. A port that accepts and says nothing (a
    web server waiting for a request line) hangs the client for good, and one that sends other
    bytes makes Dask read a frame length from them (`MemoryError: Unable to allocate 2.82 EiB`).
    A real scheduler sends its handshake at once, so the probe costs it one short connection.
    """
    timeout = settings.connect_timeout_seconds
    tls = security(settings)
    connection_args = tls.get_connection_args("client") if tls is not None else {}
    probe = _dask_handshake(address, timeout, connection_args)
    try:
        asyncio.run(asyncio.wait_for(probe, timeout + HANDSHAKE_GRACE_SECONDS))
    except asyncio.TimeoutError:  # before OSError: on Python 3.11+ it is the builtin TimeoutError
        raise DialflowError(
            _not_a_scheduler(address, f"no Dask handshake within {timeout:g} s")
        ) from None
    except OSError as exc:
        # Nobody listens, the host is unknown, or the peer closed the connection: a TLS
        # scheduler does so to a tcp:// client or an untrusted certificate, which
        # _connect_failure tells apart.
        raise DialflowError(_connect_failure(address, exc)) from None
    except Exception:  # noqa: BLE001 - other bytes: Dask fails parsing them, in more than one way
        raise DialflowError(
            _not_a_scheduler(address, "it sent something other than a Dask handshake")
        ) from None


def local_processes(settings: ClusterSettings, input_bytes: int | None) -> tuple[bool, str]:
    """Decide whether a LocalCluster's workers are processes (True) or threads of this process
    (False), and say why: `cluster.processes`, or with `auto` the input's size against
    `cluster.in_process_below` (an unknown size, from SQL or Salesforce, means processes).

    In-process workers start in a fraction of a second and exchange shuffled data without
    serialising it; worker processes run Python code in parallel and each has a nanny that
    restarts it at its memory limit. Exact dedupe at 400,000 accounts (35 MiB of Parquet) ran
    about twice as fast in process, autoflush with 1,000,000 calls (72 MiB) about 2.5 times
    (benchmarks/RESULTS.md, `### fixed cost`); larger inputs were not measured.
    """
    from dask.utils import format_bytes, parse_bytes

    if settings.processes != "auto":
        return bool(settings.processes), f"cluster.processes is {str(settings.processes).lower()}"
    if input_bytes is None:
        return True, "cluster.processes auto: the input's size is not known before the run"
    below = parse_bytes(settings.in_process_below)
    relation = "below" if input_bytes < below else "not below"
    return input_bytes >= below, (
        f"cluster.processes auto: input files {format_bytes(input_bytes)}, {relation} "
        f"cluster.in_process_below ({settings.in_process_below})"
    )


def _in_process_memory_limit(settings: ClusterSettings) -> str | int:
    """In process, every worker's memory monitor reads the one process: give each the sum of
    what the worker processes would have had, so that Dask spills and pauses at the same total."""
    from dask.utils import parse_bytes

    if settings.memory_limit == "auto":
        return "auto"
    return parse_bytes(settings.memory_limit) * settings.n_workers


@contextmanager
def open_client(
    settings: ClusterSettings, scheduler: str | None = None, processes: bool = True
) -> Iterator[Client]:
    """Yield a connected client; `scheduler` (from --scheduler) wins over `cluster.scheduler`.

    Without a scheduler, a LocalCluster of worker processes, or with `processes=False` of
    worker threads in this process (`local_processes` decides for a run).
    With the cluster.tls_* files set, a remote scheduler must be tls:// (config validation
    makes sure) and a LocalCluster runs on tls:// too.
    """
    from distributed import Client, LocalCluster

    from .logs import mask_dask_logs, route_warnings
    from .worker_logs import silence_noisy_dask_loggers

    # Before anything starts: the in-process scheduler and nannies of a LocalCluster log here.
    mask_dask_logs()
    route_warnings()
    silence_noisy_dask_loggers()
    address = scheduler or settings.scheduler
    if address:
        if address.startswith("tls://") and not settings.tls:
            # `scheduler` bypassed config validation: Dask would fail with a TypeError.
            raise DialflowError(
                f"the scheduler {address} needs cluster.tls_ca_file, cluster.tls_cert_file and "
                f"cluster.tls_key_file; set them in the config"
            )
        _probe_scheduler(address, settings)
        try:
            client = Client(
                address,
                security=security(settings),
                timeout=f"{settings.connect_timeout_seconds}s",
            )
        except (OSError, TimeoutError) as exc:
            raise DialflowError(_connect_failure(address, exc)) from None
        try:
            _prepare(client)
            yield client
        finally:
            client.close()
        return

    tls = security(settings, local=True)
    cluster = LocalCluster(
        n_workers=settings.n_workers,
        threads_per_worker=settings.threads_per_worker,
        memory_limit=settings.memory_limit if processes else _in_process_memory_limit(settings),
        dashboard_address=settings.dashboard_address,
        processes=processes,
        **({"protocol": "tls://", "security": tls} if tls is not None else {}),
    )
    try:
        with Client(cluster, security=tls) as client, _shuffle_for(processes):
            if processes:
                # In process, the workers log through this process's loggers, which
                # open_client set up above and run.log listens to: no plugin needed.
                _prepare(client)
            yield client
    finally:
        cluster.close()


def _shuffle_for(processes: bool) -> AbstractContextManager[object]:
    """Dask's shuffle method for a LocalCluster's run: its default (P2P) between worker
    processes; between threads of one process, the task-based shuffle, which hands the shuffled
    frames from task to task as they are. P2P serialises them to Arrow and stages them on disk,
    which bounds memory on inputs far larger than `cluster.in_process_below`; the probabilistic
    dedupe at 400,000 demo accounts ran about 15% faster with tasks (benchmarks/RESULTS.md,
    `## matching`). The output is the same either way."""
    import dask

    return nullcontext() if processes else dask.config.set({"dataframe.shuffle.method": "tasks"})


def _prepare(client: Client) -> None:
    """Mask phones in every worker's logs (workers that join or restart later too)."""
    from .logs import json_logs
    from .worker_logs import MaskWorkerLogs

    try:
        client.register_plugin(MaskWorkerLogs(json_lines=json_logs()))
    except OSError:
        # A worker died during the broadcast (one over its memory limit restarts in a loop):
        # the scheduler stored the plugin first and gives it to every worker that registers.
        pass
    except Exception as exc:  # noqa: BLE001 - raised on a worker, e.g. no dialflow there
        raise DialflowError(
            f"cannot set up DIAL-Flow on the Dask workers ({type(exc).__name__}: {exc}); "
            f"install dialflow in the workers' environment (cluster/README.md)"
        ) from None


def dashboard_link(client: Client) -> str:
    """Return the dashboard address to print, or a note when the scheduler serves none."""
    return _in_process_dashboard(client) or (
        client.dashboard_link or "(no dashboard: install bokeh on the scheduler)"
    )


def _in_process_dashboard(client: Client) -> str | None:
    """The dashboard of a scheduler in this process, at the host it listens on.

    In process, Dask names the dashboard by the machine's own address, where a dashboard bound
    to one interface (`cluster.dashboard_address: 127.0.0.1:0`) does not listen: the link it
    printed led nowhere. None for any other scheduler, or one listening on every interface.
    """
    scheduler = getattr(getattr(client, "cluster", None), "scheduler", None)
    server = getattr(scheduler, "http_server", None)
    if scheduler is None or server is None or not scheduler.address.startswith("inproc://"):
        return None
    # tornado's HTTPServer keeps its listening sockets by file descriptor.
    for sock in getattr(server, "_sockets", {}).values():
        host, port = sock.getsockname()[:2]
        if host not in ("0.0.0.0", "::", ""):
            return f"http://{host}:{port}/status"
    return None
