#!/bin/bash
# No phone ever downloads a partial ITL: phones boot from a subscriber in a
# loop while the cluster alternates resets and normal TFTP restarts. Every
# download either fails as a download (a transfer cut by the restart) or
# yields a whole file that verifies and that the node really served; none
# is refused as malformed or wrongly signed.
. "$(dirname "$0")/lib.sh"

export ITL_CLUSTER_DIR=$ITL_TMP/no-partial
export ITL_BASE_IP=127.0.0.140
export ITL_CLUSTER_PORT=7540
d=$ITL_CLUSTER_DIR
trap '"$cluster" stop >/dev/null 2>&1 || true; kill $phones 2>/dev/null || true' EXIT
"$cluster" stop >/dev/null 2>&1 || true
rm -rf "$d"
"$cluster" start 3
"$cluster" wait
sub1=127.0.0.142:6969
mkdir -p "$d/phones"
sha1_of "$d/sub1/tftp/ITLFile.tlv" > "$d/served"

# The phones: a new phone each time, so each download is judged alone.
(
    i=0
    while [ ! -f "$d/stop" ]; do
        i=$((i + 1))
        "$ITL_BIN/itl-phone" boot --name "SEP0000000$(printf %05d $i)" \
            --state "$d/phones/$i" --server "$sub1" --timeout 2000 --json \
            > "$d/phones/$i.json" 2>/dev/null
        echo "$? $i" >> "$d/phones/results"
    done
) &
phones=$!

# Each change waits for a few boots, so that boots and changes overlap.
more_boots() {
    local want=$(($(wc -l < "$d/phones/results" 2>/dev/null || echo 0) + 3))
    for _ in $(seq 1 200); do
        [ "$(wc -l < "$d/phones/results" 2>/dev/null || echo 0)" -ge \
            "$want" ] && return 0
        sleep 0.1
    done
}
for round in 1 2 3 4 5 6; do
    more_boots
    echo lab-admin-password |
        "$cluster" admin pub utils itl reset localkey --password-stdin \
            > "$d/reset.$round" 2>&1 || true
    sha1_of "$d/sub1/tftp/ITLFile.tlv" >> "$d/served"
    more_boots
    "$cluster" admin sub1 utils service restart tftp > /dev/null 2>&1 || true
    sha1_of "$d/sub1/tftp/ITLFile.tlv" >> "$d/served"
done
touch "$d/stop"
wait $phones

total=$(wc -l < "$d/phones/results")
accepted=$(grep -c '^0 ' "$d/phones/results" || true)
refused=$(grep -c '^1 ' "$d/phones/results" || true)
[ "$total" -ge 36 ] && ok "$total phone boots during 12 changes" ||
    bad "only $total phone boots"
[ "$accepted" -ge 10 ] && ok "$accepted phones got a whole file" ||
    bad "only $accepted phones got a file"
expect_eq "phones that got a malformed or wrongly signed file" "$refused" 0
unknown=0
for f in "$d"/phones/*.json; do
    held=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(d.get("held_sha1") or "") if d.get("status") == "accepted" else None' \
        "$f" 2>/dev/null)
    [ -n "$held" ] && [ "$held" != None ] || continue
    grep -qx "$held" "$d/served" || unknown=$((unknown + 1))
done
expect_eq "accepted files that the node never served" "$unknown" 0
finish
