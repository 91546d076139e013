# Shared by start-scheduler.sh, start-workers.sh and stop.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this

DASK="${DASK:-dask}" # the `dask` command of the cluster's environment
# PID files, logs and scheduler.json; outside the checkout, so that git status stays clean.
CLUSTER_DIR="${DIALFLOW_CLUSTER_DIR:-${TMPDIR:-/tmp}/dialflow-cluster-$(id -un)}"
TLS_CA_FILE="${DIALFLOW_TLS_CA_FILE:-}"
TLS_CERT="${DIALFLOW_TLS_CERT:-}"
TLS_KEY="${DIALFLOW_TLS_KEY:-}"

# Print the script's leading comment block.
usage() {
    sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# Return 0 when the PID file names a live dask process (a recycled PID of another program is not).
pid_alive() {
    local pid
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    grep -q dask "/proc/$pid/cmdline" 2>/dev/null || ! [[ -d /proc ]]
}

# TLS: all three files or none; set TLS_FLAGS for the dask command.
tls_flags() {
    TLS_FLAGS=()
    local given=0
    [[ -n "$TLS_CA_FILE" ]] && given=$((given + 1))
    [[ -n "$TLS_CERT" ]] && given=$((given + 1))
    [[ -n "$TLS_KEY" ]] && given=$((given + 1))
    if ((given == 0)); then
        return 0
    fi
    ((given == 3)) || die "give all three of --tls-ca-file, --tls-cert and --tls-key, or none"
    local file
    for file in "$TLS_CA_FILE" "$TLS_CERT" "$TLS_KEY"; do
        [[ -f "$file" ]] || die "no such TLS file: $file"
    done
    TLS_FLAGS=(--tls-ca-file "$TLS_CA_FILE" --tls-cert "$TLS_CERT" --tls-key "$TLS_KEY")
}

require_dask() {
    command -v "$DASK" >/dev/null 2>&1 ||
        die "no '$DASK' command: activate the cluster's environment (conda activate dialflow, or source .venv/bin/activate) or set DASK=/path/to/dask"
}
