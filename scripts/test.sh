#!/usr/bin/env bash
# scripts/test.sh — run the tests.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
usage: scripts/test.sh [-h] [-- EXTRA-ARGS...]

Run the whole test suite:
  1. make sure PostgreSQL and RabbitMQ are installed and running (installs
     them from the distribution's packages on Debian/Ubuntu when run as root),
     RabbitMQ feature flags quorum_queue + stream_queue are enabled, Chromium
     and chromedriver are installed for the console's browser test (Debian's
     packages, when run as root), cargo is available and cargo-nextest is
     installed (cargo install cargo-nextest --locked; falls back to plain
     cargo test if that fails);
  2. cargo build --workspace --all-targets;
  3. phase 1, in parallel: every test whose name does not contain "serial_";
  4. phase 2, one at a time: the tests whose name contains "serial_" (they
     restart the shared broker).
Exits non-zero if either phase fails.

EXTRA-ARGS are passed to both `cargo nextest run` invocations (e.g. a test
name filter, or --profile NAME). With the cargo test fallback they are passed
to the test binaries after `--` instead.

Environment:
  ARIZA_TEST_DATABASE_URL  default postgres://postgres@127.0.0.1:5432
  ARIZA_TEST_AMQP_URL      default amqp://guest:guest@127.0.0.1:5672/%2f
  ARIZA_TEST_RUNNER        force "nextest" or "cargo-test"
  ARIZA_SERVICE_TIMEOUT    seconds to wait for a service to start (default 60)
EOF
}

extra=()
while (($# > 0)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --)
            shift
            extra=("$@")
            break
            ;;
        *)
            usage >&2
            die "unknown argument: $1 (pass test arguments after --)"
            ;;
    esac
done

cd "$ARIZA_ROOT"

export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export RUST_BACKTRACE=1
: "${ARIZA_TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432}"
: "${ARIZA_TEST_AMQP_URL:=amqp://guest:guest@127.0.0.1:5672/%2f}"
export ARIZA_TEST_DATABASE_URL ARIZA_TEST_AMQP_URL

ensure_postgres "$ARIZA_TEST_DATABASE_URL"
ensure_rabbitmq "$ARIZA_TEST_AMQP_URL"
ensure_feature_flags "$ARIZA_TEST_AMQP_URL"
# The console's browser test drives Debian's Chromium: installed here too, not only by up.sh, so
# that the test command alone works on a fresh machine.
ensure_chromium
ensure_rust
runner=$(ensure_nextest)

# A test removes its own database and queues when it finishes; a run that was killed leaves them
# behind, and a few hundred quorum queues slow the broker down for everyone. Sweep the queues and
# databases earlier runs left (test names: t + 12 hex digits; empty exchanges cost nothing and stay),
# unless another test run is going on right now.
sweep_test_leftovers() {
    if pgrep -f 'nextest run|deps/(pipeline|bot|console|deploy)-' >/dev/null 2>&1; then
        log "another test run is going on: not sweeping leftovers"
        return 0
    fi
    local n=0 name
    if _have rabbitmqctl; then
        while read -r name; do
            rabbitmqctl -q delete_queue "$name" >/dev/null 2>&1 && n=$((n + 1))
        done < <(rabbitmqctl -q list_queues name 2>/dev/null | grep -E '^t[0-9a-f]{12}\.' || true)
    fi
    while read -r name; do
        [[ -n $name ]] || continue
        psql "$ARIZA_TEST_DATABASE_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null 2>&1 && n=$((n + 1))
    done < <(psql "$ARIZA_TEST_DATABASE_URL/postgres" -Atc "SELECT datname FROM pg_database WHERE datname ~ '^t[0-9a-f]{12}$'" 2>/dev/null || true)
    ((n == 0)) || log "swept $n queues and databases left by earlier test runs"
}
sweep_test_leftovers

log "building: cargo build --workspace --all-targets"
cargo build --workspace --all-targets

status1=0
status2=0
out1=$(mktemp) out2=$(mktemp)
trap 'rm -f "$out1" "$out2"' EXIT
if [[ $runner == nextest ]]; then
    # With a user filter, phase 1 may legitimately match nothing.
    no_tests_1=()
    ((${#extra[@]} == 0)) || no_tests_1=(--no-tests=warn)

    log "phase 1/2 (parallel): cargo nextest run --workspace --no-fail-fast -E 'not test(/serial_/)' ${extra[*]}"
    cargo nextest run --workspace --no-fail-fast -E 'not test(/serial_/)' \
        "${no_tests_1[@]}" "${extra[@]}" 2>&1 | tee "$out1" || status1=$?

    log "phase 2/2 (one at a time): cargo nextest run --workspace --no-fail-fast -E 'test(/serial_/)' -j 1 --no-tests=pass ${extra[*]}"
    cargo nextest run --workspace --no-fail-fast -E 'test(/serial_/)' -j 1 \
        --no-tests=pass "${extra[@]}" 2>&1 | tee "$out2" || status2=$?
else
    log "phase 1/2 (parallel): cargo test --workspace --no-fail-fast -- --skip serial_ ${extra[*]}"
    cargo test --workspace --no-fail-fast -- --skip serial_ "${extra[@]}" 2>&1 | tee "$out1" || status1=$?

    log "phase 2/2 (one at a time): cargo test --workspace --no-fail-fast -- serial_ --test-threads=1 ${extra[*]}"
    cargo test --workspace --no-fail-fast -- serial_ --test-threads=1 "${extra[@]}" 2>&1 | tee "$out2" || status2=$?
fi

# The deployment files: the compose file validates, the systemd units verify, the Dockerfile's
# build of the binary succeeds and its topology matches deploy/rabbitmq/definitions.json.
status3=0
log "deploy check: scripts/check-deploy.sh"
bash scripts/check-deploy.sh || status3=$?

# Both phases' counts in one closing line: nextest's "Summary ... N passed, M failed" lines, or
# cargo test's "test result: ... N passed; M failed" lines.
count() {
    grep -hE '^\s*Summary .* tests? run:|^test result:' "$out1" "$out2" 2>/dev/null |
        grep -oE "[0-9]+ $1" | awk '{ s += $1 } END { print s + 0 }' || true
}
passed=$(count passed)
failed=$(count failed)

result() { if (($1 == 0)); then printf 'passed'; else printf 'FAILED (exit %s)' "$1"; fi; }
log "phase 1 (parallel tests): $(result "$status1")"
log "phase 2 (serial_ tests):  $(result "$status2")"
log "deploy check:             $(result "$status3")"
echo "total: $passed passed, $failed failed"
if ((status1 != 0 || status2 != 0 || status3 != 0)); then
    exit 1
fi
