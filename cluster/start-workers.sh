#!/usr/bin/env bash
# Start Dask workers for DIAL-Flow on this host in the background: one `dask worker` process each
# (with its nanny, which restarts a worker killed at its memory limit); PIDs go to
# <dir>/worker-<host>-<n>.pid. Waits until every worker has registered with the scheduler.
#
#   cluster/start-workers.sh [--scheduler ADDRESS | --scheduler-file FILE] [--workers N]
#       [--nthreads N] [--memory-limit SIZE] [--spill-dir DIR] [--host ADDR] [--dir DIR]
#       [--tls-ca-file ca.pem --tls-cert cert.pem --tls-key key.pem]
#       [-- EXTRA DASK WORKER OPTIONS, e.g. --no-nanny or --worker-port 9000:9100]
#
# Each option has an environment variable (the option wins):
#   DIALFLOW_SCHEDULER      tcp://HOST:8786 or tls://HOST:8786 (default: <dir>/scheduler.json,
#                           which start-scheduler.sh writes on this host)
#   DIALFLOW_WORKERS        2 worker processes
#   DIALFLOW_THREADS        1 thread per worker
#   DIALFLOW_MEMORY_LIMIT   4GiB per worker (as cluster.memory_limit)
#   DIALFLOW_SPILL_DIR      a fast local disk, never NFS (${TMPDIR:-/tmp}/dialflow-spill)
#   DIALFLOW_WORKER_HOST    the address the scheduler reaches this host at (default: dask's choice)
#   DIALFLOW_CLUSTER_DIR    PID files and logs (${TMPDIR:-/tmp}/dialflow-cluster-USER)
#   DIALFLOW_TLS_CA_FILE, DIALFLOW_TLS_CERT, DIALFLOW_TLS_KEY   all three or none
#   DASK                    the dask command (default: `dask` on the PATH)
set -euo pipefail
# shellcheck source=cluster/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

SCHEDULER="${DIALFLOW_SCHEDULER:-}"
SCHEDULER_FILE=""
WORKERS="${DIALFLOW_WORKERS:-2}"
THREADS="${DIALFLOW_THREADS:-1}"
MEMORY_LIMIT="${DIALFLOW_MEMORY_LIMIT:-4GiB}"
SPILL_DIR="${DIALFLOW_SPILL_DIR:-${TMPDIR:-/tmp}/dialflow-spill}"
WORKER_HOST="${DIALFLOW_WORKER_HOST:-}"
WAIT_SECONDS="${DIALFLOW_START_TIMEOUT:-60}"
EXTRA=()

while (($#)); do
    case "$1" in
        --scheduler) SCHEDULER="$2"; shift 2 ;;
        --scheduler-file) SCHEDULER_FILE="$2"; shift 2 ;;
        --workers) WORKERS="$2"; shift 2 ;;
        --nthreads) THREADS="$2"; shift 2 ;;
        --memory-limit) MEMORY_LIMIT="$2"; shift 2 ;;
        --spill-dir) SPILL_DIR="$2"; shift 2 ;;
        --host) WORKER_HOST="$2"; shift 2 ;;
        --dir) CLUSTER_DIR="$2"; shift 2 ;;
        --tls-ca-file) TLS_CA_FILE="$2"; shift 2 ;;
        --tls-cert) TLS_CERT="$2"; shift 2 ;;
        --tls-key) TLS_KEY="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; EXTRA=("$@"); break ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || die "--workers must be a whole number >= 1, not '$WORKERS'"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--nthreads must be a whole number >= 1, not '$THREADS'"
require_dask
tls_flags

if [[ -n "$SCHEDULER" ]]; then
    TARGET=("$SCHEDULER")
else
    SCHEDULER_FILE="${SCHEDULER_FILE:-$CLUSTER_DIR/scheduler.json}"
    [[ -f "$SCHEDULER_FILE" ]] ||
        die "no scheduler: give --scheduler tcp://HOST:8786 (or tls://) or --scheduler-file; $SCHEDULER_FILE does not exist"
    TARGET=(--scheduler-file "$SCHEDULER_FILE")
fi
HOST_FLAGS=()
[[ -n "$WORKER_HOST" ]] && HOST_FLAGS=(--host "$WORKER_HOST")

mkdir -p "$CLUSTER_DIR" "$SPILL_DIR"
NODE="$(hostname -s 2>/dev/null || hostname)"
started=()
for ((n = 0; n < WORKERS; n++)); do
    PID_FILE="$CLUSTER_DIR/worker-$NODE-$n.pid"
    LOG="$CLUSTER_DIR/worker-$NODE-$n.log"
    if pid_alive "$PID_FILE"; then
        echo "worker-$NODE-$n already runs (PID $(cat "$PID_FILE"))"
        continue
    fi
    : >"$LOG"
    nohup "$DASK" worker "${TARGET[@]}" --name "$NODE-$n" --nthreads "$THREADS" \
        --memory-limit "$MEMORY_LIMIT" --local-directory "$SPILL_DIR" \
        "${HOST_FLAGS[@]}" "${TLS_FLAGS[@]}" "${EXTRA[@]}" >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    started+=("$n")
done

# A worker is ready once it logs "Registered to" the scheduler.
for n in "${started[@]}"; do
    PID_FILE="$CLUSTER_DIR/worker-$NODE-$n.pid"
    LOG="$CLUSTER_DIR/worker-$NODE-$n.log"
    for ((i = 0; ; i++)); do
        if grep -q "Registered to" "$LOG"; then
            echo "worker-$NODE-$n registered (PID $(cat "$PID_FILE"), log $LOG)"
            break
        fi
        if ! pid_alive "$PID_FILE"; then
            tail -n 20 "$LOG" >&2
            rm -f "$PID_FILE"
            die "worker-$NODE-$n exited; its log is above ($LOG)"
        fi
        ((i < WAIT_SECONDS * 10)) || die "worker-$NODE-$n did not register in ${WAIT_SECONDS}s; see $LOG"
        sleep 0.1
    done
done
