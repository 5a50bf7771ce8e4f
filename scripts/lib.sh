# shellcheck shell=bash
# scripts/lib.sh — helpers shared by scripts/up.sh and scripts/test.sh.
#
# Source it:   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# or run single steps directly:
#   bash scripts/lib.sh ensure_postgres ensure_rabbitmq ensure_feature_flags
#
# Every ensure_* function is idempotent: when the thing is already there it
# does nothing (apart from a log line).
#
# Environment (all optional):
#   ARIZA_DATABASE_URL      default postgres://postgres@127.0.0.1:5432/ariza?sslmode=disable
#   ARIZA_AMQP_URL          default amqp://guest:guest@127.0.0.1:5672/%2f
#   ARIZA_SERVICE_TIMEOUT   seconds to wait for a service to come up (default 60)
#   ARIZA_TEST_RUNNER       force the test runner: "nextest" or "cargo-test"
#
# Logging goes to stderr so functions whose stdout is captured
# (ensure_nextest) stay clean.

# Sourcing twice is harmless.
if [[ -n "${_ARIZA_LIB_SOURCED:-}" ]]; then
    return 0
fi
_ARIZA_LIB_SOURCED=1

ARIZA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${ARIZA_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/ariza?sslmode=disable}"
: "${ARIZA_AMQP_URL:=amqp://guest:guest@127.0.0.1:5672/%2f}"
: "${ARIZA_SERVICE_TIMEOUT:=60}"
export ARIZA_ROOT ARIZA_DATABASE_URL ARIZA_AMQP_URL

ARIZA_INSTALL_HINT="install PostgreSQL 15+ with contrib (pg_trgm) and RabbitMQ 3.10+, then rerun"

# --------------------------------------------------------------------------
# logging
# --------------------------------------------------------------------------

log() { printf '[ariza] %s\n' "$*" >&2; }
warn() { printf '[ariza] warning: %s\n' "$*" >&2; }
die() {
    printf '[ariza] error: %s\n' "$*" >&2
    exit 1
}

# --------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------

_have() { command -v "$1" >/dev/null 2>&1; }

_is_root() { [[ "$(id -u)" -eq 0 ]]; }

# True when PID 1 is systemd (i.e. systemctl can actually start units).
_systemd_is_pid1() {
    [[ "$(cat /proc/1/comm 2>/dev/null)" == systemd ]] && _have systemctl
}

_is_debian_like() {
    [[ -f /etc/debian_version ]] && _have apt-get
}

# Run a command as root: directly when we are root, via passwordless sudo
# otherwise. Returns 127 when neither is possible.
_as_root() {
    if _is_root; then
        "$@"
    elif _have sudo && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 127
    fi
}

# Hide the password in a URL for printing.
redact_url() {
    # shellcheck disable=SC2001
    sed -e 's#^\([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*\):[^@/]*@#\1:***@#' <<<"$1"
}

# _url_host URL  /  _url_port URL DEFAULT_PORT
_url_authority() {
    local u=$1
    u=${u#*://}
    u=${u%%[/?#]*}
    u=${u##*@}
    printf '%s' "$u"
}
_url_host() {
    local a
    a=$(_url_authority "$1")
    if [[ $a == \[* ]]; then
        a=${a#\[}
        a=${a%%\]*}
    else
        a=${a%%:*}
    fi
    printf '%s' "${a:-localhost}"
}
_url_port() {
    local a p=""
    a=$(_url_authority "$1")
    if [[ $a == \[* ]]; then
        a=${a#*\]}
        [[ $a == :* ]] && p=${a#:}
    elif [[ $a == *:* ]]; then
        p=${a##*:}
    fi
    printf '%s' "${p:-$2}"
}
_is_local_host() {
    case "$1" in
        localhost | 127.* | ::1 | 0.0.0.0 | '') return 0 ;;
        *) return 1 ;;
    esac
}

# TCP connect check with a timeout, using bash's /dev/tcp.
_tcp_open() {
    # shellcheck disable=SC2016 # $1/$2 expand in the inner bash
    timeout 3 bash -c ': <"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

# AMQP 0-9-1 check: send the protocol header and expect a method frame
# (Connection.Start, first byte 0x01) back. A bare TCP connect is not enough:
# transparent proxies and port forwarders accept connections too.
_amqp_ready() {
    local reply
    # shellcheck disable=SC2016 # $1/$2 expand in the inner bash
    reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "AMQP\0\0\11\1" >&3 && head -c 1 <&3 | od -An -tx1' \
        _ "$1" "$2" 2>/dev/null) || return 1
    [[ ${reply//[[:space:]]/} == 01 ]]
}

# Postgres URL pieces: database name, and the same URL pointing at the
# "postgres" maintenance database (query string kept).
_pg_url_dbname() {
    local rest=${1#*://}
    if [[ $rest != */* ]]; then
        printf ''
        return
    fi
    rest=${rest#*/}
    rest=${rest%%[?#]*}
    printf '%s' "$rest"
}
_pg_admin_url() {
    local url=$1 scheme rest auth query=""
    scheme=${url%%://*}
    rest=${url#*://}
    auth=${rest%%[/?#]*}
    rest=${rest:${#auth}}
    [[ $rest == *\?* ]] && query="?${rest#*\?}"
    printf '%s://%s/postgres%s' "$scheme" "$auth" "$query"
}

_apt_install() {
    if [[ -z "${_ARIZA_APT_UPDATED:-}" ]]; then
        apt-get update || die "apt-get update failed"
        _ARIZA_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" ||
        die "apt-get install $* failed"
}

# Decide whether we may install packages; die with instructions if not.
_install_or_die() {
    local what=$1
    shift
    if _is_debian_like && _is_root; then
        log "$what is not installed: installing $* from the distribution's packages"
        _apt_install "$@"
    elif _is_debian_like; then
        die "$what is not installed and this script is not running as root; run: sudo apt-get install -y $* — or $ARIZA_INSTALL_HINT"
    else
        die "$what is not installed (and this is not a Debian/Ubuntu system): $ARIZA_INSTALL_HINT"
    fi
}

# Wait until "$@" succeeds, polling once a second, for ARIZA_SERVICE_TIMEOUT s.
_wait_until() {
    local deadline=$((SECONDS + ARIZA_SERVICE_TIMEOUT))
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

_pg_ready() {
    local host=$1 port=$2
    if _have pg_isready; then
        pg_isready -q -h "$host" -p "$port" -t 3
    else
        _tcp_open "$host" "$port"
    fi
}

_pg_server_installed() {
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null 2>&1 ||
        _have postgres || compgen -G '/usr/pgsql-*/bin/postgres' >/dev/null 2>&1
}

# Debian clusters ("VERSION NAME") listening on PORT; all clusters if none
# matches the port.
_pg_clusters_for_port() {
    local port=$1 out
    _have pg_lsclusters || return 0
    out=$(pg_lsclusters -h 2>/dev/null | awk -v p="$port" '$3 == p { print $1, $2 }')
    if [[ -z $out ]]; then
        out=$(pg_lsclusters -h 2>/dev/null | awk '{ print $1, $2 }')
    fi
    printf '%s\n' "$out" | sed '/^$/d'
}

_pg_start() {
    local port=$1 ver name started=""
    if _systemd_is_pid1; then
        log "starting PostgreSQL: systemctl start postgresql"
        _as_root systemctl start postgresql ||
            die "could not start PostgreSQL (systemctl start postgresql; need root or passwordless sudo)"
        return 0
    fi
    if _have pg_ctlcluster; then
        if [[ -z "$(_pg_clusters_for_port "$port")" ]] && _have pg_createcluster; then
            ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n1)
            [[ -n $ver ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
            log "no PostgreSQL cluster exists: pg_createcluster $ver main --port $port"
            _as_root pg_createcluster "$ver" main --port "$port" ||
                die "pg_createcluster $ver main failed (need root)"
        fi
        while read -r ver name; do
            [[ -n $ver ]] || continue
            log "starting PostgreSQL: pg_ctlcluster --skip-systemctl-redirect $ver $name start"
            if _as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start; then
                started=1
            fi
        done < <(_pg_clusters_for_port "$port")
        [[ -n $started ]] ||
            die "could not start PostgreSQL with pg_ctlcluster (need root or passwordless sudo); see /var/log/postgresql/"
        return 0
    fi
    die "PostgreSQL is installed but not running on port $port, and no pg_ctlcluster/systemd is available to start it; start it yourself (e.g. pg_ctl -D <datadir> start) and rerun"
}

# Debian's default pg_hba.conf asks for a password on 127.0.0.1; the default
# URL has none. Only called right after this script installed PostgreSQL.
_pg_trust_loopback() {
    local hba ver name
    while read -r ver name; do
        hba="/etc/postgresql/$ver/$name/pg_hba.conf"
        [[ -f $hba ]] || continue
        grep -q 'added by ariza scripts/lib.sh' "$hba" && continue
        log "configuring $hba: passwordless (trust) connections from 127.0.0.1 and ::1 (local development setup)"
        {
            printf '# added by ariza scripts/lib.sh: passwordless loopback access for local development\n'
            printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'
            cat "$hba"
        } >"$hba.ariza.tmp" && cat "$hba.ariza.tmp" >"$hba" && rm -f "$hba.ariza.tmp"
        if _systemd_is_pid1; then
            systemctl reload postgresql || true
        else
            pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload || true
        fi
    done < <(_pg_clusters_for_port "${1:-5432}")
}

# ensure_postgres [URL]  — URL defaults to $ARIZA_DATABASE_URL
ensure_postgres() {
    local url=${1:-$ARIZA_DATABASE_URL} host port installed_now=""
    host=$(_url_host "$url")
    port=$(_url_port "$url" 5432)

    if _pg_ready "$host" "$port"; then
        log "PostgreSQL is running on $host:$port"
    elif ! _is_local_host "$host"; then
        die "PostgreSQL at $host:$port (from $(redact_url "$url")) is not reachable; this script only starts a local server"
    else
        if ! _pg_server_installed; then
            _install_or_die PostgreSQL postgresql postgresql-contrib
            installed_now=1
        fi
        if ! _pg_ready "$host" "$port"; then
            _pg_start "$port"
            log "waiting up to ${ARIZA_SERVICE_TIMEOUT}s for PostgreSQL on $host:$port ..."
            _wait_until _pg_ready "$host" "$port" ||
                die "PostgreSQL did not accept connections on $host:$port within ${ARIZA_SERVICE_TIMEOUT}s; see /var/log/postgresql/ (or journalctl -u postgresql)"
        fi
        [[ -n $installed_now ]] && _pg_trust_loopback "$port"
        log "PostgreSQL is running on $host:$port"
    fi

    # Can we actually log in with this URL?
    if _have psql; then
        local err
        if ! err=$(PGCONNECT_TIMEOUT=5 psql -X -w -q -tA "$(_pg_admin_url "$url")" -c 'SELECT 1' 2>&1 >/dev/null); then
            die "PostgreSQL on $host:$port refused the login from $(redact_url "$url"): ${err} — fix the credentials in the URL or allow them in pg_hba.conf"
        fi
    fi
}

# ensure_database [URL] — create the database named in URL if missing.
ensure_database() {
    local url=${1:-$ARIZA_DATABASE_URL} db admin exists
    db=$(_pg_url_dbname "$url")
    [[ -n $db && $db != postgres ]] || return 0
    _have psql || die "psql not found; install the PostgreSQL client (postgresql-client)"
    admin=$(_pg_admin_url "$url")
    # stdin (not -c) so that psql interpolates :'db' / :"db" safely.
    exists=$(printf '%s\n' "SELECT 1 FROM pg_database WHERE datname = :'db';" |
        PGCONNECT_TIMEOUT=5 psql -X -w -q -tA -v ON_ERROR_STOP=1 -v db="$db" "$admin") ||
        die "could not query pg_database via $(redact_url "$admin")"
    if [[ $exists == 1 ]]; then
        log "database \"$db\" exists"
    else
        log "creating database \"$db\""
        printf '%s\n' 'CREATE DATABASE :"db";' |
            PGCONNECT_TIMEOUT=5 psql -X -w -q -v ON_ERROR_STOP=1 -v db="$db" "$admin" ||
            die "could not create database \"$db\""
    fi
}

# --------------------------------------------------------------------------
# RabbitMQ
# --------------------------------------------------------------------------

# How to invoke rabbitmqctl locally (Debian's wrapper only runs for root or
# the rabbitmq user). Sets the array _RMQCTL; returns 1 if there is none.
# An array rather than a function so that it can run under `timeout`.
_rmqctl_cmd() {
    _have rabbitmqctl || return 1
    if _is_root || [[ "$(id -un)" == rabbitmq ]]; then
        _RMQCTL=(rabbitmqctl)
    elif _have sudo && sudo -n true 2>/dev/null; then
        _RMQCTL=(sudo -n rabbitmqctl)
    else
        _RMQCTL=(rabbitmqctl)
    fi
}

# _rmqctl SECONDS ARGS... — rabbitmqctl with a time limit.
_rmqctl() {
    local secs=$1
    shift
    _rmqctl_cmd || return 127
    timeout "$secs" "${_RMQCTL[@]}" "$@"
}

_rmq_server_installed() {
    _have rabbitmq-server || [[ -x /usr/sbin/rabbitmq-server ]] || [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]
}

_rmq_start() {
    if _systemd_is_pid1; then
        log "starting RabbitMQ: systemctl start rabbitmq-server"
        _as_root systemctl start rabbitmq-server ||
            die "could not start RabbitMQ (systemctl start rabbitmq-server; need root or passwordless sudo)"
        return 0
    fi
    local server=rabbitmq-server
    _have rabbitmq-server || server=/usr/sbin/rabbitmq-server
    log "starting RabbitMQ: rabbitmq-server -detached"
    _as_root "$server" -detached ||
        die "could not start RabbitMQ (rabbitmq-server -detached; need root or passwordless sudo); see /var/log/rabbitmq/"
}

# ensure_rabbitmq [URL] — URL defaults to $ARIZA_AMQP_URL
ensure_rabbitmq() {
    local url=${1:-$ARIZA_AMQP_URL} host port default_port=5672
    [[ $url == amqps://* ]] && default_port=5671
    host=$(_url_host "$url")
    port=$(_url_port "$url" "$default_port")
    local check=_amqp_ready
    [[ $url == amqps://* ]] && check=_tcp_open # TLS: no plain-text probe

    if "$check" "$host" "$port"; then
        log "RabbitMQ is running on $host:$port"
        return 0
    fi
    _is_local_host "$host" ||
        die "RabbitMQ at $host:$port (from $(redact_url "$url")) is not reachable; this script only starts a local server"

    if ! _rmq_server_installed; then
        _install_or_die RabbitMQ rabbitmq-server
    fi
    if ! "$check" "$host" "$port"; then
        # The node may be up but still booting (or listening elsewhere).
        if ! _rmqctl 15 -q status >/dev/null 2>&1; then
            _rmq_start
        fi
        log "waiting up to ${ARIZA_SERVICE_TIMEOUT}s for RabbitMQ on $host:$port ..."
        _wait_until "$check" "$host" "$port" ||
            die "RabbitMQ did not accept connections on $host:$port within ${ARIZA_SERVICE_TIMEOUT}s; see /var/log/rabbitmq/ (or journalctl -u rabbitmq-server)"
        # Listener is up; make sure the boot sequence has finished too.
        _rmqctl "$ARIZA_SERVICE_TIMEOUT" -q await_startup >/dev/null 2>&1 || true
    fi
    log "RabbitMQ is running on $host:$port"
}

# ensure_feature_flags [URL] — enable quorum_queue + stream_queue on the local
# node if rabbitmqctl can talk to it; otherwise warn and carry on.
ensure_feature_flags() {
    local url=${1:-$ARIZA_AMQP_URL} host flags flag state missing=()
    host=$(_url_host "$url")
    if ! _is_local_host "$host"; then
        log "RabbitMQ at $host is remote: not checking feature flags (needs quorum_queue, stream_queue)"
        return 0
    fi
    if ! flags=$(_rmqctl 30 -q list_feature_flags name state --no-table-headers 2>/dev/null); then
        warn "cannot run rabbitmqctl against the local node (not root?); make sure feature flags quorum_queue and stream_queue are enabled: rabbitmqctl enable_feature_flag stream_queue"
        return 0
    fi
    for flag in quorum_queue stream_queue; do
        state=$(awk -v f="$flag" '$1 == f { print $2 }' <<<"$flags")
        [[ $state == enabled ]] || missing+=("$flag")
    done
    if ((${#missing[@]} == 0)); then
        log "RabbitMQ feature flags quorum_queue, stream_queue are enabled"
        return 0
    fi
    for flag in "${missing[@]}"; do
        log "enabling RabbitMQ feature flag $flag"
        _rmqctl 60 -q enable_feature_flag "$flag" >/dev/null ||
            die "could not enable RabbitMQ feature flag $flag (rabbitmqctl enable_feature_flag $flag)"
    done
}

# --------------------------------------------------------------------------
# Chromium (the console's browser test)
# --------------------------------------------------------------------------

# ensure_chromium — headless Chromium and its WebDriver, for the operator console's browser test
# (tests/console/browser.rs). Installs Debian's chromium + chromium-driver when missing; elsewhere
# says what to install (the test then fails with the same message: it never skips).
ensure_chromium() {
    if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
        log "Chromium and chromedriver are installed"
        return 0
    fi
    if _is_debian_like && _is_root; then
        log "Chromium/chromedriver missing (needed by the console's browser test): installing chromium chromium-driver"
        _apt_install chromium chromium-driver
    elif _is_debian_like; then
        warn "Chromium is not installed and this script is not running as root: the console's browser test will fail until you run: sudo apt-get install -y chromium chromium-driver"
    else
        warn "install Chromium and its chromedriver at /usr/bin/chromium and /usr/bin/chromedriver for the console's browser test"
    fi
}

# --------------------------------------------------------------------------
# Rust toolchain
# --------------------------------------------------------------------------

ensure_rust() {
    if ! _have cargo && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
        PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
        export PATH
    fi
    _have cargo ||
        die "cargo is not on PATH; install Rust with rustup (https://rustup.rs: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh), then rerun"

    # Compare with the workspace's rust-version, if any.
    local need have
    need=$(sed -n 's/^rust-version[[:space:]]*=[[:space:]]*"\([0-9.]*\)".*/\1/p' "$ARIZA_ROOT/Cargo.toml" 2>/dev/null | head -n1)
    have=$(rustc --version 2>/dev/null | awk '{ print $2 }')
    have=${have%%-*}
    if [[ -n $need && -n $have ]] &&
        [[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]]; then
        die "rustc $have is older than the workspace's rust-version $need; run: rustup update stable"
    fi
    log "using $(cargo --version)"
}

# ensure_nextest — prints the runner to use on stdout: "nextest" or "cargo-test".
#   runner=$(ensure_nextest)
ensure_nextest() {
    case "${ARIZA_TEST_RUNNER:-}" in
        nextest | cargo-test)
            log "test runner forced by ARIZA_TEST_RUNNER=$ARIZA_TEST_RUNNER"
            printf '%s\n' "$ARIZA_TEST_RUNNER"
            return 0
            ;;
        '') ;;
        *) die "ARIZA_TEST_RUNNER must be 'nextest' or 'cargo-test', not '$ARIZA_TEST_RUNNER'" ;;
    esac
    if cargo nextest --version >/dev/null 2>&1; then
        log "using $(cargo nextest --version 2>/dev/null | head -n1)"
        printf 'nextest\n'
        return 0
    fi
    log "cargo-nextest not found: cargo install cargo-nextest --locked"
    if cargo install cargo-nextest --locked >&2 && cargo nextest --version >/dev/null 2>&1; then
        log "using $(cargo nextest --version 2>/dev/null | head -n1)"
        printf 'nextest\n'
    else
        warn "could not install cargo-nextest; falling back to plain cargo test"
        printf 'cargo-test\n'
    fi
}

# --------------------------------------------------------------------------
# `bash scripts/lib.sh ensure_postgres ensure_rabbitmq ...`
# --------------------------------------------------------------------------

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    (($# > 0)) || die "usage: bash scripts/lib.sh ensure_postgres|ensure_rabbitmq|ensure_feature_flags|ensure_database|ensure_chromium|ensure_rust|ensure_nextest ..."
    for _fn in "$@"; do
        case "$_fn" in
            ensure_postgres | ensure_rabbitmq | ensure_feature_flags | ensure_database | ensure_chromium | ensure_rust | ensure_nextest) "$_fn" ;;
            *) die "unknown function: $_fn" ;;
        esac
    done
fi
