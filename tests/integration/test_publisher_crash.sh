#!/bin/bash
# The publisher killed in the middle of a reset: on restart it knows the
# job and which nodes confirmed it, and a rerun sends the same ITL so that
# the nodes that were done are left alone and the others finish.
. "$(dirname "$0")/lib.sh"

export ITL_RESET_TIMEOUT_MS=30000
cluster_up publisher-crash 127.0.0.120 7520 3

# sub2 is frozen, so the job cannot end before the publisher dies.
kill -STOP "$(cat "$d/sub2/agent.pid")"
set +e
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/first.out" 2> "$d/first.err" &
cli=$!
for _ in $(seq 1 100); do
    grep -q "TFTP service restarted on host sub1" "$d/first.out" &&
        grep -q "TFTP service restarted on host pub" "$d/first.out" && break
    sleep 0.1
done
kill -9 "$(cat "$d/pub/agent.pid")"
start=$(date +%s%N)
wait $cli
rc=$?
set -e
took=$((($(date +%s%N) - start) / 1000000))
expect_eq "the CLI reports the lost publisher" "$rc" 2
[ "$took" -lt 3000 ] && ok "at once ($took ms), not after its timeout" ||
    bad "the CLI took $took ms to notice"
grep -q "^itl-admin: the agent at .* went away before it answered" \
    "$d/first.err" && ok "the CLI says the agent went away" ||
    bad "CLI said: $(cat "$d/first.err")"
sha=$(sed -n 's/.*generated successfully (.* bytes, SHA1 \(.*\))$/\1/p' \
    "$d/first.out")
sub1_mtime=$(stat -c %Y.%N "$d/sub1/tftp/ITLFile.tlv")
kill -CONT "$(cat "$d/sub2/agent.pid")"

"$cluster" restart pub
set +e
"$cluster" admin pub show reset > "$d/show.out" 2>&1
rc=$?
set -e
expect_eq "show reset says the job was interrupted" "$rc" 1
expect_eq "and which nodes confirmed it" "$(cat "$d/show.out")" \
    "Reset job 1 (ITL SHA1 $sha) was interrupted when the publisher\
 stopped; confirmed by: pub, sub1; not confirmed: sub2"
grep -q "warning: Reset job 1 (ITL SHA1 $sha) was interrupted" \
    "$d/pub/agent.log" && ok "the publisher warns at start" ||
    bad "no warning at start"

"$cluster" wait
set +e
echo lab-admin-password |
    "$cluster" admin pub utils itl reset localkey --password-stdin \
        > "$d/rerun.out" 2> "$d/rerun.err"
rc=$?
set -e
expect_eq "the rerun succeeds" "$rc" 0
expect_line "$d/rerun.out" "Resuming reset job 1, interrupted when the\
 publisher stopped (confirmed by: pub, sub1); its ITL is sent again"
expect_line "$d/rerun.out" "Reset complete: all 3 active TFTP nodes serve\
 the reset ITL (SHA1 $sha). Reset the phones now so that they download it."
expect_eq "sub1's file was not rewritten" \
    "$(stat -c %Y.%N "$d/sub1/tftp/ITLFile.tlv")" "$sub1_mtime"
for n in pub sub1 sub2; do
    "$cluster" fetch $n "$d/$n.tlv"
    expect_eq "$n serves the job's ITL" "$(sha1_of "$d/$n.tlv")" "$sha"
done
set +e
"$cluster" admin pub show reset > "$d/show2.out" 2>&1
rc=$?
set -e
expect_eq "show reset after the rerun" "$rc" 0
expect_eq "the rerun completed" "$(cat "$d/show2.out")" \
    "Reset job 2 (ITL SHA1 $sha) completed; confirmed by: pub, sub1, sub2;\
 not confirmed: none"
finish
