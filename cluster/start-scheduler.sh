#!/usr/bin/env bash
# Start a Dask scheduler for DIAL-Flow in the background; its PID goes to <dir>/scheduler.pid.
#
#   cluster/start-scheduler.sh [--host ADDR] [--port N] [--dashboard-address HOST:PORT]
#       [--dir DIR] [--tls-ca-file ca.pem --tls-cert cert.pem --tls-key key.pem]
#       [-- EXTRA DASK SCHEDULER OPTIONS]
#
# Each option has an environment variable (the option wins):
#   DIALFLOW_SCHEDULER_HOST     127.0.0.1: only this machine can connect. Give the address that
#                               workers and clients reach (and then prefer TLS).
#   DIALFLOW_SCHEDULER_PORT     8786 (0: any free port)
#   DIALFLOW_DASHBOARD_ADDRESS  :8787
#   DIALFLOW_CLUSTER_DIR        PID files, logs, scheduler.json (${TMPDIR:-/tmp}/dialflow-cluster-USER)
#   DIALFLOW_TLS_CA_FILE, DIALFLOW_TLS_CERT, DIALFLOW_TLS_KEY   all three or none
#   DASK                        the dask command (default: `dask` on the PATH)
# With the TLS files the scheduler listens on tls:// only. Prints the scheduler's address once it
# listens. Stop it with cluster/stop.sh.
set -euo pipefail
# shellcheck source=cluster/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

HOST="${DIALFLOW_SCHEDULER_HOST:-127.0.0.1}"
PORT="${DIALFLOW_SCHEDULER_PORT:-8786}"
DASHBOARD="${DIALFLOW_DASHBOARD_ADDRESS:-:8787}"
WAIT_SECONDS="${DIALFLOW_START_TIMEOUT:-60}"
EXTRA=()

while (($#)); do
    case "$1" in
        --host) HOST="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --dashboard-address) DASHBOARD="$2"; shift 2 ;;
        --dir) CLUSTER_DIR="$2"; shift 2 ;;
        --tls-ca-file) TLS_CA_FILE="$2"; shift 2 ;;
        --tls-cert) TLS_CERT="$2"; shift 2 ;;
        --tls-key) TLS_KEY="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; EXTRA=("$@"); break ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

require_dask
tls_flags
PROTOCOL=tcp
((${#TLS_FLAGS[@]})) && PROTOCOL=tls

mkdir -p "$CLUSTER_DIR"
PID_FILE="$CLUSTER_DIR/scheduler.pid"
SCHEDULER_FILE="$CLUSTER_DIR/scheduler.json"
LOG="$CLUSTER_DIR/scheduler.log"
if pid_alive "$PID_FILE"; then
    die "a scheduler already runs (PID $(cat "$PID_FILE"), $PID_FILE); stop it with cluster/stop.sh"
fi
rm -f "$SCHEDULER_FILE"

nohup "$DASK" scheduler --host "$HOST" --port "$PORT" --protocol "$PROTOCOL" \
    --dashboard-address "$DASHBOARD" --scheduler-file "$SCHEDULER_FILE" \
    "${TLS_FLAGS[@]}" "${EXTRA[@]}" >>"$LOG" 2>&1 </dev/null &
echo $! >"$PID_FILE"

# scheduler.json appears once the scheduler listens: report its address then, or why not.
for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
    if [[ -s "$SCHEDULER_FILE" ]] && grep -q '"address"' "$SCHEDULER_FILE"; then
        address="$(sed -n 's/.*"address": *"\([^"]*\)".*/\1/p' "$SCHEDULER_FILE" | head -n 1)"
        echo "scheduler $address (PID $(cat "$PID_FILE"), log $LOG, scheduler file $SCHEDULER_FILE)"
        exit 0
    fi
    if ! pid_alive "$PID_FILE"; then
        tail -n 20 "$LOG" >&2
        rm -f "$PID_FILE"
        die "the scheduler exited; its log is above ($LOG)"
    fi
    sleep 0.1
done
die "the scheduler wrote no $SCHEDULER_FILE in ${WAIT_SECONDS}s; see $LOG"
