#!/bin/bash
# 50 resets in a row on a five-node cluster, with a random subscriber
# restarted now and then. Every reset reports each node exactly once (one
# success or one failure, never both, never twice), and at the end every
# node serves the last reset ITL.
. "$(dirname "$0")/lib.sh"

export ITL_RESET_TIMEOUT_MS=5000
cluster_up soak 127.0.0.110 7510 5
nodes="pub sub1 sub2 sub3 sub4"

RANDOM=42
restarts=0
lost=0
dup=0
for i in $(seq 1 50); do
    if [ $((i % 7)) -eq 0 ] && [ "$i" -lt 50 ]; then
        victim=sub$((RANDOM % 4 + 1))
        "$cluster" restart "$victim"
        restarts=$((restarts + 1))
    fi
    if [ "$i" -eq 50 ]; then
        "$cluster" wait # the last reset runs with every node up
    fi
    set +e
    echo lab-admin-password |
        "$cluster" admin pub utils itl reset localkey --password-stdin \
            > "$d/reset.$i.out" 2> "$d/reset.$i.err"
    rc=$?
    set -e
    listed=$(sed -n "s/^\['\(.*\)'\]$/\1/p" "$d/reset.$i.out" |
        sed "s/', '/ /g")
    for n in $listed; do
        okc=$(grep -cx "TFTP service restarted on host $n" \
            "$d/reset.$i.out" || true)
        failc=$(grep -c "^\(Reset failed on\|No answer from\) node $n:" \
            "$d/reset.$i.err" || true)
        total=$((okc + failc))
        [ "$total" -eq 0 ] && lost=$((lost + 1))
        [ "$total" -gt 1 ] && dup=$((dup + 1))
    done
    last_rc=$rc
done
expect_eq "subscribers restarted during the run" "$restarts" 7
expect_eq "reports lost" "$lost" 0
expect_eq "reports duplicated" "$dup" 0
expect_eq "the last reset succeeded" "$last_rc" 0
sha=$(sed -n 's/.*generated successfully (.* bytes, SHA1 \(.*\))$/\1/p' \
    "$d/reset.50.out")
for n in $nodes; do
    "$cluster" fetch "$n" "$d/$n.final.tlv"
    expect_eq "$n serves the last reset ITL" "$(sha1_of "$d/$n.final.tlv")" \
        "$sha"
done
finish
