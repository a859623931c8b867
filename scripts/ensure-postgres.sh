#!/usr/bin/env bash
# Run a command with a reachable PostgreSQL, its DSN exported as
# EVENTSOURCING_KIT_TEST_DSN.
#
#   scripts/ensure-postgres.sh COMMAND [ARG...]
#
# Where the server comes from, first match wins:
#   a) EVENTSOURCING_KIT_TEST_DSN, when already set: the caller chose, so it is
#      used as is (only probed, to say early when it does not answer);
#   b) postgresql://postgres@127.0.0.1:$EVENTSOURCING_KIT_PG_PROBE_PORT/test
#      (port 5432 by default), when it answers; its `test` database is created
#      if the server lacks it;
#   c) a throwaway cluster: initdb + pg_ctl (from PATH or /usr/lib/postgresql/*/bin)
#      in a temp dir, on a free 127.0.0.1 port, trust auth; stopped and removed
#      when COMMAND ends, however it ends.
# With none of these, CI=true is an error (a CI run that silently skips the
# PostgreSQL tests would hide regressions); elsewhere a warning, and COMMAND runs
# without the variable so the PostgreSQL tests skip.
#
# Point (b) at a dead port (EVENTSOURCING_KIT_PG_PROBE_PORT=1) to exercise (c);
# EVENTSOURCING_KIT_PG_THROWAWAY=0 turns (c) off.
# EVENTSOURCING_KIT_PYTHON names the interpreter that has asyncpg (for the probe).
set -euo pipefail

PYTHON=${EVENTSOURCING_KIT_PYTHON:-.venv/bin/python}
PROBE_PORT=${EVENTSOURCING_KIT_PG_PROBE_PORT:-5432}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROBE=("$PYTHON" "$HERE/pg_probe.py")

say() { echo "ensure-postgres: $*" >&2; }

if [[ $# -eq 0 ]]; then
    say "usage: $0 COMMAND [ARG...]"
    exit 64
fi

is_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

# --- (c) helpers: a throwaway cluster ------------------------------------------

cluster_dir=""
cluster_user=""
pg_bin=""

find_pg_bin() {
    # Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<major>/bin;
    # take the newest major there when PATH has none.
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
        return 0
    fi
    return 1
}

# initdb refuses to run as root, so as root the cluster belongs to an
# unprivileged account: `postgres` where the OS package made one, else `nobody`.
as_cluster_user() {
    if [[ -z "$cluster_user" ]]; then
        "$@"
    else
        runuser -u "$cluster_user" -- "$@"
    fi
}

stop_cluster() {
    [[ -n "$cluster_dir" ]] || return 0
    if [[ -f "$cluster_dir/data/postmaster.pid" ]]; then
        (cd "$cluster_dir" && as_cluster_user "$pg_bin/pg_ctl" -D "$cluster_dir/data" \
            -m fast -w stop >/dev/null) || say "could not stop the cluster in $cluster_dir"
    fi
    rm -rf "$cluster_dir"
    say "stopped and removed the throwaway cluster"
    cluster_dir=""
}

free_port() {
    # Binding to port 0 lets the kernel pick a free port; the tiny race until
    # postgres binds it is acceptable for a test cluster.
    "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

start_cluster() {
    [[ "${EVENTSOURCING_KIT_PG_THROWAWAY:-1}" != "0" ]] || return 1
    pg_bin=$(find_pg_bin) || return 1
    if [[ $(id -u) -eq 0 ]]; then
        if id postgres >/dev/null 2>&1; then cluster_user=postgres; else cluster_user=nobody; fi
    fi
    cluster_dir=$(mktemp -d "${TMPDIR:-/tmp}/eventsourcing-kit-pg.XXXXXX")
    trap stop_cluster EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    [[ -z "$cluster_user" ]] || chown "$cluster_user" "$cluster_dir"
    local port
    port=$(free_port) || return 1
    say "starting a throwaway cluster ($pg_bin, user ${cluster_user:-$(id -un)}) on 127.0.0.1:$port"
    # cd into the cluster dir: the unprivileged user may not be able to read
    # the caller's working directory, and postgres refuses to start then.
    # (errexit does not apply inside a function called from `if`, hence the &&.)
    (
        cd "$cluster_dir" &&
            as_cluster_user "$pg_bin/initdb" -D "$cluster_dir/data" --auth=trust \
                --username=postgres --encoding=UTF8 --locale=C --no-sync \
                >"$cluster_dir/initdb.log" 2>&1 &&
            # Durability off: the cluster is thrown away, and speed matters.
            as_cluster_user "$pg_bin/pg_ctl" -D "$cluster_dir/data" -l "$cluster_dir/server.log" \
                -w -t 60 -o "-c listen_addresses=127.0.0.1 -c port=$port \
                -c unix_socket_directories=$cluster_dir -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
    ) || {
        say "the throwaway cluster did not start; its logs:"
        cat "$cluster_dir"/*.log >&2 2>/dev/null || true
        return 1
    }
    local dsn="postgresql://postgres@127.0.0.1:$port/test"
    "${PROBE[@]}" "$dsn" --create-database || return 1
    export EVENTSOURCING_KIT_TEST_DSN="$dsn"
}

# --- choose the server ------------------------------------------------------------

if [[ -n "${EVENTSOURCING_KIT_TEST_DSN:-}" ]]; then
    say "using EVENTSOURCING_KIT_TEST_DSN from the environment"
    if ! "${PROBE[@]}" "$EVENTSOURCING_KIT_TEST_DSN"; then
        if is_ci; then
            say "ERROR: EVENTSOURCING_KIT_TEST_DSN is set but does not answer (see above)"
            exit 1
        fi
        say "WARNING: EVENTSOURCING_KIT_TEST_DSN does not answer; PostgreSQL tests will fail or skip"
    fi
else
    local_dsn="postgresql://postgres@127.0.0.1:$PROBE_PORT/test"
    if "${PROBE[@]}" "$local_dsn" --create-database; then
        say "using the server at 127.0.0.1:$PROBE_PORT"
        export EVENTSOURCING_KIT_TEST_DSN="$local_dsn"
    elif say "nothing usable at 127.0.0.1:$PROBE_PORT; trying a throwaway cluster" &&
        start_cluster; then
        :
    else
        stop_cluster
        msg="no PostgreSQL answers at 127.0.0.1:$PROBE_PORT (user postgres, trust auth)"
        msg+=" and no throwaway cluster could be started (initdb/pg_ctl in PATH or"
        msg+=" /usr/lib/postgresql/*/bin). Start a server, install PostgreSQL's server"
        msg+=" package, or set EVENTSOURCING_KIT_TEST_DSN."
        if is_ci; then
            say "ERROR: $msg"
            exit 1
        fi
        say "WARNING: $msg The PostgreSQL tests will skip."
    fi
fi

# Not exec: the EXIT trap must outlive COMMAND to stop the throwaway cluster.
status=0
"$@" || status=$?
exit "$status"
