#!/bin/bash
# Faults with real processes: a full disk in a subscriber's TFTP folder,
# and a network cut between the publisher and a subscriber made with
# network namespaces and a veth pair. Both need root (mount, ip netns);
# each part says clearly when it is skipped.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: needs root for tmpfs mounts and network namespaces"
    finish
    exit 0
fi

# --- a full disk: the install fails cleanly, the old file stays served ----
export ITL_CLUSTER_DIR=$ITL_TMP/faults-disk
export ITL_BASE_IP=127.0.0.100
export ITL_CLUSTER_PORT=7500
export ITL_RESET_TIMEOUT_MS=5000
d=$ITL_CLUSTER_DIR
mnt=$d/sub1/tftp
cleanup_disk() {
    "$cluster" stop >/dev/null 2>&1 || true
    mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
    return 0
}
trap cleanup_disk EXIT
cleanup_disk
rm -rf "$d"
"$cluster" start 3
"$cluster" wait
# sub1 serves its folder from a 64 KiB tmpfs, mounted before its in.tftpd
# starts (in.tftpd chroots into the folder).
kill "$(cat "$d/sub1/agent.pid")"
sleep 0.5
mount -t tmpfs -o size=64k tmpfs "$mnt"
chmod 755 "$mnt"
"$ITL_BIN/itl-subscriber" --config "$d/sub1/agent.conf" --foreground run \
    >> "$d/sub1/agent.log" 2>&1 &
echo $! > "$d/sub1/agent.pid"
"$cluster" wait
"$cluster" fetch sub1 "$d/sub1/before.tlv"
dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null || true
set +e
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/full.out" 2> "$d/full.err"
rc=$?
set -e
expect_eq "a full disk fails the reset" "$rc" 1
grep -q "^Reset failed on node sub1: cannot write $mnt/ITLFile.tlv.tmp.[0-9]*:\
 No space left on device; the previous ITL is still served$" "$d/full.err" &&
    ok "the error names the node, the file and the cause" ||
    bad "unexpected error: $(cat "$d/full.err")"
expect_line "$d/full.out" "TFTP service restarted on host sub2"
"$cluster" fetch sub1 "$d/sub1/after.tlv"
expect_eq "sub1 still serves its old ITL" "$(sha1_of "$d/sub1/after.tlv")" \
    "$(sha1_of "$d/sub1/before.tlv")"
expect_eq "no temp file is left" "$(ls "$mnt" | grep -c tmp || true)" 0
rm -f "$mnt/filler"
cleanup_disk
trap - EXIT

# --- a network cut between the publisher and one subscriber --------------
if ! ip netns add "itlt-probe-$$" 2>/dev/null; then
    echo "SKIPPED: network namespaces are not allowed here"
    finish
    exit 0
fi
ip netns del "itlt-probe-$$"
np=itlt-pub-$$
ns=itlt-sub-$$
export ITL_CLUSTER_DIR=$ITL_TMP/faults-net
n=$ITL_CLUSTER_DIR
cleanup_net() {
    for f in "$n"/*/agent.pid; do
        [ -f "$f" ] || continue
        kill "$(cat "$f")" 2>/dev/null || true
    done
    sleep 0.5
    for f in "$n"/*/agent.pid; do
        [ -f "$f" ] || continue
        kill -9 "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
    ip netns del "$np" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    return 0
}
trap cleanup_net EXIT
rm -rf "$n"
mkdir -p "$n"
ip netns add "$np"
ip netns add "$ns"
ip link add "vp$$" type veth peer name "vs$$"
ip link set "vp$$" netns "$np"
ip link set "vs$$" netns "$ns"
ip -n "$np" addr add 10.231.0.1/24 dev "vp$$"
ip -n "$ns" addr add 10.231.0.2/24 dev "vs$$"
for x in "$np" "$ns"; do ip -n "$x" link set lo up; done
ip -n "$np" link set "vp$$" up
ip -n "$ns" link set "vs$$" up

conf() { # name role tftp_address extra...
    local name=$1 role=$2 addr=$3
    shift 3
    mkdir -p "$n/$name/tftp"
    chmod 755 "$n" "$n/$name" "$n/$name/tftp"
    {
        echo "role = $role"
        echo "hostname = $name"
        echo "cluster_id = netcut"
        echo "state_dir = $n/$name/state"
        echo "tftp_address = $addr"
        echo "tftp_port = 6969"
        echo "tftp_folder = $n/$name/tftp"
        echo "key_bits = 1024"
        echo "heartbeat_ms = 300"
        echo "heartbeat_timeout_ms = 1500"
        echo "reset_timeout_ms = 3000"
        for kv in "$@"; do echo "$kv"; done
    } > "$n/$name/agent.conf"
}
run_in() { # netns name program
    ip netns exec "$1" "$ITL_BIN/$3" --config "$n/$2/agent.conf" \
        --foreground run >> "$n/$2/agent.log" 2>&1 &
    echo $! > "$n/$2/agent.pid"
}
conf pub publisher 10.231.0.1 "listen = 10.231.0.1:7400"
printf 'netcut-cluster-pw\nnetcut-admin-pw\n' |
    "$ITL_BIN/itl-publisher" --config "$n/pub/agent.conf" --password-stdin \
        init > /dev/null
key=$("$ITL_BIN/itl-publisher" --config "$n/pub/agent.conf" show-key)
conf sub1 subscriber 10.231.0.2 "publisher = 10.231.0.1:7400" \
    "publisher_key = $key"
conf sub2 subscriber 127.0.0.1 "publisher = 10.231.0.1:7400" \
    "publisher_key = $key"
for s in sub1 sub2; do
    echo netcut-cluster-pw |
        "$ITL_BIN/itl-subscriber" --config "$n/$s/agent.conf" \
            --password-stdin init > /dev/null
done
run_in "$np" pub itl-publisher
run_in "$ns" sub1 itl-subscriber
run_in "$np" sub2 itl-subscriber
nadmin() {
    ip netns exec "$np" env ITL_ADMIN_SOCKET="$n/pub/state/admin.sock" \
        "$admin" "$@"
}
active_count() {
    nadmin show cluster 2>/dev/null | grep -c " active " || true
}
for _ in $(seq 1 100); do
    [ "$(active_count)" = 3 ] && break
    sleep 0.1
done
expect_eq "three nodes active across the namespaces" "$(active_count)" 3

ip -n "$ns" link set "vs$$" down
start=$(date +%s%N)
set +e
echo netcut-admin-pw | nadmin utils itl reset localkey --password-stdin \
    > "$n/cut.out" 2> "$n/cut.err"
rc=$?
set -e
took=$((($(date +%s%N) - start) / 1000000))
expect_eq "the cut node fails the reset" "$rc" 1
expect_line "$n/cut.err" "No answer from node sub1: no answer within 3000 ms"
expect_line "$n/cut.out" "TFTP service restarted on host sub2"
expect_line "$n/cut.out" "TFTP service restarted on host pub"
[ "$took" -lt 6000 ] && ok "reported within the deadline ($took ms)" ||
    bad "the reset took $took ms"

ip -n "$ns" link set "vs$$" up
for _ in $(seq 1 200); do
    grep -q "sub1 is back\|re-registered sub1" "$n/pub/agent.log" && break
    sleep 0.1
done
for _ in $(seq 1 100); do
    [ "$(active_count)" = 3 ] && break
    sleep 0.1
done
expect_eq "sub1 is active again by itself" "$(active_count)" 3
set +e
echo netcut-admin-pw | nadmin utils itl reset localkey --password-stdin \
    > "$n/back.out" 2> "$n/back.err"
rc=$?
set -e
expect_eq "after the link returns the reset succeeds" "$rc" 0
expect_line "$n/back.out" "TFTP service restarted on host sub1"
cleanup_net
trap - EXIT
if grep -l -E "ERROR: [A-Za-z]+Sanitizer|runtime error:" "$n"/*/agent.log \
    "$d"/*/agent.log 2>/dev/null; then
    bad "an agent reported a sanitizer error"
fi
ITL_CLUSTER_DIR=
finish
