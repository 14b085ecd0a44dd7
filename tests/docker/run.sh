#!/bin/bash
# The lab of deploy/docker-compose.yml end to end, with a real Docker
# engine: base image, build, up, health, a reset seen by the phones, a
# broken subscriber reported by name, state across down/up, clean-up.
#
#   tests/docker/run.sh
#
# Prints "SKIPPED: no Docker engine" and exits 0 when no engine answers.
# Environment: ITL_COMPOSE (the compose command; default docker-compose,
# else "docker compose"), ITL_DOCKER_BASE (default debian:12: built with
# tests/docker/base-image.sh when missing), ITL_KEEP=1 keeps the lab up.
# Leaves the images (itl-recovery:test and the build cache) for the next run;
# removes the containers, network and volumes it made.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/docker

if ! docker info >/dev/null 2>&1; then
    echo "SKIPPED: no Docker engine"
    exit 0
fi
if [ -n "${ITL_COMPOSE:-}" ]; then
    read -r -a compose <<< "$ITL_COMPOSE"
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    echo "SKIPPED: a Docker engine answers but neither docker-compose nor" \
        "docker compose is installed"
    exit 0
fi

passed=0
failed=0
start=$(date +%s)
# Letters and digits only: docker-compose 1.x and 2.x name things alike.
project=itllabtest$$
tmp=$(mktemp -d /tmp/itl-docker-test.XXXXXX)
envf=$tmp/lab.env
admin_pw=admin-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
cluster_pw=cluster-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
cat > "$envf" <<ENV
ITL_CLUSTER_PASSWORD=$cluster_pw
ITL_ADMIN_PASSWORD=$admin_pw
ITL_IMAGE=itl-recovery:test
ITL_CLUSTER_ID=dockertest
ITL_RESET_TIMEOUT_MS=5000
ITL_PHONE_INTERVAL=3600
ENV

say() { printf '%s\n' "$*"; }
ok() { passed=$((passed + 1)); say "ok - $*"; }
bad() { failed=$((failed + 1)); say "FAIL - $*"; }
elapsed() { echo "$(($(date +%s) - start)) s"; }

dc() {
    "${compose[@]}" -p "$project" -f "$top/deploy/docker-compose.yml" \
        --env-file "$envf" "$@"
}
cid() { dc ps -q "$1" 2>/dev/null | head -n 1; }
# itl-admin in a node container; stdin is passed on.
admin() { # service args...
    local s=$1
    shift
    timeout 60 "${compose[@]}" -p "$project" \
        -f "$top/deploy/docker-compose.yml" --env-file "$envf" \
        exec -T "$s" itl-admin "$@"
}
reset() { # -> output in $tmp/reset.out, status in $reset_rc
    echo "$admin_pw" | admin publisher utils itl reset localkey \
        --password-stdin > "$tmp/reset.out" 2>&1
    reset_rc=$?
    sed 's/^/    | /' "$tmp/reset.out"
}
boot() { # phone -> line in $boot_line, status in $boot_rc
    boot_line=$(timeout 60 "${compose[@]}" -p "$project" \
        -f "$top/deploy/docker-compose.yml" --env-file "$envf" \
        exec -T "$1" itl-lab boot 2>&1)
    boot_rc=$?
    say "    | $boot_line"
}
state_of() { # node -> active|down|... from the publisher's show cluster
    admin publisher show cluster 2>/dev/null |
        awk -v n="$1" '$1 == n { print $3 }'
}
served_sha1() { # node -> SHA1 of the ITL it serves, per show cluster
    admin publisher show cluster 2>/dev/null |
        awk -v n="$1" '$1 == n { print $4 }'
}
wait_healthy() { # seconds services...
    local limit=$1 s c h all
    shift
    for ((t = 0; t < limit; t += 2)); do
        all=1
        for s in "$@"; do
            c=$(cid "$s")
            h=$(docker inspect -f '{{.State.Health.Status}}' "$c" \
                2>/dev/null)
            [ "$h" = healthy ] || { all=0; break; }
        done
        [ $all = 1 ] && return 0
        sleep 2
    done
    say "    not healthy after $limit s: $s (${h:-no container})"
    return 1
}
wait_state() { # node state seconds
    for ((t = 0; t < $3; t++)); do
        [ "$(state_of "$1")" = "$2" ] && return 0
        sleep 1
    done
    return 1
}
show_logs() {
    say "    logs (last 15 lines of each service):"
    dc logs --no-color --tail 15 2>&1 | sed 's/^/    | /'
}
cleanup() {
    if [ "${ITL_KEEP:-0}" = 1 ]; then
        say "ITL_KEEP=1: the lab stays up as project $project" \
            "(env file $envf)"
        return
    fi
    dc down -v --remove-orphans >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

nodes="publisher sub1 sub2"
phones="phone1 phone2 phone3"
all="$nodes $phones"
declare -A phone_node=([phone1]=publisher [phone2]=sub1 [phone3]=sub2)

say "== lab in containers with ${compose[*]}, project $project"

# 1. Base image: the official one when present, else debootstrap.
base=${ITL_DOCKER_BASE:-debian:12}
if "$here/base-image.sh" "$base" 2>&1 | sed 's/^/    | /'; then
    ok "base image $base ($(elapsed))"
else
    bad "base image $base: see above"
    say "$passed passed, $failed failed"
    exit 1
fi

# 2. Build through the compose file.
if dc build > "$tmp/build.log" 2>&1; then
    ok "image built with ${compose[*]} build ($(elapsed))"
else
    tail -n 30 "$tmp/build.log" | sed 's/^/    | /'
    bad "${compose[*]} build"
    say "$passed passed, $failed failed"
    exit 1
fi

# 3. Up, first start: every node initialises, subscribers enrol.
if dc up -d > "$tmp/up.log" 2>&1; then
    ok "up -d"
else
    sed 's/^/    | /' "$tmp/up.log"
    bad "up -d"
fi
# shellcheck disable=SC2086
if wait_healthy 240 $all; then
    ok "all six containers healthy ($(elapsed))"
else
    show_logs
    bad "health"
    say "$passed passed, $failed failed"
    exit 1
fi
for n in $nodes; do
    # Whole logs in a file first: grep -q on a pipe would cut it short.
    dc logs --no-color "$n" > "$tmp/$n.log" 2>&1
    if grep -q "first start: initialising [a-z]* $n" \
        "$tmp/$n.log"; then
        ok "$n initialised on first start"
    else
        bad "$n: no initialisation in its log"
    fi
done
for n in $nodes; do
    if [ "$(state_of "$n")" = active ]; then
        ok "publisher lists $n as active"
    else
        bad "publisher lists $n as '$(state_of "$n")', not active"
    fi
done

# 4. Before the reset: each phone holds the ITL its node serves.
for p in $phones; do
    n=${phone_node[$p]}
    boot "$p"
    want=$(served_sha1 "$n")
    case "$boot_line" in
    *": accepted ITL from $n:6969 signed by CN=$n;"*"; holds $want")
        ok "$p holds $n's own ITL $want" ;;
    *) bad "$p (from $n, serving $want): $boot_line" ;;
    esac
done

# 5. The reset from the publisher reaches every node; the phones take it.
reset
sha=$(sed -n 's/.*Reset complete: all 3 active TFTP nodes serve the reset ITL (SHA1 \([0-9a-f]\{40\}\)).*/\1/p' "$tmp/reset.out")
if [ "$reset_rc" = 0 ] && [ -n "$sha" ]; then
    ok "reset on all three nodes, reset ITL $sha"
else
    bad "reset: status $reset_rc, no 'Reset complete: all 3' line"
fi
for p in $phones; do
    n=${phone_node[$p]}
    boot "$p"
    case "$boot_line" in
    *": accepted ITL from $n:6969 signed by CN=ITLRECOVERY_publisher;"*"; holds ${sha:-none}")
        [ "$boot_rc" = 0 ] && ok "$p accepted the reset ITL from $n" ||
            bad "$p: exit status $boot_rc"
        ;;
    *) bad "$p did not take the reset ITL from $n" ;;
    esac
done

# 6. A subscriber cut off the network is reported by name.
c2=$(cid sub2)
net=$(docker inspect -f \
    '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' "$c2")
if docker network disconnect "$net" "$c2"; then
    ok "sub2 disconnected from $net"
else
    bad "docker network disconnect $net sub2"
fi
# At once: sub2 still counts as active, gets its order and never answers.
reset
if grep -q "No answer from node sub2: no answer within 5000 ms" \
    "$tmp/reset.out" || grep -q "Not active, will not be reset: sub2 " \
    "$tmp/reset.out"; then
    ok "reset right after the cut names sub2 (status $reset_rc)"
else
    bad "reset right after the cut does not name sub2"
fi
if [ "$reset_rc" != 0 ] &&
    grep -q "No answer from node sub2" "$tmp/reset.out"; then
    ok "a reset that misses sub2 fails (status $reset_rc)"
elif grep -q "No answer from node sub2" "$tmp/reset.out"; then
    bad "the reset missed sub2 but exited 0"
fi
if wait_state sub2 down 20; then
    ok "publisher lists sub2 as down"
else
    bad "sub2 is '$(state_of sub2)' 20 s after the cut"
fi
reset
if grep -q "Not active, will not be reset: sub2 (no heartbeat" \
    "$tmp/reset.out" && grep -q "^\['publisher', 'sub1'\]$" \
    "$tmp/reset.out"; then
    ok "reset with sub2 down: resets publisher and sub1, names sub2"
else
    bad "reset with sub2 down: sub2 not named, or wrong node list"
fi

# 7. Reconnected, sub2 rejoins and the next reset covers it again.
if docker network connect --alias sub2 "$net" "$c2"; then
    ok "sub2 reconnected"
else
    bad "docker network connect $net sub2"
fi
if wait_state sub2 active 30; then
    ok "publisher lists sub2 as active again"
else
    bad "sub2 is '$(state_of sub2)' 30 s after reconnecting"
fi
reset
sha=$(sed -n 's/.*Reset complete: all 3 active TFTP nodes serve the reset ITL (SHA1 \([0-9a-f]\{40\}\)).*/\1/p' "$tmp/reset.out")
if [ "$reset_rc" = 0 ] && [ -n "$sha" ]; then
    ok "reset after reconnecting covers all three nodes"
else
    bad "reset after reconnecting: status $reset_rc"
fi
for p in $phones; do
    n=${phone_node[$p]}
    boot "$p"
    case "$boot_line" in
    *": accepted ITL from $n:6969 "*"; holds ${sha:-none}")
        ok "$p holds the new reset ITL from $n" ;;
    *) bad "$p did not take the new reset ITL from $n" ;;
    esac
done

# 8. State survives down/up: no new initialisation, same ITLs.
if dc down > "$tmp/down.log" 2>&1 && dc up -d > "$tmp/up2.log" 2>&1; then
    ok "down, up -d"
else
    cat "$tmp/down.log" "$tmp/up2.log" | sed 's/^/    | /'
    bad "down, up -d"
fi
# shellcheck disable=SC2086
if wait_healthy 120 $all; then
    ok "healthy again after down/up ($(elapsed))"
else
    show_logs
    bad "health after down/up"
fi
dc logs --no-color > "$tmp/after.log" 2>&1
if grep -q "first start: initialising" "$tmp/after.log"; then
    bad "a node initialised again after down/up"
else
    ok "no node initialised again after down/up"
fi
for n in $nodes; do
    got=$(served_sha1 "$n")
    if [ "$(state_of "$n")" = active ] && [ "$got" = "$sha" ]; then
        ok "$n active, still serving the reset ITL"
    else
        bad "$n after down/up: '$(state_of "$n")', serving '$got'"
    fi
done
for p in $phones; do
    boot "$p"
    case "$boot_line" in
    *": accepted ITL "*"; holds ${sha:-none}") ok "$p kept its ITL" ;;
    *) bad "$p after down/up" ;;
    esac
done

# 9. Clean-up: nothing of the project is left.
if [ "${ITL_KEEP:-0}" != 1 ]; then
    dc down -v --remove-orphans > "$tmp/down2.log" 2>&1
    label=com.docker.compose.project=$project
    left="$(docker ps -aq --filter "label=$label")"
    left+="$(docker volume ls -q --filter "label=$label")"
    left+="$(docker network ls -q --filter "label=$label")"
    if [ -z "$left" ]; then
        ok "down -v left no container, volume or network"
    else
        bad "down -v left: $(echo "$left" | tr '\n' ' ')"
    fi
fi

say "$passed passed, $failed failed ($(elapsed))"
[ "$failed" = 0 ]
