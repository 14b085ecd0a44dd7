#!/bin/bash
# itl-phone against real in.tftpd servers on loopback: first boot, refusal
# of an unknown signer, a recovery-signed file, malformed, truncated,
# oversized and wrongly signed files, a missing file, a silent server, the
# real sample file, and a boot storm of 50 phones over two servers.
set -u

BIN=${ITL_BIN:?}
SRC=${ITL_SRC:?}
SAMPLES=${ITL_SAMPLES:?}
PHONE=$BIN/itl-phone
T=$(mktemp -d "${ITL_TMP:-/tmp}/phone.XXXXXX" 2>/dev/null ||
    { mkdir -p "${ITL_TMP:-/tmp}"; mktemp -d "${ITL_TMP:-/tmp}/phone.XXXXXX"; })
PIDS=()
FAILS=0

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# expect_eq WHAT GOT WANT
expect_eq() {
    if [ "$2" == "$3" ]; then ok "$1"; else
        fail "$1: got [$2], want [$3]"; fi
}

port_bound() {
    local hex
    hex=$(printf ':%04X ' "$1")
    grep -q "$hex" /proc/net/udp
}

free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 30000))
        port_bound "$p" || port_bound $((p + 1)) || break
    done
    echo "$p"
}

# start_tftpd ADDR PORT DIR: a real in.tftpd, waited for until it listens.
start_tftpd() {
    local user=()
    # Only root can change user; in.tftpd as root drops to nobody.
    [ "$(id -u)" -eq 0 ] && user=(--user nobody)
    in.tftpd --foreground --address "$1:$2" --secure "${user[@]}" "$3" &
    PIDS+=($!)
    for _ in $(seq 100); do
        port_bound "$2" && return 0
        sleep 0.05
    done
    echo "in.tftpd on $1:$2 did not start"; exit 1
}

serve() { install -m 0644 "$1" "$2/ITLFile.tlv"; }
sha() { sha1sum "$1" | cut -d' ' -f1; }
held() { $PHONE status --state "$1"; }

[ -x "$PHONE" ] || { echo "no $PHONE"; exit 1; }

# The ITL builder of this test, on the project's codec (built the way the
# library was: with the sanitizers when it has them).
LIB=$BIN/../shared/libitlcore.a
SAN=()
nm "$LIB" 2>/dev/null | grep -q __asan_init &&
    SAN=(-fsanitize=address,undefined)
cc -D_GNU_SOURCE "${SAN[@]}" -I"$SRC/shared" -o "$T/mkitl" \
    "$SRC/tests/integration/phone_mkitl.c" "$LIB" \
    $(pkg-config --libs libcrypto) || { echo "cannot build mkitl"; exit 1; }

for who in a b rec; do
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
        -subj "/C=US/ST=CA/L=SJ/O=Test/OU=VTG/CN=signer-$who" \
        -keyout "$T/$who.key" -out "$T/$who.pem" 2>/dev/null ||
        { echo "openssl failed"; exit 1; }
done
# A: the node's ITL (A signs, the recovery certificate is a SAST too).
"$T/mkitl" build "$T/itl-a.tlv" "$T/a.key" "$T/a.pem" "0:$T/rec.pem" &&
    # B: an unknown signer.
    "$T/mkitl" build "$T/itl-b.tlv" "$T/b.key" "$T/b.pem" &&
    # The node's ITL re-signed with the recovery key.
    "$T/mkitl" resign "$T/itl-a.tlv" "$T/rec.key" "$T/rec.pem" \
        "$T/itl-rec.tlv" || { echo "cannot build ITL files"; exit 1; }
head -c 1000 "$T/itl-a.tlv" >"$T/truncated.tlv"
head -c 70000 /dev/urandom >"$T/big.tlv"
# Same bytes with the last byte changed: parses, signature fails.
cp "$T/itl-a.tlv" "$T/tampered.tlv"
size=$(stat -c %s "$T/tampered.tlv")
printf '\x01' | dd of="$T/tampered.tlv" bs=1 seek=$((size - 1)) \
    conv=notrunc status=none
cmp -s "$T/itl-a.tlv" "$T/tampered.tlv" && { echo "tamper failed"; exit 1; }

SRV1=$T/srv1
SRV2=$T/srv2
mkdir -p "$SRV1" "$SRV2"
chmod 0755 "$T" "$SRV1" "$SRV2"
P1=$(free_port)
P2=$(free_port)
start_tftpd 127.0.0.1 "$P1" "$SRV1"
start_tftpd 127.0.0.2 "$P2" "$SRV2"
SHA_A=$(sha "$T/itl-a.tlv")
SHA_REC=$(sha "$T/itl-rec.tlv")
SIGNER_A="CN=signer-a;OU=VTG;O=Test;L=SJ;ST=CA;C=US"
SIGNER_B="CN=signer-b;OU=VTG;O=Test;L=SJ;ST=CA;C=US"
SIGNER_REC="CN=signer-rec;OU=VTG;O=Test;L=SJ;ST=CA;C=US"
PH=$T/phones/SEP001122334455
NAME=SEP001122334455

# 1. No ITL held: the first file is accepted and stored byte for byte.
expect_eq "fresh phone holds nothing" "$(held "$PH")" "holds no ITL"
serve "$T/itl-a.tlv" "$SRV1"
out=$($PHONE boot --name $NAME --state "$PH" --server "127.0.0.1:$P1")
expect_eq "first boot exit" $? 0
expect_eq "first boot line" "$out" \
    "$NAME: accepted ITL from 127.0.0.1:$P1 signed by $SIGNER_A; holds $SHA_A"
expect_eq "stored file" "$(sha "$PH/ITLFile.tlv")" "$SHA_A"
expect_eq "status file" "$(cat "$PH/status")" "$out"
expect_eq "status command" "$(held "$PH")" "holds $SHA_A signed by $SIGNER_A"

# 2. An unknown signer is refused and the held ITL stays.
serve "$T/itl-b.tlv" "$SRV1"
out=$($PHONE boot --name $NAME --state "$PH" --server "127.0.0.1:$P1")
expect_eq "unknown signer exit" $? 1
SERIAL_B=$(openssl x509 -in "$T/b.pem" -noout -serial | cut -d= -f2 |
    tr 'A-F' 'a-f')
expect_eq "unknown signer line" "$out" \
    "$NAME: Trust List Update Failed: signer $SIGNER_B is not trusted (no SAST record of the held ITL has serial $SERIAL_B and that subject); holds $SHA_A"
expect_eq "held after refusal" "$(sha "$PH/ITLFile.tlv")" "$SHA_A"
json=$($PHONE boot --name $NAME --state "$PH" --server "127.0.0.1:$P1" \
    --json)
expect_eq "refusal json" "$json" \
    "{\"name\": \"$NAME\", \"status\": \"refused\", \"reason\": \"signer $SIGNER_B is not trusted (no SAST record of the held ITL has serial $SERIAL_B and that subject)\", \"held_sha1\": \"$SHA_A\", \"signer\": \"$SIGNER_B\", \"server\": \"127.0.0.1:$P1\"}"

# 3. Malformed, truncated, oversized, wrongly signed: refused, kept.
for bad in truncated big tampered; do
    serve "$T/$bad.tlv" "$SRV1"
    out=$($PHONE boot --name $NAME --state "$PH" --server "127.0.0.1:$P1")
    expect_eq "$bad exit" $? 1
    case $bad in
    truncated) want="Trust List Update Failed: malformed ITL from 127.0.0.1:$P1: " ;;
    big) want="Trust List Update Failed: the ITL from 127.0.0.1:$P1 is over 65536 bytes" ;;
    tampered) want="Trust List Update Failed: signer $SIGNER_A is a SAST of the held ITL but the signature does not verify with its certificate: " ;;
    esac
    case $out in
    *"$want"*"; holds $SHA_A") ok "$bad line: $out" ;;
    *) fail "$bad line: got [$out], want [*$want*]" ;;
    esac
    expect_eq "held after $bad" "$(sha "$PH/ITLFile.tlv")" "$SHA_A"
done

# 4. A missing file and a silent server: failed, kept, bounded in time.
rm -f "$SRV1/ITLFile.tlv"
out=$($PHONE boot --name $NAME --state "$PH" --server "127.0.0.1:$P1")
expect_eq "missing file exit" $? 2
expect_eq "missing file line" "$out" \
    "$NAME: ITL download failed: tftp: 127.0.0.1:$P1 has no file \"ITLFile.tlv\" (TFTP error 1: \"File not found\"); holds $SHA_A"
DEAD=$(free_port)
start=$(date +%s%N)
out=$($PHONE boot --name $NAME --state "$PH" --server "127.0.0.1:$DEAD" \
    --timeout 1000)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "silent server exit" $rc 2
expect_eq "silent server line" "$out" \
    "$NAME: ITL download failed: tftp: no answer from 127.0.0.1:$DEAD after 1000 ms; holds $SHA_A"
if [ "$ms" -lt 1800 ]; then ok "silent server bounded ($ms ms)"; else
    fail "silent server took $ms ms"; fi
expect_eq "held after failures" "$(sha "$PH/ITLFile.tlv")" "$SHA_A"

# 5. The recovery-signed file: its signer is a SAST of the held ITL.
serve "$T/itl-rec.tlv" "$SRV2"
out=$($PHONE boot --name $NAME --state "$PH" --server "127.0.0.2:$P2")
expect_eq "recovery exit" $? 0
expect_eq "recovery line" "$out" \
    "$NAME: accepted ITL from 127.0.0.2:$P2 signed by $SIGNER_REC; holds $SHA_REC"

# 6. The real sample, served as ITLFile.tlv to a fresh phone.
SCF=$SAMPLES/itl/SCFFile.tlv
SHA_SCF=$(sha "$SCF")
serve "$SCF" "$SRV1"
PS=$T/phones/SEP00AABBCCDDEE
out=$($PHONE boot --name SEP00AABBCCDDEE --state "$PS" \
    --server "127.0.0.1:$P1" --json)
expect_eq "sample accepted" "$out" \
    "{\"name\": \"SEP00AABBCCDDEE\", \"status\": \"accepted\", \"reason\": null, \"held_sha1\": \"$SHA_SCF\", \"signer\": \"CN=gigantic-6.cisco.com;OU=VTG;O=Alpha;L=SJ;ST=CA;C=US\", \"server\": \"127.0.0.1:$P1\"}"
expect_eq "sample stored" "$(sha "$PS/ITLFile.tlv")" "$SHA_SCF"
serve "$T/itl-a.tlv" "$SRV1"
$PHONE boot --name SEP00AABBCCDDEE --state "$PS" --server "127.0.0.1:$P1" \
    >/dev/null
expect_eq "sample holder refuses signer A" $? 1
expect_eq "sample kept" "$(sha "$PS/ITLFile.tlv")" "$SHA_SCF"

# 7. A boot storm: 50 phones over two servers.
serve "$T/itl-a.tlv" "$SRV1"
serve "$T/itl-a.tlv" "$SRV2"
out=$($PHONE fleet --count 50 --state-root "$T/fleet" \
    --server "127.0.0.1:$P1" --server "127.0.0.2:$P2")
expect_eq "fleet exit" $? 0
case $out in
"50 phones: 50 accepted, 0 refused, 0 failed in "[0-9]*.[0-9][0-9][0-9]" s")
    ok "fleet summary ($out)" ;;
*) fail "fleet summary: [$out]" ;;
esac
n=$(cat "$T"/fleet/SEP*/ITLFile.tlv | sha1sum | cut -d' ' -f1)
want=$(for _ in $(seq 50); do cat "$T/itl-a.tlv"; done | sha1sum |
    cut -d' ' -f1)
expect_eq "fleet files" "$n" "$want"
expect_eq "fleet names" "$(ls "$T/fleet" | head -2 | tr '\n' ' ')" \
    "SEP0011AA000000 SEP0011AA000001 "
expect_eq "fleet round robin" \
    "$(grep -c "127.0.0.2:$P2" "$T"/fleet/SEP*/status | grep -c ':1$')" 25

# The same fleet served an unknown signer: all refused, none failed.
serve "$T/itl-b.tlv" "$SRV1"
serve "$T/itl-b.tlv" "$SRV2"
out=$($PHONE fleet --count 50 --state-root "$T/fleet" \
    --server "127.0.0.1:$P1" --server "127.0.0.2:$P2")
expect_eq "fleet refusal exit" $? 0
case $out in
"50 phones: 0 accepted, 50 refused, 0 failed in "*) ok "fleet refusal" ;;
*) fail "fleet refusal: [$out]" ;;
esac

# One server silent: half the fleet fails, the exit status says so.
out=$($PHONE fleet --count 50 --state-root "$T/fleet2" --timeout 500 \
    --server "127.0.0.1:$P1" --server "127.0.0.1:$DEAD" 2>/dev/null)
expect_eq "fleet failure exit" $? 2
case $out in
"50 phones: 25 accepted, 0 refused, 25 failed in "*) ok "fleet failures" ;;
*) fail "fleet failures: [$out]" ;;
esac

# Bad arguments.
$PHONE boot --name SEP123 --state "$PH" --server 127.0.0.1 2>/dev/null
expect_eq "bad name exit" $? 2
# A bad --server is quoted whole, with what is wrong in it.
for bad in '127.0.0.91:99999|port 99999 is out of range (1 to 65535)' \
    '127.0.0.91:x|port "x" is not a number from 1 to 65535' \
    ':69|no host' '[::1|expected HOST, HOST:PORT or [IPV6]:PORT'; do
    arg=${bad%%|*}
    err=$($PHONE boot --name $NAME --state "$PH" --server "$arg" 2>&1)
    expect_eq "--server $arg exit" $? 2
    expect_eq "--server $arg message" "$err" \
        "itl-phone: bad server \"$arg\": ${bad#*|}"
done
err=$($PHONE fleet --count 2 --state-root "$T/fleet3" \
    --server 127.0.0.91:99999 2>&1)
expect_eq "fleet --server out of range exit" $? 2
case $err in
*'bad server "127.0.0.91:99999": port 99999 is out of range (1 to 65535)'*)
    ok "fleet --server message" ;;
*) fail "fleet --server message: [$err]" ;;
esac

[ $FAILS -eq 0 ] && echo "all phone checks passed" || echo "$FAILS failed"
exit $((FAILS != 0))
