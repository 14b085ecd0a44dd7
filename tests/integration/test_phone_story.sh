#!/bin/bash
# The story of issue 5 with real processes: a three-node cluster and six
# phones (two per node) over real TFTP. A subscriber regenerates its
# CallManager certificate, the hold timer refuses TVS right after, TVS is
# regenerated once the (test) clock moved on, the node's TFTP restarts and
# its phones say "Trust List Update Failed". The audit says a reset saves
# them; utils itl reset localkey does; a normal TFTP restart on the
# publisher serves an ITL its phones accept again. The history survives a
# publisher restart. Malformed, truncated, oversized and wrongly signed
# files and a silent server are in test_phone.sh; here a stopped node.
. "$(dirname "$0")/lib.sh"

export ITL_CLUSTER_DIR=$ITL_TMP/phone-story
export ITL_BASE_IP=127.0.0.70
export ITL_CLUSTER_PORT=7470
export TZ=UTC
d=$ITL_CLUSTER_DIR
phone="$ITL_BIN/itl-phone"
trap '"$cluster" stop >/dev/null 2>&1 || true' EXIT
"$cluster" stop >/dev/null 2>&1 || true
rm -rf "$d"

declare -A ip=([pub]=127.0.0.71 [sub1]=127.0.0.72 [sub2]=127.0.0.73)
declare -A phones=([pub]="SEP0000000000A1 SEP0000000000A2"
    [sub1]="SEP0000000000B1 SEP0000000000B2"
    [sub2]="SEP0000000000C1 SEP0000000000C2")
subject() { echo "CN=$1;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT"; }
REC_SUBJECT=$(subject ITLRECOVERY_pub)

# boot NODE NAME: one boot; sets out and rc.
boot() {
    set +e
    out=$("$phone" boot --name "$2" --state "$d/phones/$2" \
        --server "${ip[$1]}:6969" --timeout 3000)
    rc=$?
    set -e
}
held() { "$phone" status --state "$d/phones/$1" --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["held_sha1"])'; }
itl_sha() { # NODE: SHA-1 of the ITL the node serves now, fetched by TFTP
    "$cluster" fetch "$1" "$d/$1/now.tlv" && sha1_of "$d/$1/now.tlv"; }
cluster_field() { # NODE FIELD of show itl cluster --json
    "$cluster" admin pub show itl cluster --json | python3 -c '
import json, sys
for n in json.load(sys.stdin):
    if n["node"] == sys.argv[1]:
        print(n[sys.argv[2]])' "$1" "$2"
}
# wait_sha NODE OLD: until the node serves something else than OLD.
wait_change() {
    for _ in $(seq 1 50); do
        [ "$(itl_sha "$1")" != "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# --- 1. three nodes, six phones trust their node's ITL ------------------
"$cluster" start 3
"$cluster" wait
declare -A sha0
for n in pub sub1 sub2; do
    sha0[$n]=$(itl_sha $n)
    for p in ${phones[$n]}; do
        boot $n "$p"
        expect_eq "$p boots from $n" "$rc" 0
        expect_eq "$p trusts $n's ITL" "$out" "$p: accepted ITL from\
 ${ip[$n]}:6969 signed by $(subject $n); holds ${sha0[$n]}"
    done
    expect_eq "show itl cluster: $n's ITL" "$(cluster_field $n sha1)" \
        "${sha0[$n]}"
    expect_eq "show itl cluster: $n's ITL holds ITLRecovery" \
        "$(cluster_field $n recovery)" yes
done
set +e
"$cluster" admin sub1 show itl cluster > "$d/sub.out" 2> "$d/sub.err"
rc=$?
set -e
expect_eq "show itl cluster on a subscriber" "$rc:$(cat "$d/sub.err")" \
    "1:This is not a publisher node"

# --- 2. CallManager on sub1, then TVS refused by the hold timer ---------
T0=1700000000
cm_before=$(sha1_of "$d/sub1/state/keys/callmanager.pem")
"$cluster" admin sub1 set cert regen CallManager --yes --now $T0 \
    > "$d/regen-cm.out"
expect_line "$d/regen-cm.out" \
    "Restart the TFTP service of this node for its ITL to pick up the new certificate."
expect_line "$d/regen-cm.out" "Sent the new certificate to the publisher;\
 the other nodes' ITLs will list it."
expect_eq "the old CallManager certificate is kept" \
    "$(sha1_of "$d/sub1/state/keys/callmanager.pem.prev")" "$cm_before"
tvs_before=$(sha1_of "$d/sub1/state/keys/tvs.pem")
set +e
"$cluster" admin sub1 set cert regen TVS --yes --now $((T0 + 60)) \
    > "$d/regen-hold.out" 2> "$d/regen-hold.err"
rc=$?
set -e
expect_eq "TVS right after CallManager is refused" "$rc" 1
expect_eq "hold timer message" "$(cat "$d/regen-hold.err")" \
    "error: CallManager certificate was modified in the last 5 minutes (at\
 22:13:20); retry regenerating TVS after 22:18:20"
expect_eq "TVS unchanged" "$(sha1_of "$d/sub1/state/keys/tvs.pem")" \
    "$tvs_before"
sleep 1
expect_eq "sub1 still serves its ITL until a TFTP restart" \
    "$(itl_sha sub1)" "${sha0[sub1]}"

# --- 3. TVS five minutes later (test clock), TFTP restart on sub1 ------
"$cluster" admin sub1 set cert regen TVS --yes --now $((T0 + 301)) \
    > "$d/regen-tvs.out"
expect_line "$d/regen-tvs.out" "Sent the new certificate to the publisher;\
 the other nodes' ITLs will list it."
wait_change pub "${sha0[pub]}" && ok "pub rebuilt its ITL with the new TVS" ||
    bad "pub did not rebuild its ITL"
wait_change sub2 "${sha0[sub2]}" && ok "sub2 rebuilt its ITL" ||
    bad "sub2 did not rebuild its ITL"
expect_eq "sub1 still serves its old ITL" "$(itl_sha sub1)" "${sha0[sub1]}"
"$cluster" admin sub1 utils service restart tftp > "$d/restart1.out"
sub1_new=$(itl_sha sub1)
[ "$sub1_new" != "${sha0[sub1]}" ] && ok "sub1 serves a new ITL" ||
    bad "sub1 serves the same ITL after the restart"
serial=$(openssl x509 -in "$d/sub1/state/keys/callmanager.pem" -noout \
    -serial | cut -d= -f2 | tr 'A-F' 'a-f')
for p in ${phones[sub1]}; do
    boot sub1 "$p"
    expect_eq "$p refuses sub1's new ITL" "$rc" 1
    case $out in
    "$p: Trust List Update Failed: "*"$serial"*"; holds ${sha0[sub1]}")
        ok "$p says Trust List Update Failed and keeps its ITL" ;;
    *) bad "$p: $out" ;;
    esac
    expect_eq "$p still holds sub1's first ITL" "$(held "$p")" \
        "${sha0[sub1]}"
done

# --- 4. the audit ---------------------------------------------------------
{
    echo "# name and ITL SHA1 the phones report"
    for n in pub sub1 sub2; do
        for p in ${phones[$n]}; do echo "$p $(held "$p")"; done
    done
} > "$d/reports"
set +e
"$cluster" admin pub utils itl audit --reports "$d/reports" \
    > "$d/audit.out" 2> "$d/audit.err"
rc=$?
set -e
expect_eq "audit: every phone can be recovered" "$rc" 0
expect_eq "audit: no complaints" "$(cat "$d/audit.err")" ""
expect_line "$d/audit.out" "6 phones: 6 recoverable by a reset, 0 without\
 the ITLRecovery certificate, 0 with an unknown ITL; 0 lines skipped"
expect_line "$d/audit.out" \
    "  SEP0000000000B1  ${sha0[sub1]}  served by sub1"
# The ITL sub1 served before it had the cluster's certificate set has no
# ITLRecovery record: phones still holding it are beyond a reset.
norec=$(awk '$1 == "itl" && $3 == "sub1" && $4 == "-" {print $2}' \
    "$d/pub/state/history")
expect_eq "the history has sub1's first ITL, without ITLRecovery" \
    "$(echo "$norec" | wc -w)" 1
unknown=0123456789abcdef0123456789abcdef01234567
{
    cat "$d/reports"
    echo "SEP0000000000D1 $norec"
    echo "SEP0000000000D2 $unknown"
    echo "SEP0000000000D3"
} > "$d/reports2"
set +e
"$cluster" admin pub utils itl audit --reports "$d/reports2" \
    > "$d/audit2.out" 2> "$d/audit2.err"
rc=$?
set -e
expect_eq "audit: some phones are beyond a reset" "$rc" 1
expect_eq "audit: the bad line is named" "$(cat "$d/audit2.err")" \
    "itl-admin: $d/reports2 line 10: 'SEP0000000000D3' has no SHA-1 after\
 it; line skipped"
expect_line "$d/audit2.out" "  SEP0000000000D1  $norec  served by sub1"
expect_line "$d/audit2.out" "  SEP0000000000D2  $unknown"
expect_line "$d/audit2.out" "8 phones: 6 recoverable by a reset, 1 without\
 the ITLRecovery certificate, 1 with an unknown ITL; 1 lines skipped"
set +e
"$cluster" admin pub utils itl audit --reports "$d/missing" 2> "$d/audit3.err"
rc=$?
set -e
expect_eq "audit: an unreadable file" "$rc" 2
printf '# exported, but empty\n' > "$d/empty"
set +e
"$cluster" admin pub utils itl audit --reports "$d/empty" > "$d/audit4.out" \
    2> "$d/audit4.err"
rc=$?
set -e
expect_eq "audit: a report without phones is not a success" "$rc" 2
expect_eq "and says why" "$(cat "$d/audit4.err")" "itl-admin: $d/empty lists\
 no phone (one line per phone: NAME SHA1); nothing was checked"

# --- 5. the reset recovers every phone ------------------------------------
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/reset.out"
reset_sha=$(sed -n 's/.*generated successfully (.* bytes, SHA1 \(.*\))$/\1/p' \
    "$d/reset.out")
expect_eq "reset SHA-1 found" "${#reset_sha}" 40
for n in pub sub1 sub2; do
    expect_eq "$n serves the reset ITL" "$(itl_sha $n)" "$reset_sha"
    for p in ${phones[$n]}; do
        boot $n "$p"
        expect_eq "$p accepts the reset ITL" "$out" "$p: accepted ITL from\
 ${ip[$n]}:6969 signed by $REC_SUBJECT; holds $reset_sha"
    done
done
for _ in $(seq 1 20); do
    [ "$(cluster_field sub2 sha1)" = "$reset_sha" ] && break
    sleep 0.1
done
expect_eq "show itl cluster: sub2 serves the reset ITL" \
    "$(cluster_field sub2 sha1)" "$reset_sha"
expect_eq "show itl cluster: the reset ITL holds ITLRecovery" \
    "$(cluster_field sub2 recovery)" yes

# --- 6. a normal TFTP restart on the publisher ------------------------------
"$cluster" admin pub utils service restart tftp > "$d/restart-pub.out"
pub_new=$(itl_sha pub)
[ "$pub_new" != "$reset_sha" ] && ok "pub serves its own ITL again" ||
    bad "pub still serves the reset ITL"
for p in ${phones[pub]}; do
    boot pub "$p"
    expect_eq "$p accepts pub's own ITL again" "$out" "$p: accepted ITL from\
 ${ip[pub]}:6969 signed by $(subject pub); holds $pub_new"
done
expect_eq "show itl cluster: pub's new ITL" "$(cluster_field pub sha1)" \
    "$pub_new"

# --- 7. the history survives a publisher restart ----------------------------
kill "$(cat "$d/pub/agent.pid")"
for _ in $(seq 1 50); do
    kill -0 "$(cat "$d/pub/agent.pid")" 2>/dev/null || break
    sleep 0.1
done
"$ITL_BIN/itl-publisher" --config "$d/pub/agent.conf" --foreground run \
    >> "$d/pub/agent.log" 2>&1 &
echo $! > "$d/pub/agent.pid"
for _ in $(seq 1 50); do
    "$cluster" admin pub status >/dev/null 2>&1 && break
    sleep 0.1
done
{
    for p in ${phones[pub]}; do echo "$p $(held "$p")"; done
    echo "SEP0000000000B1 ${sha0[sub1]}"
    echo "SEP0000000000D1 $norec"
} > "$d/reports3"
set +e
"$cluster" admin pub utils itl audit --reports "$d/reports3" --json \
    > "$d/audit3.json"
rc=$?
set -e
expect_eq "audit after a publisher restart" "$rc" 1
expect_eq "the history still knows every ITL" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(p["name"] for p in d["recoverable"]), "|",
      " ".join(p["name"] for p in d["no_recovery"]), "|",
      len(d["unknown"]))' "$d/audit3.json")" \
    "SEP0000000000A1 SEP0000000000A2 SEP0000000000B1 | SEP0000000000D1 | 0"

# --- 8. a node that is down: phones give up in bounded time -----------------
kill "$(cat "$d/sub2/agent.pid")"
sleep 0.5
start=$(date +%s%N)
set +e
out=$("$phone" boot --name SEP0000000000C1 --state "$d/phones/SEP0000000000C1" \
    --server "${ip[sub2]}:6969" --timeout 1000)
rc=$?
set -e
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "a phone of a stopped node fails" "$rc" 2
expect_eq "and says so" "$out" "SEP0000000000C1: ITL download failed: tftp:\
 no answer from ${ip[sub2]}:6969 after 1000 ms; holds $reset_sha"
[ "$ms" -lt 2000 ] && ok "bounded ($ms ms)" || bad "took $ms ms"

finish
