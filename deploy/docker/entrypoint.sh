#!/bin/bash
# Entry point of the lab containers (deploy/docker-compose.yml, docs/LAB.md).
#
#   itl-lab publisher    initialise on first start, share the CURVE key, run
#   itl-lab subscriber   wait for the publisher's key, initialise (enrol) on
#                        first start, run
#   itl-lab phone        boot a simulated phone now and then (itl-phone)
#   itl-lab boot         in a phone container: boot once, now
#   itl-lab health       the health check of whichever of these runs here
#
# Environment (set by docker-compose.yml from deploy/.env):
#   ITL_NODE_NAME         node name (default: the container's host name)
#   ITL_CLUSTER_ID        cluster id (default lab)
#   ITL_CLUSTER_PASSWORD  cluster security password (first start only)
#   ITL_ADMIN_PASSWORD    administrator password (publisher, first start)
#   ITL_PUBLISHER         the publisher's host (default publisher)
#   ITL_KEY_BITS, ITL_LOG_LEVEL, ITL_RESET_TIMEOUT_MS, ITL_HEARTBEAT_MS,
#   ITL_HEARTBEAT_TIMEOUT_MS, ITL_ORGANISATION, ITL_ORG_UNIT, ITL_LOCALITY,
#   ITL_STATE, ITL_COUNTRY
#   ITL_PHONE_NAME, ITL_PHONE_SERVER, ITL_PHONE_INTERVAL (phones)
set -euo pipefail

top=/var/lib/itl-recovery          # named volume: state/ and tftp/
shared=/run/itl-cluster            # volume shared with the subscribers
keyfile=$shared/publisher.key
tftp_port=6969
cluster_port=7400

say() { echo "itl-lab: $*" >&2; }
die() { say "$*"; exit 1; }

write_config() { # role file
    local role=$1 file=$2 tmp
    tmp=$(mktemp "$file.XXXXXX")
    {
        echo "# Written by itl-lab at every start; edit the compose file."
        echo "role = $role"
        echo "hostname = ${ITL_NODE_NAME:-$(hostname)}"
        echo "cluster_id = ${ITL_CLUSTER_ID:-lab}"
        echo "state_dir = $top/state"
        echo "tftp_address = 0.0.0.0"
        echo "tftp_port = $tftp_port"
        echo "tftp_folder = $top/tftp"
        echo "organisation = ${ITL_ORGANISATION:-Lab}"
        echo "org_unit = ${ITL_ORG_UNIT:-Voice}"
        echo "locality = ${ITL_LOCALITY:-Lisbon}"
        echo "state = ${ITL_STATE:-Lisboa}"
        echo "country = ${ITL_COUNTRY:-PT}"
        echo "key_bits = ${ITL_KEY_BITS:-2048}"
        echo "heartbeat_ms = ${ITL_HEARTBEAT_MS:-1000}"
        echo "heartbeat_timeout_ms = ${ITL_HEARTBEAT_TIMEOUT_MS:-3500}"
        echo "reset_timeout_ms = ${ITL_RESET_TIMEOUT_MS:-30000}"
        echo "log_level = ${ITL_LOG_LEVEL:-info}"
        if [ "$role" = publisher ]; then
            echo "listen = 0.0.0.0:$cluster_port"
        else
            echo "publisher = ${ITL_PUBLISHER:-publisher}:$cluster_port"
            echo "publisher_key = $(cat "$keyfile")"
        fi
    } > "$tmp"
    chmod 0644 "$tmp"
    mv "$tmp" "$file"
}

need_password() { # variable
    if [ -z "${!1:-}" ]; then
        die "$1 is empty: copy deploy/.env.example to deploy/.env and set" \
            "it before the first start"
    fi
}

prepare() {
    [ -w "$top" ] || die "$top is not writable by $(id -un)"
    install -d -m 0755 "$top/tftp"
}

# Whatever runs next sees no password in its environment.
forget_passwords() {
    unset ITL_CLUSTER_PASSWORD ITL_ADMIN_PASSWORD
}

run_publisher() {
    local conf=/etc/itl-recovery/publisher.conf
    prepare
    write_config publisher "$conf"
    if [ ! -f "$top/state/node.info" ]; then
        need_password ITL_CLUSTER_PASSWORD
        need_password ITL_ADMIN_PASSWORD
        say "first start: initialising publisher ${ITL_NODE_NAME:-}"
        printf '%s\n%s\n' "$ITL_CLUSTER_PASSWORD" "$ITL_ADMIN_PASSWORD" |
            itl-publisher --config "$conf" --password-stdin init
    fi
    forget_passwords
    itl-publisher --config "$conf" show-key > "$keyfile.tmp"
    mv "$keyfile.tmp" "$keyfile"
    say "publisher CURVE key shared in $keyfile"
    exec itl-publisher --config "$conf" --foreground run
}

run_subscriber() {
    local conf=/etc/itl-recovery/subscriber.conf i
    prepare
    for ((i = 0; i < 300; i++)); do
        [ -s "$keyfile" ] && break
        [ $((i % 10)) = 0 ] && say "waiting for the publisher's key in" \
            "$keyfile"
        sleep 1
    done
    [ -s "$keyfile" ] || die "no publisher key in $keyfile after 300 s"
    write_config subscriber "$conf"
    if [ ! -f "$top/state/node.info" ]; then
        need_password ITL_CLUSTER_PASSWORD
        say "first start: initialising subscriber ${ITL_NODE_NAME:-}"
        printf '%s\n' "$ITL_CLUSTER_PASSWORD" |
            itl-subscriber --config "$conf" --password-stdin init
    fi
    forget_passwords
    exec itl-subscriber --config "$conf" --foreground run
}

phone_boot() {
    itl-phone boot --name "${ITL_PHONE_NAME:?set ITL_PHONE_NAME}" \
        --state /var/lib/itl-phone \
        --server "${ITL_PHONE_SERVER:-publisher:$tftp_port}" "$@"
}

# Boots now and then; prints a line when the outcome changes.
run_phone() {
    local every=${ITL_PHONE_INTERVAL:-30} line last=""
    [ -n "${ITL_PHONE_NAME:-}" ] ||
        die "set ITL_PHONE_NAME (SEP and 12 hex digits)"
    forget_passwords
    trap 'exit 0' TERM INT
    say "phone $ITL_PHONE_NAME boots from" \
        "${ITL_PHONE_SERVER:-publisher:$tftp_port} every $every s"
    while :; do
        line=$(phone_boot 2>&1) || true
        [ "$line" = "$last" ] || echo "$line"
        last=$line
        sleep "$every" &
        wait $! || true
    done
}

# Agents: the agent answers and serves an ITL that carries the
# publisher's ITLRecovery certificate (a subscriber has it once it has
# joined the cluster). Phones: the last boot accepted the node's ITL.
health() {
    case "$(cat /tmp/itl-lab.role 2>/dev/null)" in
    publisher | subscriber)
        itl-admin status >/dev/null &&
            itl-admin show itl | grep -q 'CN=ITLRECOVERY_'
        ;;
    phone) grep -q ': accepted ITL' /var/lib/itl-phone/status ;;
    *) exit 1 ;;
    esac
}

role=${1:-publisher}
case "$role" in
publisher | subscriber | phone)
    echo "$role" > /tmp/itl-lab.role
    shift
    "run_$role" "$@"
    ;;
health) health ;;
boot)
    # A phone boots once, now: docker-compose exec phone1 itl-lab boot
    shift
    phone_boot "$@"
    ;;
*)
    # Anything else is run as is (a shell, itl-admin ...).
    exec "$@"
    ;;
esac
