#!/usr/bin/env bash
# scripts/up.sh — bring up the whole ariza system on this machine.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
usage: scripts/up.sh [--detach]
       scripts/up.sh --chat-as TELEGRAM_ID
       scripts/up.sh --stop
       scripts/up.sh -h | --help

Bring up the whole ariza system:
  1. make sure PostgreSQL and RabbitMQ are installed and running (installs
     them from the distribution's packages on Debian/Ubuntu when run as root),
     RabbitMQ feature flags quorum_queue + stream_queue are enabled, Chromium
     and chromedriver are installed (the console's browser test), and cargo
     is available;
  2. create the database if it is missing;
  3. cargo build --release --bin ariza;
  4. ./target/release/ariza migrate;
  5. start ./target/release/ariza workers (all stages), ./target/release/ariza
     bot and the operator console (ariza console serve, 127.0.0.1:8090);
     without ARIZA__TELEGRAM__TOKEN, the workers and the bot talk to a local
     fake Telegram Bot API (ariza fake-bot-api) that prints every message.

Options:
  (none)      run the processes in the foreground; Ctrl-C stops them
  -d, --detach
              run them in the background; logs in var/log/<name>.log,
              pid files in var/run/<name>.pid
  --chat-as TELEGRAM_ID
              no Telegram needed: the local fake Bot API runs in this terminal
              as your Telegram app, as user TELEGRAM_ID (type messages, !N
              presses button N, !contact PHONE shares your contact, @ID
              switches user); workers and bot log to var/log/
  --stop      stop processes started by this script (by pid file); the
              PostgreSQL and RabbitMQ services are left running
  -h, --help  show this help

Environment:
  ARIZA_DATABASE_URL    default postgres://postgres@127.0.0.1:5432/ariza?sslmode=disable
  ARIZA_AMQP_URL        default amqp://guest:guest@127.0.0.1:5672/%2f
  ARIZA__DATABASE__URL  passed to ariza; defaults to ARIZA_DATABASE_URL
  ARIZA__AMQP__URL      passed to ariza; defaults to ARIZA_AMQP_URL
  ARIZA__TELEGRAM__TOKEN  the real bot's token; if not set, the workers and
                        the bot use a local fake Bot API (ariza fake-bot-api)
  ARIZA_FAKE_BOT_API_PORT its port on 127.0.0.1 (default 8081)
  ARIZA_SERVICE_TIMEOUT seconds to wait for a service to start (default 60)
EOF
}

mode=foreground
chat_as=""
while (($# > 0)); do
    case "$1" in
        -d | --detach) mode=detach ;;
        --chat-as)
            [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || die "--chat-as takes a numeric Telegram id"
            chat_as=$2
            shift
            ;;
        --stop) mode=stop ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument: $1"
            ;;
    esac
    shift
done

cd "$ARIZA_ROOT"
BIN=./target/release/ariza
RUN_DIR=var/run
LOG_DIR=var/log

# pid of a running process started by us under NAME, or nothing.
running_pid() {
    local pidfile="$RUN_DIR/$1.pid" pid
    [[ -f $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'ariza'; then
        printf '%s' "$pid"
        return 0
    fi
    rm -f "$pidfile" # stale
    return 1
}

stop_one() {
    local name=$1 pid i
    if ! pid=$(running_pid "$name"); then
        log "$name: not running"
        return 0
    fi
    log "$name: stopping pid $pid (SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        warn "$name: pid $pid still running after 30s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN_DIR/$name.pid"
    log "$name: stopped"
}

if [[ $mode == stop ]]; then
    stop_one console
    stop_one bot
    stop_one workers
    stop_one fake-bot-api
    log "PostgreSQL and RabbitMQ are left running"
    exit 0
fi

# ---------------------------------------------------------------------------
# services, toolchain, database, build, migrations
# ---------------------------------------------------------------------------

for name in fake-bot-api workers bot console; do
    if pid=$(running_pid "$name"); then
        die "$name is already running (pid $pid, started by an earlier scripts/up.sh); run scripts/up.sh --stop first to restart it"
    fi
done

: "${ARIZA__DATABASE__URL:=$ARIZA_DATABASE_URL}"
: "${ARIZA__AMQP__URL:=$ARIZA_AMQP_URL}"
export ARIZA__DATABASE__URL ARIZA__AMQP__URL

ensure_postgres "$ARIZA__DATABASE__URL"
ensure_rabbitmq "$ARIZA__AMQP__URL"
ensure_feature_flags "$ARIZA__AMQP__URL"
ensure_chromium
ensure_rust
ensure_database "$ARIZA__DATABASE__URL"

log "building: cargo build --release --bin ariza"
cargo build --release --bin ariza
[[ -x $BIN ]] || die "$BIN was not built"

log "running migrations: $BIN migrate"
"$BIN" migrate || die "$BIN migrate failed"

# ---------------------------------------------------------------------------
# which processes to start
# ---------------------------------------------------------------------------

[[ -z $chat_as || $mode == foreground ]] || die "--chat-as runs in the foreground: it is this terminal's Telegram app"
procs=(workers bot console)
if [[ -n "${ARIZA__TELEGRAM__TOKEN:-}" && -z $chat_as ]]; then
    :
else
    # No Telegram: the workers and the bot talk to a local fake Bot API that prints every message
    # (and, with --chat-as, is your Telegram app), so the whole system runs on a machine that
    # cannot reach Telegram.
    : "${ARIZA_FAKE_BOT_API_PORT:=8081}"
    export ARIZA__TELEGRAM__TOKEN="000000:local-fake-token"
    export ARIZA__TELEGRAM__API_BASE_URL="http://127.0.0.1:$ARIZA_FAKE_BOT_API_PORT"
    procs=(fake-bot-api workers bot console)
fi

# The command line of each process.
proc_args() {
    case "$1" in
        fake-bot-api)
            printf '%s\n' fake-bot-api --port "${ARIZA_FAKE_BOT_API_PORT:-8081}"
            [[ -z $chat_as ]] || printf '%s\n' --chat-as "$chat_as"
            ;;
        console) printf '%s\n' console serve ;;
        *) printf '%s\n' "$1" ;;
    esac
}
run_proc() {
    local -a args
    mapfile -t args < <(proc_args "$1")
    "$BIN" "${args[@]}"
}

mkdir -p "$RUN_DIR" "$LOG_DIR"

summary() {
    local how=$1 name pid
    log "-------------------------------------------------------------------"
    log "PostgreSQL: $(redact_url "$ARIZA__DATABASE__URL")"
    log "RabbitMQ:   $(redact_url "$ARIZA__AMQP__URL")"
    for name in fake-bot-api workers bot console; do
        if [[ " ${procs[*]} " == *" $name "* ]]; then
            if [[ $how == detach ]]; then
                pid=$(running_pid "$name" || true)
                log "$name: $BIN $name — pid ${pid:-?}, log $LOG_DIR/$name.log, pid file $RUN_DIR/$name.pid"
            else
                log "$name: $BIN $name — in the foreground (output below)"
            fi
        fi
    done
    if [[ $how == detach ]]; then
        log "stop with: scripts/up.sh --stop   (follow logs: tail -f $LOG_DIR/*.log)"
    else
        log "stop with: Ctrl-C (or scripts/up.sh --stop from another terminal)"
    fi
    log "console: http://${ARIZA__CONSOLE__LISTEN:-127.0.0.1:8090}/ — log in with the operator token"
    log "  (ARIZA__CONSOLE__TOKEN) or a user: $BIN console user add NAME --role admin"
    log "PostgreSQL and RabbitMQ keep running as system services; stop them with"
    if _systemd_is_pid1; then
        log "  systemctl stop rabbitmq-server postgresql"
    else
        log "  rabbitmqctl stop; pg_ctlcluster --skip-systemctl-redirect <version> main stop"
    fi
    log "-------------------------------------------------------------------"
}

# ---------------------------------------------------------------------------
# detached
# ---------------------------------------------------------------------------

if [[ $mode == detach ]]; then
    for name in "${procs[@]}"; do
        log "starting $BIN $name in the background (log: $LOG_DIR/$name.log)"
        nohup "$BIN" $(proc_args "$name") >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
        printf '%s\n' "$!" >"$RUN_DIR/$name.pid"
    done
    sleep 2
    for name in "${procs[@]}"; do
        if ! running_pid "$name" >/dev/null; then
            tail -n 30 "$LOG_DIR/$name.log" >&2 || true
            die "$name exited right after starting; see $LOG_DIR/$name.log (other processes started by this run: scripts/up.sh --stop)"
        fi
    done
    summary detach
    exit 0
fi

# ---------------------------------------------------------------------------
# foreground
# ---------------------------------------------------------------------------

summary foreground

if ((${#procs[@]} == 1)); then
    # exec keeps our pid, so the pid file stays right.
    printf '%s\n' "$$" >"$RUN_DIR/workers.pid"
    exec "$BIN" workers
fi

# Several processes: supervise them; when one exits (or on Ctrl-C/TERM),
# stop the others.
declare -A pids=()
cleanup() {
    local name
    trap - INT TERM
    for name in "${!pids[@]}"; do
        kill -TERM "${pids[$name]}" 2>/dev/null || true
    done
    wait || true
    for name in "${!pids[@]}"; do
        rm -f "$RUN_DIR/$name.pid"
    done
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

if [[ -n $chat_as ]]; then
    # The fake Bot API is this terminal's Telegram app: it alone reads the keyboard and prints;
    # the workers and the bot log to files.
    for name in workers bot console; do
        log "$name: logging to $LOG_DIR/$name.log"
        "$BIN" $(proc_args "$name") >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
        pids[$name]=$!
        printf '%s\n' "$!" >"$RUN_DIR/$name.pid"
    done
    status=0
    run_proc fake-bot-api || status=$?
    cleanup
    exit "$status"
fi

for name in "${procs[@]}"; do
    run_proc "$name" &
    pids[$name]=$!
    printf '%s\n' "$!" >"$RUN_DIR/$name.pid"
done

status=0
wait -n || status=$?
for name in "${!pids[@]}"; do
    kill -0 "${pids[$name]}" 2>/dev/null || log "$name exited (status $status); stopping the others"
done
cleanup
exit "$status"
