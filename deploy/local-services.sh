#!/usr/bin/env bash
# Makes sure the backing services Hearth's tests and services need are up on loopback:
#   PostgreSQL  HEARTH_DATABASE__URL  (default postgres://postgres@127.0.0.1:5432/hearth)
#   Redis       HEARTH_REDIS__URL     (default redis://127.0.0.1:6379)
#   NATS        HEARTH_NATS__URL      (default nats://127.0.0.1:4222), with JetStream
#
# Idempotent: whatever already answers on its port is left alone. Whatever does not is
# installed from Debian's packages if its binary is missing (needs root), then started
# on loopback. Then: waits (<= 30 s each) for the ports, makes sure the database in the
# URL exists, and that NATS has JetStream on.
#
#   deploy/local-services.sh           # make it so
#   deploy/local-services.sh --check   # only report; change nothing; exit 1 if anything is missing
#
# LOCAL DEV / CI BOXES ONLY: if PostgreSQL refuses our TCP login, this script switches the
# local cluster's pg_hba.conf to `trust` for local sockets, 127.0.0.1/32 and ::1/128
# (anyone on the machine may then connect as any role without a password). Never run it
# against a machine whose PostgreSQL matters.
set -euo pipefail

PATH="$PATH:/usr/sbin:/sbin" # nats-server and start-stop-daemon live here on Debian

DB_URL="${HEARTH_DATABASE__URL:-postgres://postgres@127.0.0.1:5432/hearth}"
REDIS_URL="${HEARTH_REDIS__URL:-redis://127.0.0.1:6379}"
NATS_URL="${HEARTH_NATS__URL:-nats://127.0.0.1:4222}"
NATS_URL="${NATS_URL%%,*}" # a server list: manage the first one
WAIT_SECS=30
LOG="/var/tmp/hearth-local-services.log" # full output of apt-get, pg_createcluster, ...

CHECK=false
case "${1:-}" in
    "") ;;
    --check) CHECK=true ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

say() { printf '%s\n' "$*"; }
die() { printf 'local-services: ERROR: %s\n' "$*" >&2; exit 1; }

# Runs a command with its output appended to $LOG; on failure shows the tail and dies.
run_logged() {
    local what="$1"; shift
    { printf '\n### %s: %s\n' "$(date -Is)" "$*" >>"$LOG"; } 2>/dev/null || LOG="/tmp/hearth-local-services.$EUID.log"
    if ! "$@" >>"$LOG" 2>&1; then
        tail -n 15 "$LOG" | sed 's/^/    | /' >&2
        die "$what failed: $* (full log: $LOG)"
    fi
}

# ---------------------------------------------------------------- URL parsing
# parse_url URL DEFAULT_PORT -> sets U_USER U_PASS U_HOST U_PORT U_PATH
urldecode() { printf '%b' "${1//%/\\x}"; }
parse_url() {
    local url="$1" default_port="$2" rest auth hostport info
    [[ "$url" == *://* ]] || die "cannot parse '$url': expected scheme://[user[:password]@]host[:port][/path]"
    rest="${url#*://}"
    auth="${rest%%[/?#]*}"
    U_PATH="${rest:${#auth}}"
    U_PATH="${U_PATH%%[?#]*}"
    U_PATH="$(urldecode "${U_PATH#/}")"
    U_USER="" U_PASS=""
    hostport="$auth"
    if [[ "$auth" == *@* ]]; then
        info="${auth%@*}"
        hostport="${auth##*@}"
        U_USER="$(urldecode "${info%%:*}")"
        if [[ "$info" == *:* ]]; then U_PASS="$(urldecode "${info#*:}")"; fi
    fi
    if [[ "$hostport" == \[* ]]; then # [::1]:port
        U_HOST="${hostport#[}"
        U_HOST="${U_HOST%%]*}"
        U_PORT="${hostport#*]}"
        U_PORT="${U_PORT#:}"
    else
        U_HOST="${hostport%%:*}"
        U_PORT=""
        if [[ "$hostport" == *:* ]]; then U_PORT="${hostport#*:}"; fi
    fi
    U_PORT="${U_PORT:-$default_port}"
    [[ -n "$U_HOST" ]] || die "no host in '$url' (unix sockets are not supported here; use 127.0.0.1)"
    [[ "$U_PORT" =~ ^[0-9]+$ ]] || die "bad port '$U_PORT' in '$url'"
}

parse_url "$DB_URL" 5432
PG_HOST="$U_HOST" PG_PORT="$U_PORT" PG_USER="$U_USER" PG_PASS="$U_PASS" PG_DB="$U_PATH"
PG_DB="${PG_DB:-${PG_USER:-$(id -un)}}" # libpq: no database means "same as the role"
parse_url "$REDIS_URL" 6379
REDIS_HOST="$U_HOST" REDIS_PORT="$U_PORT"
parse_url "$NATS_URL" 4222
NATS_HOST="$U_HOST" NATS_PORT="$U_PORT"

addr() { if [[ "$1" == *:* ]]; then printf '[%s]:%s' "$1" "$2"; else printf '%s:%s' "$1" "$2"; fi; }
PG_ADDR="$(addr "$PG_HOST" "$PG_PORT")"
REDIS_ADDR="$(addr "$REDIS_HOST" "$REDIS_PORT")"
NATS_ADDR="$(addr "$NATS_HOST" "$NATS_PORT")"

is_loopback() { case "$1" in 127.* | localhost | ::1) return 0 ;; *) return 1 ;; esac }
bind_addr() { if [[ "$1" == localhost ]]; then echo 127.0.0.1; else echo "$1"; fi; }

# ---------------------------------------------------------------- probes
port_open() { timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# wait_port NAME HOST PORT LOGFILE: bounded wait; dies with the log's tail on timeout.
wait_port() {
    local name="$1" host="$2" port="$3" logfile="$4" start=$SECONDS
    until port_open "$host" "$port"; do
        if ((SECONDS - start >= WAIT_SECS)); then
            if [[ -f "$logfile" && -r "$logfile" ]]; then tail -n 15 "$logfile" | sed 's/^/    | /' >&2 || true; fi
            die "$name: still not listening on $(addr "$host" "$port") after ${WAIT_SECS}s (log: $logfile)"
        fi
        sleep 0.5
    done
    say "$name: listening on $(addr "$host" "$port") (after $((SECONDS - start))s)"
}

have_pg_server() { command -v pg_ctlcluster >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }
# "ver cluster port status owner datadir logfile" of the Debian cluster configured for $PG_PORT, if any
pg_local_cluster() {
    command -v pg_lsclusters >/dev/null || return 0
    pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print; exit }'
}

listening_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2; }

# ---------------------------------------------------------------- 1. what is already up
PG_UP=false REDIS_UP=false NATS_UP=false
pkgs=()
missing=()

if port_open "$PG_HOST" "$PG_PORT"; then
    PG_UP=true
    say "postgres: listening on $PG_ADDR"
else
    say "postgres: nothing listening on $PG_ADDR"
    is_loopback "$PG_HOST" || die "postgres: $PG_ADDR is not a loopback address, so this script cannot start it; start it there or point HEARTH_DATABASE__URL at 127.0.0.1"
    have_pg_server || pkgs+=(postgresql)
fi
# psql/createdb are needed to check the database exists, even when the server is already up.
if ! command -v psql >/dev/null && [[ " ${pkgs[*]} " != *" postgresql "* ]]; then pkgs+=(postgresql-client); fi

if port_open "$REDIS_HOST" "$REDIS_PORT"; then
    REDIS_UP=true
    say "redis: listening on $REDIS_ADDR"
else
    say "redis: nothing listening on $REDIS_ADDR"
    is_loopback "$REDIS_HOST" || die "redis: $REDIS_ADDR is not a loopback address, so this script cannot start it; start it there or point HEARTH_REDIS__URL at 127.0.0.1"
    command -v redis-server >/dev/null || pkgs+=(redis-server)
fi

if port_open "$NATS_HOST" "$NATS_PORT"; then
    NATS_UP=true
    say "nats: listening on $NATS_ADDR"
else
    say "nats: nothing listening on $NATS_ADDR"
    is_loopback "$NATS_HOST" || die "nats: $NATS_ADDR is not a loopback address, so this script cannot start it; start it there or point HEARTH_NATS__URL at 127.0.0.1"
    command -v nats-server >/dev/null || pkgs+=(nats-server)
fi

# ---------------------------------------------------------------- 2. install what is missing
if ((${#pkgs[@]})); then
    install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs[*]}"
    if $CHECK; then
        say "check: would install ${pkgs[*]}"
        missing+=("packages: ${pkgs[*]}")
    elif ((EUID != 0)); then
        die "need to install ${pkgs[*]}, which needs root; run: sudo sh -c '$install_cmd' (or run this script as root)"
    else
        command -v apt-get >/dev/null || die "need ${pkgs[*]} but apt-get is not available (this script expects Debian 12); install them yourself"
        say "install: apt-get update (log: $LOG)"
        run_logged "apt-get update" apt-get update
        say "install: apt-get install ${pkgs[*]}"
        run_logged "apt-get install" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "${pkgs[@]}"
    fi
fi

need_root_to_start() {
    ((EUID == 0)) || die "$1: not listening on $2 and starting it needs root; run: sudo $0"
}

# ---------------------------------------------------------------- 3. start what is down
# (Debian packages may start their service on install, so look again before starting.)
PG_LOGFILE="/var/log/postgresql" REDIS_LOGFILE="/var/log/redis/hearth.log" NATS_LOGFILE="/var/log/nats-server.log"
PG_STARTED=false REDIS_STARTED=false NATS_STARTED=false

start_postgres() {
    local line ver cluster status
    line="$(pg_local_cluster)"
    if [[ -z "$line" ]]; then
        if [[ -n "$(pg_lsclusters -h 2>/dev/null)" ]]; then
            die "postgres: no cluster is configured for port $PG_PORT (have: $(pg_lsclusters -h | awk '{ printf "%s%s/%s on port %s", (NR > 1 ? ", " : ""), $1, $2, $3 }')); point HEARTH_DATABASE__URL at one of those ports, or run: pg_conftool <version> main set port $PG_PORT"
        fi
        ver="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
        say "postgres: creating cluster $ver/main on port $PG_PORT"
        run_logged "pg_createcluster" pg_createcluster --port "$PG_PORT" "$ver" main
        line="$(pg_local_cluster)"
        [[ -n "$line" ]] || die "postgres: pg_createcluster succeeded but pg_lsclusters shows no cluster on port $PG_PORT"
    fi
    read -r ver cluster _ status _ _ PG_LOGFILE <<<"$line"
    if [[ "$status" == online* ]]; then
        say "postgres: cluster $ver/$cluster is running but not answering on $PG_ADDR; waiting (check listen_addresses in /etc/postgresql/$ver/$cluster/postgresql.conf)"
        return
    fi
    # Run as root, pg_ctlcluster starts the server as the cluster owner (postgres), since
    # postgres refuses to run as root. --skip-systemctl-redirect: works with or without systemd.
    say "postgres: starting cluster $ver/$cluster (pg_ctlcluster, as user postgres)"
    run_logged "pg_ctlcluster start" pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start
}

start_redis() {
    local bind=(127.0.0.1 -::1) # "-": skip ::1 quietly if IPv6 is off
    case "$REDIS_HOST" in 127.0.0.1 | localhost | ::1) ;; *) bind=("$REDIS_HOST") ;; esac
    mkdir -p /var/lib/redis /var/log/redis
    say "redis: starting redis-server on $REDIS_ADDR (no persistence)"
    run_logged "redis-server" redis-server --daemonize yes --bind "${bind[@]}" --port "$REDIS_PORT" \
        --save "" --appendonly no --dir /var/lib/redis --logfile "$REDIS_LOGFILE"
}

start_nats() {
    local bin
    bin="$(command -v nats-server)"
    mkdir -p /var/lib/nats-server
    say "nats: starting nats-server with JetStream on $NATS_ADDR"
    # The per-port pidfile keeps --oknodo from mistaking a nats-server on another port for ours.
    run_logged "nats-server" start-stop-daemon --start --oknodo --background \
        --make-pidfile --pidfile "/run/hearth-nats-server-$NATS_PORT.pid" --exec "$bin" -- \
        -a "$(bind_addr "$NATS_HOST")" -p "$NATS_PORT" -js -sd /var/lib/nats-server -l "$NATS_LOGFILE"
}

if $CHECK; then
    $PG_UP || missing+=("postgres on $PG_ADDR")
    $REDIS_UP || missing+=("redis on $REDIS_ADDR")
    $NATS_UP || missing+=("nats on $NATS_ADDR")
else
    if ! $PG_UP; then
        if port_open "$PG_HOST" "$PG_PORT"; then
            say "postgres: listening on $PG_ADDR (started by its package)"
        else
            need_root_to_start postgres "$PG_ADDR"
            start_postgres
            PG_STARTED=true
        fi
    fi
    if ! $REDIS_UP; then
        if port_open "$REDIS_HOST" "$REDIS_PORT"; then
            say "redis: listening on $REDIS_ADDR (started by its package)"
        else
            need_root_to_start redis "$REDIS_ADDR"
            start_redis
            REDIS_STARTED=true
        fi
    fi
    if ! $NATS_UP; then
        if port_open "$NATS_HOST" "$NATS_PORT"; then
            say "nats: listening on $NATS_ADDR (started by its package)"
        else
            need_root_to_start nats "$NATS_ADDR"
            start_nats
            NATS_STARTED=true
        fi
    fi

    # ------------------------------------------------------------ 4. wait for the ports
    if $PG_STARTED; then wait_port postgres "$PG_HOST" "$PG_PORT" "$PG_LOGFILE"; fi
    if $REDIS_STARTED; then wait_port redis "$REDIS_HOST" "$REDIS_PORT" "$REDIS_LOGFILE"; fi
    if $NATS_STARTED; then wait_port nats "$NATS_HOST" "$NATS_PORT" "$NATS_LOGFILE"; fi
fi

# ---------------------------------------------------------------- 5. verify each one
# PostgreSQL: the URL's role logs in over TCP, and the URL's database exists.
if [[ -n "$PG_PASS" ]]; then export PGPASSWORD="$PG_PASS"; fi
export PGCONNECT_TIMEOUT=5
pg_conn=(-h "$PG_HOST" -p "$PG_PORT")
if [[ -n "$PG_USER" ]]; then pg_conn+=(-U "$PG_USER"); fi
pg_sql() { psql -X -w -q -A -t "${pg_conn[@]}" -d postgres -c "$1"; }
PG_ROLE="${PG_USER:-$(id -un)}"

# LOCAL DEV ONLY: put `trust` lines for local sockets and loopback first in pg_hba.conf.
pg_trust_loopback() {
    local ver cluster hba
    read -r ver cluster _ <<<"$1"
    hba="/etc/postgresql/$ver/$cluster/pg_hba.conf"
    [[ -w "$hba" ]] || return 1
    grep -q '^# hearth-local-dev' "$hba" && return 1 # already done; it is not the problem
    cp -p "$hba" "$hba.before-hearth" || return 1
    {
        echo "# hearth-local-dev: added by deploy/local-services.sh. LOCAL DEV BOX ONLY: any local"
        echo "# user may connect as any role without a password. Original: pg_hba.conf.before-hearth"
        echo "local   all   all                  trust"
        echo "host    all   all   127.0.0.1/32   trust"
        echo "host    all   all   ::1/128        trust"
        echo "# end hearth-local-dev"
        echo
        cat "$hba.before-hearth"
    } >"$hba.hearth-new" || return 1
    cat "$hba.hearth-new" >"$hba" || { cat "$hba.before-hearth" >"$hba"; return 1; } # in place: keeps owner and mode
    rm -f "$hba.hearth-new"
    say "postgres: set trust auth for local, 127.0.0.1/32 and ::1/128 in $hba (local dev only; original kept as $hba.before-hearth)"
    run_logged "pg_ctlcluster reload" pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" reload
    say "postgres: reloaded cluster $ver/$cluster"
}

PG_OK=false
if ! command -v psql >/dev/null; then
    $CHECK || die "postgres: psql not found even after installing postgresql-client"
    say "check: psql missing, cannot check role '$PG_ROLE' or database '$PG_DB'"
elif $CHECK && ! $PG_UP; then
    : # nothing to log in to
else
    if ! err="$(pg_sql 'select 1' 2>&1 >/dev/null)"; then
        cluster_line="$(pg_local_cluster)"
        if ! $CHECK && ((EUID == 0)) && [[ -n "$cluster_line" ]] &&
            [[ "$err" == *pg_hba.conf* || "$err" == *"authentication failed"* || "$err" == *"no password supplied"* ]] &&
            pg_trust_loopback "$cluster_line"; then
            for _ in 1 2 3 4 5 6 7 8 9 10; do # reload is asynchronous
                if err="$(pg_sql 'select 1' 2>&1 >/dev/null)"; then break; fi
                sleep 0.5
            done
        fi
    fi
    if pg_sql 'select 1' >/dev/null 2>&1; then
        say "postgres: role '$PG_ROLE' can log in over TCP"
        exists="$(pg_sql "select 1 from pg_database where datname = '${PG_DB//\'/\'\'}'")" ||
            die "postgres: cannot query pg_database on $PG_ADDR"
        if [[ "$exists" == 1 ]]; then
            say "postgres: database '$PG_DB' exists"
            PG_OK=true
        elif $CHECK; then
            say "check: would create database '$PG_DB'"
            missing+=("database '$PG_DB'")
        else
            run_logged "createdb $PG_DB" createdb -w "${pg_conn[@]}" -- "$PG_DB"
            say "postgres: created database '$PG_DB'"
            PG_OK=true
        fi
    else
        $CHECK || die "postgres: role '$PG_ROLE' cannot log in over TCP to $PG_ADDR: ${err//$'\n'/ }"
        say "check: role '$PG_ROLE' cannot log in over TCP to $PG_ADDR: ${err//$'\n'/ }"
        missing+=("postgres login as '$PG_ROLE'")
    fi
fi

# Redis: it answers PING like a Redis (+PONG, or -NOAUTH when a password is set).
REDIS_OK=false
if ! $CHECK || $REDIS_UP; then
    reply="$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"; printf "PING\r\n" >&3; IFS= read -r l <&3; printf "%s" "$l"' \
        _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null || true)"
    reply="${reply//$'\r'/}"
    case "$reply" in
        +PONG | -NOAUTH* | -ERR*) say "redis: answers PING ($reply)"; REDIS_OK=true ;;
        *) die "redis: something listens on $REDIS_ADDR but it does not answer PING like Redis (got: '${reply:-nothing}')" ;;
    esac
fi

# NATS: the INFO it sends on connect must say "jetstream":true.
NATS_OK=false
if ! $CHECK || $NATS_UP; then
    info="$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"; IFS= read -r l <&3; printf "CONNECT {\"verbose\":false}\r\nPING\r\n" >&3; printf "%s" "$l"' \
        _ "$NATS_HOST" "$NATS_PORT" 2>/dev/null || true)"
    info="${info//$'\r'/}"
    if [[ "$info" != INFO* ]]; then
        die "nats: something listens on $NATS_ADDR but it did not greet with INFO like a NATS server (got: '${info:0:80}')"
    elif [[ "$info" != *'"jetstream":true'* ]]; then
        pid="$(listening_pid "$NATS_PORT" || true)" # ss (iproute2) may be absent
        die "nats: the server on $NATS_ADDR runs WITHOUT JetStream; stop it (kill ${pid:-<pid from: ss -ltnp 'sport = :$NATS_PORT'>}) and re-run $0, which starts it with -js; or restart it yourself with: nats-server -a $(bind_addr "$NATS_HOST") -p $NATS_PORT -js -sd /var/lib/nats-server"
    fi
    say "nats: JetStream is on"
    NATS_OK=true
fi

# ---------------------------------------------------------------- summary
if $CHECK && ((${#missing[@]})); then
    printf -v joined '%s; ' "${missing[@]}"
    say "check: NOT ready: ${joined%; }; run $0 (as root) to fix"
    exit 1
fi
$PG_OK && $REDIS_OK && $NATS_OK || die "internal: a service was not verified"
say "ready: postgres $PG_ADDR/$PG_DB (role $PG_ROLE), redis $REDIS_ADDR, nats $NATS_ADDR (JetStream)"
