#!/usr/bin/env bash
# scripts/check-deploy.sh — validate deploy/ without a container engine.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
usage: scripts/check-deploy.sh [-h] [--no-build]

Validates what deploy/ ships, on a machine without a Docker engine:
  1. deploy/compose.yaml: `docker-compose config` (Debian's docker-compose
     package runs it without an engine; installed with apt-get when missing
     and this runs as root on Debian/Ubuntu; `docker compose` is used if
     that is what exists);
  2. deploy/systemd/*.service: `systemd-analyze verify` (skipped with a
     warning when systemd-analyze is missing); any warning fails;
  3. deploy/prometheus/alerts.yml: `promtool check rules` (Debian's
     prometheus package ships promtool; installed with apt-get when missing
     and this runs as root on Debian/Ubuntu), and the example
     deploy/prometheus/prometheus.yml: `promtool check config` (that every
     metric they and the Grafana dashboard use is exported is a test:
     tests/deploy/monitoring.rs);
  4. the Dockerfile's build: runs the exact `cargo build` line of
     deploy/Dockerfile (a release build), then checks the built binary
     generates deploy/rabbitmq/definitions.json unchanged.
     --no-build skips this step.
Exits non-zero on the first failure.
EOF
}

build=1
while (($# > 0)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --no-build) build=0 ;;
        *)
            usage >&2
            die "unknown argument: $1"
            ;;
    esac
    shift
done

cd "$ARIZA_ROOT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --------------------------------------------------------------------------
# 1. compose
# --------------------------------------------------------------------------
compose=()
if _have docker-compose; then
    compose=(docker-compose)
elif _have docker && docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    _install_or_die docker-compose docker-compose
    compose=(docker-compose)
fi
# The secrets compose requires, with placeholder values: only the file's validity is checked.
sed -e 's/^ARIZA_POSTGRES_PASSWORD=$/ARIZA_POSTGRES_PASSWORD=check-only/' \
    -e 's/^ARIZA_RABBITMQ_PASSWORD=$/ARIZA_RABBITMQ_PASSWORD=check-only/' \
    deploy/ariza.env.example >"$work/ariza.env"
log "validating deploy/compose.yaml: ${compose[*]} config"
"${compose[@]}" --env-file "$work/ariza.env" -f deploy/compose.yaml config -q ||
    die "deploy/compose.yaml is not valid"
# Listed once: `config --services | grep -q` under pipefail fails when grep stops reading early.
services=$("${compose[@]}" --env-file "$work/ariza.env" -f deploy/compose.yaml config --services)
for service in postgres rabbitmq rabbitmq-user migrate workers bot; do
    grep -qx "$service" <<<"$services" ||
        die "deploy/compose.yaml has no service $service"
done
log "deploy/compose.yaml is valid"

# --------------------------------------------------------------------------
# 2. systemd units
# --------------------------------------------------------------------------
if _have systemd-analyze; then
    # verify checks that ExecStart's program exists: point the units at a stand-in.
    mkdir -p "$work/units"
    printf '#!/bin/sh\nexit 0\n' >"$work/ariza" && chmod +x "$work/ariza"
    units=()
    for unit in deploy/systemd/*.service; do
        name=$(basename "$unit")
        # A template is verified through an instance.
        [[ $name == *@.service ]] && name=${name/@.service/@validation.service}
        sed "s#/usr/local/bin/ariza#$work/ariza#g" "$unit" >"$work/units/$name"
        units+=("$work/units/$name")
    done
    log "verifying ${#units[@]} systemd units: systemd-analyze verify"
    out=$(cd "$work/units" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "${units[@]}" 2>&1) ||
        die "systemd-analyze verify failed: $out"
    [[ -z $out ]] || die "systemd-analyze verify warned: $out"
    log "the systemd units are valid"
else
    warn "systemd-analyze not found: the systemd units are not verified"
fi

# --------------------------------------------------------------------------
# 3. Prometheus rules and the Grafana dashboard
# --------------------------------------------------------------------------
if ! _have promtool; then
    # The package's server is not started where systemd does not run; only promtool is used.
    _install_or_die promtool --no-install-recommends prometheus
fi
log "validating deploy/prometheus/alerts.yml: promtool check rules"
out=$(promtool check rules deploy/prometheus/alerts.yml 2>&1) ||
    die "deploy/prometheus/alerts.yml is not valid: $out"
# The example loads the rules from /etc/prometheus: check it against this copy instead.
mkdir -p "$work/prometheus"
cp deploy/prometheus/alerts.yml "$work/prometheus/ariza-alerts.yml"
sed "s#/etc/prometheus/ariza-alerts.yml#$work/prometheus/ariza-alerts.yml#" deploy/prometheus/prometheus.yml >"$work/prometheus/prometheus.yml"
out=$(promtool check config "$work/prometheus/prometheus.yml" 2>&1) ||
    die "deploy/prometheus/prometheus.yml is not valid: $out"
log "the Prometheus rules and the example configuration are valid"

# --------------------------------------------------------------------------
# 4. the Dockerfile's build
# --------------------------------------------------------------------------
if ((build)); then
    ensure_rust
    cmd=$(sed -n 's/^RUN \(cargo build [^\\&]*\).*$/\1/p' deploy/Dockerfile | sed 's/[[:space:]]*$//')
    [[ -n $cmd ]] || die "no 'RUN cargo build ...' line in deploy/Dockerfile"
    log "building what the image ships: $cmd"
    # shellcheck disable=SC2086 # the command line is split on purpose
    $cmd
    log "checking deploy/rabbitmq/definitions.json against the built binary"
    # Where cargo put it: CARGO_TARGET_DIR when set (relative to the repository, as for cargo).
    ARIZA_CONFIG_DIR=/nonexistent "${CARGO_TARGET_DIR:-target}/release/ariza" topology definitions --vhost ariza >"$work/definitions.json"
    cmp -s "$work/definitions.json" deploy/rabbitmq/definitions.json ||
        die "deploy/rabbitmq/definitions.json is out of date: ARIZA_CONFIG_DIR=/nonexistent ariza topology definitions --vhost ariza > deploy/rabbitmq/definitions.json"
fi
log "deploy/ checks passed"
