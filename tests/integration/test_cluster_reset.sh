#!/bin/bash
# The main job with real processes: three agents on loopback, each with
# its own in.tftpd; resets, refusals, a stopped and a dead subscriber, an
# unknown CURVE key, and a normal TFTP restart.
. "$(dirname "$0")/lib.sh"

export ITL_RESET_TIMEOUT_MS=4000
cluster_up cluster-reset 127.0.0.60 7460 3
for n in pub sub1 sub2; do "$cluster" fetch $n "$d/$n/before.tlv"; done
expect_eq "each node signs its own ITL" \
    "$(json_field "$d/sub1/before.tlv" 'd["signer"]["name"]')" \
    "CN=sub1;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT"

# --- a reset on three nodes -------------------------------------------
set +e
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/reset1.out" 2> "$d/reset1.err"
rc=$?
set -e
expect_eq "reset exit status" "$rc" 0
sha=$(sed -n 's/.*generated successfully (.* bytes, SHA1 \(.*\))$/\1/p' \
    "$d/reset1.out")
expect_line "$d/reset1.out" "Locating active TFTP servers in the cluster....."
expect_line "$d/reset1.out" "['pub', 'sub1', 'sub2']"
for n in pub sub1 sub2; do
    expect_line "$d/reset1.out" "Successfully transferred reset ITL to node $n"
    expect_line "$d/reset1.out" "Restarting TFTP service on host $n"
    expect_line "$d/reset1.out" "TFTP service restarted on host $n"
done
expect_line "$d/reset1.out" "Reset complete: all 3 active TFTP nodes serve\
 the reset ITL (SHA1 $sha). Reset the phones now so that they download it."
expect_eq "reset output lines" "$(wc -l < "$d/reset1.out")" 15
expect_eq "reset stderr is empty" "$(cat "$d/reset1.err")" ""
for n in pub sub1 sub2; do
    "$cluster" fetch $n "$d/$n/after.tlv"
    expect_eq "$n serves the reset ITL by TFTP" "$(sha1_of "$d/$n/after.tlv")" \
        "$sha"
    if "$admin" verify itl --file "$d/$n/after.tlv" \
        --trust "$d/$n/before.tlv" >/dev/null; then
        ok "a phone holding $n's ITL accepts the reset ITL"
    else bad "a phone holding $n's ITL refuses the reset ITL"; fi
done
expect_eq "the reset ITL is signed by ITLRecovery" \
    "$(json_field "$d/pub/after.tlv" 'd["signer"]["name"]')" \
    "CN=ITLRECOVERY_pub;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT"
expect_eq "its records are the publisher's ITL's" \
    "$(cmp <(tail -c +"$(json_field "$d/pub/before.tlv" \
        'd["header_length"]+1')" "$d/pub/before.tlv") \
        <(tail -c +"$(json_field "$d/pub/after.tlv" \
        'd["header_length"]+1')" "$d/pub/after.tlv") && echo same)" same

# --- refusals ----------------------------------------------------------
set +e
"$cluster" admin sub1 utils itl reset localkey > "$d/sub.out" 2> "$d/sub.err"
rc=$?
set -e
expect_eq "reset on a subscriber exits non-zero" "$rc" 1
expect_eq "reset on a subscriber says so" "$(cat "$d/sub.err")" \
    "This is not a publisher node"
expect_eq "and prints nothing else" "$(cat "$d/sub.out")" ""

set +e
echo wrong-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/pw.out" 2> "$d/pw.err"
rc=$?
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/pw2.out" 2> "$d/pw2.err"
rc2=$?
set -e
expect_eq "wrong password exit status" "$rc" 1
expect_eq "wrong password message" "$(cat "$d/pw.err")" \
    "Wrong administrator password"
expect_eq "right password right after is slowed down" "$rc2" 1
expect_eq "slow-down message" "$(cat "$d/pw2.err")" \
    "Too many wrong passwords; try again in 2 s"
grep -q "wrong administrator password (1 in a row)" "$d/pub/agent.log" &&
    ok "wrong password logged with its count" ||
    bad "wrong password not logged"
sleep 2.1

# --- a file put in the publisher's folder by hand is not re-signed -------
served=$(sha1_of "$d/pub/tftp/ITLFile.tlv")
install -m 644 "$ITL_SAMPLES/itl/SCFFile.tlv" "$d/pub/tftp/ITLFile.tlv"
set +e
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/foreign.out" 2> "$d/foreign.err"
rc=$?
set -e
expect_eq "a foreign file in the publisher's folder stops the reset" "$rc" 1
expect_eq "and says so" "$(cat "$d/foreign.err")" "Reset not started:\
 $d/pub/tftp/ITLFile.tlv (SHA1 7bc2b30ebc2c52dcb6af9389af7a32e4a65be824) is\
 not the ITL this node serves (SHA1 $served): it was changed outside the\
 agent; run 'itl-admin utils service restart tftp' on the publisher to\
 rebuild it, then reset again"
"$cluster" fetch sub1 "$d/sub1/foreign.tlv"
expect_eq "nothing was sent to the nodes" "$(sha1_of "$d/sub1/foreign.tlv")" \
    "$sha"
"$cluster" admin pub utils service restart tftp > /dev/null

# --- a normal TFTP restart rebuilds the node's own ITL -----------------
"$cluster" admin sub1 utils service restart tftp > "$d/restart.out"
"$cluster" fetch sub1 "$d/sub1/normal.tlv"
expect_eq "after a normal restart sub1 signs its ITL again" \
    "$(json_field "$d/sub1/normal.tlv" 'd["signer"]["name"]')" \
    "CN=sub1;OU=Voice;O=Lab;L=Lisbon;ST=Lisboa;C=PT"
expect_eq "and it verifies" \
    "$(json_field "$d/sub1/normal.tlv" 'd["signature_valid"]')" True

# --- a subscriber that stops answering ----------------------------------
kill -STOP "$(cat "$d/sub2/agent.pid")"
set +e
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/stop.out" 2> "$d/stop.err"
rc=$?
set -e
kill -CONT "$(cat "$d/sub2/agent.pid")"
expect_eq "a silent node fails the reset" "$rc" 1
expect_line "$d/stop.err" \
    "No answer from node sub2: no answer within 4000 ms"
expect_line "$d/stop.err" "  sub2: no answer within 4000 ms"
expect_line "$d/stop.out" "TFTP service restarted on host sub1"
expect_line "$d/stop.out" "TFTP service restarted on host pub"

# --- a dead subscriber is not active and is named -------------------------
kill -9 "$(cat "$d/sub2/agent.pid")"
sleep 2.6
set +e
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/dead.out" 2> "$d/dead.err"
rc=$?
set -e
expect_eq "the active nodes succeed" "$rc" 0
expect_line "$d/dead.out" "['pub', 'sub1']"
expect_line "$d/dead.err" "Not active, will not be reset: sub2 (no\
 heartbeat for more than 2000 ms); run the reset again once it is back"

# --- an unknown CURVE key is refused -------------------------------------
# sub2 comes back with another CURVE key pair, one that was never
# enrolled, and claims to be enrolled.
install -m 600 "$d/pub/state/curve.key" "$d/sub2/state/curve.key"
"$ITL_BIN/itl-subscriber" --config "$d/sub2/agent.conf" --foreground run \
    >> "$d/sub2/agent.log" 2>&1 &
echo $! > "$d/sub2/agent.pid"
for _ in $(seq 1 50); do
    grep -q "is not enrolled in this cluster" "$d/pub/agent.log" && break
    sleep 0.1
done
grep -q "refused a connection from 127.0.0.1: CURVE key .* is not enrolled\
 in this cluster" "$d/pub/agent.log" && ok "unknown CURVE key refused" ||
    bad "unknown CURVE key not refused"
"$cluster" admin pub show cluster > "$d/show.out"
grep -q "^sub2 .*down" "$d/show.out" && ok "sub2 stays down" ||
    bad "sub2 with an unknown key became active: $(cat "$d/show.out")"

finish
