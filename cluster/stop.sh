#!/usr/bin/env bash
# Stop what start-workers.sh and start-scheduler.sh started on this host, by their PID files:
# the workers first (SIGTERM lets each nanny close its worker), then the scheduler; whatever is
# still alive after DIALFLOW_STOP_TIMEOUT seconds (30) gets SIGKILL.
#
#   cluster/stop.sh [--dir DIR] [--workers-only]
set -euo pipefail
# shellcheck source=cluster/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

WAIT_SECONDS="${DIALFLOW_STOP_TIMEOUT:-30}"
WORKERS_ONLY=0
while (($#)); do
    case "$1" in
        --dir) CLUSTER_DIR="$2"; shift 2 ;;
        --workers-only) WORKERS_ONLY=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

NODE="$(hostname -s 2>/dev/null || hostname)"

# SIGTERM every live process of the PID files given, wait, SIGKILL the rest, remove the files.
stop_all() {
    local file pid live=()
    for file in "$@"; do
        [[ -f "$file" ]] || continue
        if pid_alive "$file"; then
            pid="$(cat "$file")"
            kill -TERM "$pid" 2>/dev/null || true
            live+=("$file")
            echo "stopping $(basename "$file" .pid) (PID $pid)"
        else
            rm -f "$file"
        fi
    done
    local i
    for ((i = 0; i < WAIT_SECONDS * 10 && ${#live[@]}; i++)); do
        local still=()
        for file in "${live[@]}"; do
            if pid_alive "$file"; then still+=("$file"); else rm -f "$file"; fi
        done
        live=("${still[@]+"${still[@]}"}")
        ((${#live[@]})) && sleep 0.1
    done
    for file in "${live[@]+"${live[@]}"}"; do
        pid="$(cat "$file")"
        echo "$(basename "$file" .pid) (PID $pid) ignored SIGTERM for ${WAIT_SECONDS}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$file"
    done
}

shopt -s nullglob
stop_all "$CLUSTER_DIR"/worker-"$NODE"-*.pid
if ((WORKERS_ONLY == 0)); then
    stop_all "$CLUSTER_DIR/scheduler.pid"
fi
