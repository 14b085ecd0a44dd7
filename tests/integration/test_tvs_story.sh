#!/bin/bash
# The TVS story with real agents on loopback (deploy/local-cluster):
#  1. after a bulk reset, a normal TFTP restart on each subscriber serves
#     that subscriber's own ITL, and its phones (holding the reset ITL,
#     signed by ITLRecovery) accept it through the subscriber's TVS;
#  2. when sub1's CallManager and TVS certificates are both regenerated
#     (hold timer passed with --now) and sub1 restarted, its phones can
#     verify the new ITL neither way: Trust List Update Failed;
#  3. a reset ends that: they accept the recovery-signed ITL again.
set -euo pipefail
SRC=${ITL_SRC:?}
export ITL_BIN=${ITL_BIN:?}
TMP=${ITL_TMP:-/tmp}/tvs-story.$$
export ITL_CLUSTER_DIR=$TMP/cluster
export ITL_BASE_IP=127.0.0.50
export ITL_KEY_BITS=1024
cluster=$SRC/deploy/local-cluster
phone=$ITL_BIN/itl-phone
admin=$ITL_BIN/itl-admin
rm -rf "$TMP"
mkdir -p "$TMP"
trap '"$cluster" stop >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
fail() {
    echo "FAIL: $*" >&2
    tail -20 "$ITL_CLUSTER_DIR"/sub1/agent.log >&2 || true
    exit 1
}
ip() { echo "127.0.0.$((51 + $1))"; } # 0 pub, 1 sub1, 2 sub2

# boot N NODE: phone N boots from NODE's TFTP server; prints its line.
boot() {
    "$phone" boot --name "SEP00000000000$1" --state "$TMP/phone$1" \
        --server "$(ip "$2"):6969" --timeout 4000
}
# held N: the SHA-1 the phone holds.
held() {
    "$phone" status --state "$TMP/phone$1" | awk '{print $2}'
}
# served NODE FILE: fetches NODE's ITL, prints its sha1sum.
served() {
    "$cluster" fetch "$1" "$2"
    sha1sum <"$2" | cut -c1-40
}

"$cluster" start 3
"$cluster" wait || fail "the cluster did not settle"

# Phones 1 and 2 boot from sub1 and sub2, then the cluster is reset.
boot 1 1 >/dev/null || fail "phone 1 first boot"
boot 2 2 >/dev/null || fail "phone 2 first boot"
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        >"$TMP/reset.out" || fail "reset: $(cat "$TMP/reset.out")"
reset_sha=$(served sub1 "$TMP/reset.tlv")
boot 1 1 >/dev/null || fail "phone 1 refused the reset ITL"
boot 2 2 >/dev/null || fail "phone 2 refused the reset ITL"
[ "$(held 1)" = "$reset_sha" ] || fail "phone 1 does not hold the reset ITL"

# 1. A normal restart on each subscriber: own ITL, accepted through TVS.
for n in 1 2; do
    "$cluster" admin "sub$n" utils service restart tftp >"$TMP/restart.out" ||
        fail "restart on sub$n: $(cat "$TMP/restart.out")"
    own=$(served "sub$n" "$TMP/own$n.tlv")
    [ "$own" != "$reset_sha" ] || fail "sub$n still serves the reset ITL"
    line=$(boot "$n" "$n") || fail "phone $n refused sub$n's ITL: $line"
    want="SEP00000000000$n: accepted ITL from $(ip "$n"):6969 signed by"
    want="$want CN=sub$n;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT; holds $own"
    [ "$line" = "$want" ] || fail "phone $n line: $line"
    [ "$(held "$n")" = "$own" ] || fail "phone $n holds $(held "$n")"
    grep -q "tvs: .*(device SEP00000000000$n, session [0-9]*) asked about CN=sub$n;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT serial [0-9A-F]*: valid, roles CCM+TFTP" \
        "$ITL_CLUSTER_DIR/sub$n/agent.log" || fail "no TVS answer logged on sub$n"
done

# The operator's client agrees, pinned to the reset ITL's TVS records.
"$admin" utils tvs verify --host "$(ip 1)" --device SEP000000000001 \
    --cert "$ITL_CLUSTER_DIR/sub1/state/keys/callmanager.pem" \
    --trust "$TMP/reset.tlv" >"$TMP/verify.out" || fail "tvs verify"
grep -q "^CN=sub1;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT for device SEP000000000001: valid, roles CCM+TFTP, TTL 3600 s$" \
    "$TMP/verify.out" || fail "tvs verify output: $(cat "$TMP/verify.out")"

# 2. sub1's CallManager and TVS certificates regenerated, sub1 restarted.
d=$ITL_CLUSTER_DIR/sub1
kill "$(cat "$d/agent.pid")"
for _ in $(seq 1 50); do
    kill -0 "$(cat "$d/agent.pid")" 2>/dev/null || break
    sleep 0.1
done
t=$(date +%s)
"$admin" set cert regen CallManager --state "$d/state" --yes --now "$t" \
    >/dev/null || fail "regen CallManager"
"$admin" set cert regen TVS --state "$d/state" --yes --now $((t + 301)) \
    >/dev/null || fail "regen TVS"
"$ITL_BIN/itl-subscriber" --config "$d/agent.conf" --foreground run \
    >>"$d/agent.log" 2>&1 &
echo $! >"$d/agent.pid"
"$cluster" wait || fail "sub1 did not come back"
new=$(served sub1 "$TMP/new1.tlv")
[ "$new" != "$own" ] || fail "sub1 serves the same ITL after regeneration"
rc=0
line=$(boot 1 1) || rc=$?
[ "$rc" = 1 ] || fail "phone 1 exit status $rc: $line"
case "$line" in
"SEP000000000001: Trust List Update Failed: signer CN=sub1;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT is not trusted (no SAST record of the held ITL has serial "*"; nor does the TVS vouch: TVS $(ip 1):2445 presented certificate CN=sub1;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT (SHA-1 "*"), which is not one of the 3 allowed TVS certificates; holds $(held 1)") ;;
*) fail "phone 1 line: $line" ;;
esac
[ "$(held 1)" = "$(sha1sum <"$TMP/own1.tlv" | cut -c1-40)" ] ||
    fail "phone 1 changed its held ITL"
# The operator's client, pinned the same way, refuses that TVS too.
rc=0
"$admin" utils tvs verify --host "$(ip 1)" --device SEP000000000001 \
    --cert "$d/state/keys/callmanager.pem" --trust "$TMP/own1.tlv" \
    2>"$TMP/verify.err" || rc=$?
[ "$rc" = 2 ] || fail "tvs verify of an unknown TVS exit status $rc"
grep -q "which is not one of the 3 allowed TVS certificates" \
    "$TMP/verify.err" || fail "tvs verify error: $(cat "$TMP/verify.err")"

# 3. A reset: the phone accepts the recovery-signed ITL again.
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        >"$TMP/reset.out" || fail "second reset: $(cat "$TMP/reset.out")"
reset2=$(served sub1 "$TMP/reset2.tlv")
line=$(boot 1 1) || fail "phone 1 refused the second reset: $line"
[ "$(held 1)" = "$reset2" ] || fail "phone 1 holds $(held 1), not $reset2"
echo "tvs story: OK"
