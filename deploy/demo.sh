#!/bin/bash
# make demo: a three-node cluster on loopback doing a real bulk ITL reset.
# Leaves the node folders under build/demo/ for inspection.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
export ITL_BIN=$build/bin
export ITL_CLUSTER_DIR=$build/demo
export ITL_BASE_IP=${ITL_BASE_IP:-127.0.0.20}
cluster=$top/deploy/local-cluster
admin="$ITL_BIN/itl-admin"
nodes="pub sub1 sub2"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }
trap '"$cluster" stop >/dev/null 2>&1 || true' EXIT

rm -rf "$ITL_CLUSTER_DIR"
step "Initialising and starting a publisher and two subscribers in" \
    "$ITL_CLUSTER_DIR"
"$cluster" start 3
"$cluster" wait || fail "the cluster did not settle"
"$cluster" admin pub show cluster

step "Each node serves its own ITL, signed by its CallManager certificate"
for n in $nodes; do
    "$cluster" fetch "$n" "$ITL_CLUSTER_DIR/$n/before.tlv"
    "$admin" show itl --file "$ITL_CLUSTER_DIR/$n/before.tlv" --json |
        python3 -c 'import json,sys; d=json.load(sys.stdin);
print("  %-5s %s  %5d bytes  signed by %s" % (sys.argv[1], d["sha1"],
      d["length"], d["signer"]["name"]))' "$n"
done

step "A phone per node boots and trusts its node's ITL"
for i in 1 2 3; do
    n=$(echo $nodes | cut -d' ' -f$i)
    ip="${ITL_BASE_IP%.*}.$(( ${ITL_BASE_IP##*.} + i ))"
    "$ITL_BIN/itl-phone" boot --name "SEP00000000000$i" \
        --state "$ITL_CLUSTER_DIR/phone$i" --server "$ip:${ITL_TFTP_PORT:-6969}" ||
        fail "phone $i did not accept the first ITL of $n"
done

step "Bulk ITL reset from the publisher: utils itl reset localkey"
echo "lab-admin-password" |
    "$cluster" admin pub utils itl reset localkey --password-stdin ||
    fail "the reset did not complete on every node"

step "Every node now serves the recovery-signed ITL"
for n in $nodes; do
    f="$ITL_CLUSTER_DIR/$n/after.tlv"
    "$cluster" fetch "$n" "$f"
    signer=$("$admin" show itl --file "$f" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["signature_valid"], "signature does not verify"
print(d["signer"]["name"])')
    case "$signer" in
    CN=ITLRECOVERY_pub\;*) ;;
    *) fail "$n serves an ITL signed by $signer" ;;
    esac
    printf '  %-5s %s  signed by %s\n' "$n" "$(sha1sum < "$f" | cut -c1-40)" \
        "$signer"
    printf '  %-5s ' "$n"
    "$admin" verify itl --file "$f" --trust "$ITL_CLUSTER_DIR/$n/before.tlv" ||
        fail "a phone holding $n's previous ITL would refuse the reset ITL"
done

step "The phones boot again and accept the reset ITL"
for i in 1 2 3; do
    ip="${ITL_BASE_IP%.*}.$(( ${ITL_BASE_IP##*.} + i ))"
    "$ITL_BIN/itl-phone" boot --name "SEP00000000000$i" \
        --state "$ITL_CLUSTER_DIR/phone$i" --server "$ip:${ITL_TFTP_PORT:-6969}" ||
        fail "phone $i refused the reset ITL"
done

step "Stopping the cluster"
"$cluster" stop
trap - EXIT
printf '\ndemo: OK. A real reset on three nodes; node folders, logs and the\n'
printf 'fetched files are in %s\n' "$ITL_CLUSTER_DIR"
